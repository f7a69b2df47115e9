"""Fixtures shared by the whole suite.

Every test gets its own user data folder (VOICE_GUIDE_HOME), so no test reads or writes the
real one, and no download URL from the environment leaks in.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# A shell without job control starts background jobs with SIGINT ignored, and an ignored signal
# stays ignored in every child (Python then installs no Ctrl-C handler at all): the tests that
# interrupt real processes would time out. Children of the suite get the default disposition.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private user data folder for this test (it does not exist until something writes)."""
    folder = tmp_path / "home"
    monkeypatch.setenv("VOICE_GUIDE_HOME", str(folder))
    monkeypatch.delenv("VOICE_GUIDE_MODEL_URL", raising=False)
    return folder


@pytest.fixture
def routines_dir(home: Path) -> Path:
    """The user routines folder, created empty."""
    folder = home / "routines"
    folder.mkdir(parents=True)
    return folder


@pytest.fixture
def fifo(tmp_path: Path) -> Callable[[str], Path]:
    """Makes a real named pipe (nobody ever writes to it) at tmp_path / name."""

    def make(name: str) -> Path:
        path = tmp_path / name
        os.mkfifo(path)
        return path

    return make


@dataclass(frozen=True)
class Finished:
    """A `voice-guide` process that ran to its end."""

    code: int
    stdout: str
    stderr: str


def voice_guide_env(home: Path) -> dict[str, str]:
    """The environment for a real `python -m voice_guide` process of this checkout."""
    env = {**os.environ, "VOICE_GUIDE_HOME": str(home), "PYTHONPATH": str(REPO)}
    env.pop("VOICE_GUIDE_MODEL_URL", None)
    return env


@pytest.fixture
def voice_guide(home: Path) -> Callable[..., Finished]:
    """Runs `python -m voice_guide ARGS` as a real process (bounded by `timeout` seconds)."""

    def run(*args: str, timeout: float = 60, stdin: str = "") -> Finished:
        done = subprocess.run(
            [sys.executable, "-m", "voice_guide", *args],
            input=stdin,
            capture_output=True,
            text=True,
            errors="backslashreplace",
            timeout=timeout,
            env=voice_guide_env(home),
        )
        return Finished(done.returncode, done.stdout, done.stderr)

    return run


def peak_rss_mb(command: list[str], env: dict[str, str], timeout: float = 120) -> float:
    """Peak resident memory (MB) of `command` run in a fresh helper process."""
    probe = (
        "import resource, subprocess, sys\n"
        f"subprocess.run({command!r}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,"
        f" timeout={timeout})\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, check=True
    )
    return int(done.stdout.strip()) / 1024  # ru_maxrss is in KiB on Linux
