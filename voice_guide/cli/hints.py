"""Commands suggested to the user, spelled the way they can run them from where they are.

After the quick start `voice-guide` is not on PATH: a hint that says `voice-guide run
--resume` would fail. So a hint names the program as it was started: `scripts/run` (which
says so in VOICE_GUIDE_LAUNCHER) for `run`, else `voice-guide` if that is what PATH finds,
else the path it was started by (`.venv/bin/voice-guide`, `python -m voice_guide`).
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from pathlib import Path

__all__ = ["LAUNCHER_ENV", "command"]

LAUNCHER_ENV = "VOICE_GUIDE_LAUNCHER"
"""Set by scripts/run to how it was invoked ("$0"); it runs `voice-guide run ARGS...`."""


def command(*words: str) -> str:
    """The command line that runs `voice-guide WORDS...` here, shell-quoted."""
    launcher = os.environ.get(LAUNCHER_ENV)
    if launcher and words[:1] == ("run",):
        return shlex.join([launcher, *words[1:]])
    return shlex.join([*_program(), *words])


def _program() -> list[str]:
    started = sys.argv[0] if sys.argv else ""
    if Path(started).name == "voice-guide":
        found = shutil.which("voice-guide")
        if found and _same_file(found, started):
            return ["voice-guide"]
        return [started]
    if Path(started).parts[-2:] == ("voice_guide", "__main__.py"):  # python -m voice_guide
        return [sys.executable, "-m", "voice_guide"]
    return ["voice-guide"]


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False
