"""A PulseAudio daemon with a null sink ("room"): real PortAudio devices on a machine
without a sound card. What is played into the sink comes back on its monitor, the default
source. Used by the device tests (audio_devices.py) and scripts/bench_live.py."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

SINK = "room"
APT = "sudo apt install pulseaudio pulseaudio-utils libasound2-plugins libportaudio2"


class SinkError(RuntimeError):
    """The daemon could not be started or set up; the message says what to install."""


@dataclass(frozen=True)
class NullSink:
    """A running PulseAudio daemon with a null sink as default sink and its monitor as
    default source."""

    runtime_dir: Path
    pid: int
    sink: str = SINK

    @property
    def env(self) -> dict[str, str]:
        """The variables that point PulseAudio clients (PortAudio, paplay) at this daemon."""
        return {
            "XDG_RUNTIME_DIR": str(self.runtime_dir),
            "PULSE_SERVER": f"unix:{self.runtime_dir}/pulse/native",
        }


def _pactl(env: dict[str, str], *args: str) -> None:
    result = subprocess.run(
        ["pactl", *args], env=env, capture_output=True, text=True, timeout=20, check=False
    )
    if result.returncode != 0:
        raise SinkError(f"pactl {' '.join(args)} failed: {result.stderr.strip()}")


@contextlib.contextmanager
def null_sink(runtime: Path) -> Iterator[NullSink]:
    """Start PulseAudio with its runtime directory in `runtime`; stop it on exit."""
    for tool in ("pulseaudio", "pactl"):
        if shutil.which(tool) is None:
            raise SinkError(f"{tool} is not installed; real devices need it: {APT}")
    env = {**os.environ, "XDG_RUNTIME_DIR": str(runtime)}
    env.pop("PULSE_SERVER", None)
    started = subprocess.run(
        [
            "pulseaudio",
            "--daemonize=yes",
            "--exit-idle-time=-1",
            "-n",  # no default.pa: only the modules below, nothing that looks for hardware
            "--load=module-native-protocol-unix",
            f"--load=module-null-sink sink_name={SINK}",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    pid_file = runtime / "pulse" / "pid"
    if started.returncode != 0 or not pid_file.exists():
        raise SinkError(f"pulseaudio did not start (exit {started.returncode}): {started.stderr}")
    pid = int(pid_file.read_text().split()[0])
    try:
        _pactl(env, "set-default-sink", SINK)
        _pactl(env, "set-default-source", f"{SINK}.monitor")
        yield NullSink(runtime, pid)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
            time.sleep(0.05)
