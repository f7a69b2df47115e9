"""The one error base of voice-guide, and how every command reports a failure.

An expected failure (a bad file, a missing device or model, a full disk) is a
`VoiceGuideError` or an `OSError`: the user sees one sentence that says what to do and the
command exits 1. A stop signal is one line and 130 (SIGINT) or 143 (SIGTERM), like a shell.
Anything else is a bug: one line that says where the details were written, exit 70.
"""

from __future__ import annotations

import datetime
import os
import signal
import tempfile
import traceback
from collections.abc import Callable
from pathlib import Path
from types import FrameType

from voice_guide import paths

__all__ = [
    "EXIT_BUG",
    "EXIT_SIGINT",
    "EXIT_SIGTERM",
    "Terminated",
    "VoiceGuideError",
    "describe_os_error",
    "install_sigterm",
    "log_unexpected",
    "stopped_message",
]

EXIT_SIGINT = 130
"""128 + SIGINT: what a shell reports for Ctrl-C."""
EXIT_SIGTERM = 143
"""128 + SIGTERM."""
EXIT_BUG = 70
"""EX_SOFTWARE (sysexits.h): an error the program did not expect."""
LOG_NAME = "error.log"


class VoiceGuideError(Exception):
    """An expected failure; `str(error)` is what the user reads (one sentence, or one
    located line per problem) and `exit_code` the process status."""

    exit_code = 1

    def report_lines(self) -> list[str]:
        """What the command-line prints for this error, one line each."""
        return [f"voice-guide: {' '.join(str(self).split())}"]


class Terminated(BaseException):
    """SIGTERM arrived. A BaseException, so that no `except Exception` swallows it and every
    `finally` and atomic writer cleans up on the way out, as for KeyboardInterrupt."""


def _raise_terminated(signum: int, frame: FrameType | None) -> None:
    raise Terminated


def install_sigterm() -> Callable[..., object] | int | None:
    """Make SIGTERM raise Terminated in the main thread; returns the previous handler."""
    return signal.signal(signal.SIGTERM, _raise_terminated)


def stopped_message(error: BaseException) -> tuple[str, int]:
    """The line and exit status for a stop signal (KeyboardInterrupt or Terminated)."""
    if isinstance(error, Terminated):
        return "voice-guide: stopped (SIGTERM).", EXIT_SIGTERM
    return "voice-guide: interrupted (Ctrl-C).", EXIT_SIGINT


def describe_os_error(error: OSError) -> str:
    """An OSError as one sentence: which file, what went wrong, what to do."""
    reason = error.strerror or str(error) or type(error).__name__
    where = f" {error.filename}" if error.filename is not None else ""
    return f"cannot use{where}: {reason} — check the path, its folder, permissions and free space"


def log_unexpected(error: BaseException) -> Path | None:
    """Append the traceback of an unexpected error to the log; where it went (None: nowhere
    writable)."""
    text = "".join(traceback.format_exception(error))
    stamp = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    for folder in (paths.data_dir(), Path(tempfile.gettempdir())):
        path = folder / LOG_NAME
        try:
            folder.mkdir(parents=True, exist_ok=True)
            # O_NOFOLLOW: never append through a link planted in place of the log.
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW, 0o600)
            with os.fdopen(fd, "a", encoding="utf-8", errors="backslashreplace") as log:
                log.write(f"--- {stamp}\n{text}")
            return path
        except OSError:
            continue
    return None
