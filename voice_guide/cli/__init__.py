"""The `voice-guide` command line: a thin click group. Each concern registers its
commands from its own module so the CLI reads like the package."""

from __future__ import annotations

import click

from voice_guide import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="voice-guide")
def cli() -> None:
    """Offline, hands-free, voice-guided sessions (first routine: a back massage)."""


def _register() -> None:
    # Imported after `cli` exists, so each command module can import it.
    from voice_guide.cli import demo, models, routines, session, speech_in, speech_out, store  # noqa: F401


def main() -> None:
    """Console-script entry point."""
    cli()


# Every command is on the group as soon as the package is imported (tests use `cli` directly).
_register()
