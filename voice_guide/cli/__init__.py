"""The `voice-guide` command line: a thin click group. Each concern registers its
commands from its own module so the CLI reads like the package.

Every command's failures are reported in one place, `_Group.invoke`: expected errors as one
sentence and exit 1, stop signals as one line and 130/143, anything else as one line naming
the log that holds the traceback (exit 70). No traceback reaches the terminal.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from voice_guide import __version__
from voice_guide.errors import (
    EXIT_BUG,
    EXIT_SIGINT,
    EXIT_SIGTERM,
    Terminated,
    VoiceGuideError,
    describe_os_error,
    install_sigterm,
    log_unexpected,
    stopped_message,
)
from voice_guide.safe_text import register_terminal_errors


class _Group(click.Group):
    """A click group whose commands all share one error handler."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except (KeyboardInterrupt, Terminated) as stop:
            line, code = stopped_message(stop)
            lines = [line]
        except VoiceGuideError as error:
            lines, code = error.report_lines(), error.exit_code
        except OSError as error:
            lines, code = [f"voice-guide: {describe_os_error(error)}"], 1
        except Exception as error:  # a bug: keep the details, show one line
            log = log_unexpected(error)
            where = f"details in {log}" if log else "no log could be written"
            summary = " ".join(f"{type(error).__name__}: {error}".split())[:200]
            lines, code = [f"voice-guide: unexpected error ({summary}); {where}."], EXIT_BUG
        for line in lines:
            click.echo(line, err=True)
        ctx.exit(code)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="voice-guide")
def cli() -> None:
    """Offline, hands-free, voice-guided sessions (first routine: a back massage)."""


def notify(message: str) -> None:
    """One line for the user on stderr (what is happening, or what went wrong)."""
    click.echo(f"voice-guide: {message}", err=True)


def _register() -> None:
    # Imported after `cli` exists, so each command module can import it.
    import voice_guide.cli.record  # noqa: F401
    from voice_guide.cli import (  # noqa: F401
        demo,
        draft,
        enroll,
        models,
        routines,
        session,
        speech_in,
        speech_out,
        store,
    )


def main() -> None:
    """Console-script entry point."""
    # A file or person name that is not UTF-8 is printed escaped rather than failing.
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure:
            reconfigure(errors=register_terminal_errors())
    install_sigterm()
    try:
        cli()
    except SystemExit as done:
        if done.code in (EXIT_SIGINT, EXIT_SIGTERM):
            # Stopped: every `finally` ran on the way here (no temporary file is left, the
            # session is saved). Leave now: a synthesizer thread in native code must not
            # hold the exit up, or abort it when the interpreter tears threads down.
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(done.code)
        raise


# Every command is on the group as soon as the package is imported (tests use `cli` directly).
_register()
