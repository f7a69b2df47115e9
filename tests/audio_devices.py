"""pytest plugin: real PortAudio devices on a machine without a sound card.

A PulseAudio daemon with a null sink ("room") runs for the whole test session in its own
runtime directory; PortAudio then lists a `pulse` device (and `default` routed to it) whose
input is the monitor of what was played. Load with `pytest_plugins = ["audio_devices"]`.

The fixture never skips: where the daemon cannot start, the tests that need it FAIL with
the reason (CI runs as root without a sound card, which is exactly what this is for).
"""

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

import pytest

SINK = "room"
_APT = "sudo apt install pulseaudio pulseaudio-utils libasound2-plugins libportaudio2"


@dataclass(frozen=True)
class NullSink:
    """A running PulseAudio daemon with a null sink as default sink and its monitor as
    default source."""

    runtime_dir: Path
    pid: int
    sink: str = SINK


def _reinitialize_portaudio() -> None:
    # PortAudio enumerates devices once, at import of sounddevice: re-enumerate so the
    # daemon that just started (or stopped) is seen. No stream may be open meanwhile.
    import sounddevice as sd

    sd._terminate()
    sd._initialize()


def _pactl(env: dict[str, str], *args: str) -> None:
    result = subprocess.run(
        ["pactl", *args], env=env, capture_output=True, text=True, timeout=20, check=False
    )
    if result.returncode != 0:
        pytest.fail(f"pactl {' '.join(args)} failed: {result.stderr.strip()}")


@pytest.fixture(scope="session")
def pulse_null_sink(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NullSink]:
    """Start PulseAudio with a null sink; point this process's PortAudio at it."""
    for tool in ("pulseaudio", "pactl"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is not installed; the device tests need it: {_APT}")
    runtime = tmp_path_factory.mktemp("pulse-runtime")
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
        pytest.fail(f"pulseaudio did not start (exit {started.returncode}): {started.stderr}")
    pid = int(pid_file.read_text().split()[0])
    saved = {name: os.environ.get(name) for name in ("XDG_RUNTIME_DIR", "PULSE_SERVER")}
    try:
        _pactl(env, "set-default-sink", SINK)
        _pactl(env, "set-default-source", f"{SINK}.monitor")
        os.environ["XDG_RUNTIME_DIR"] = str(runtime)
        os.environ["PULSE_SERVER"] = f"unix:{runtime}/pulse/native"
        _reinitialize_portaudio()
        import sounddevice as sd

        names = [device["name"] for device in sd.query_devices()]
        if "pulse" not in names:
            pytest.fail(f"PortAudio does not list the pulse device (got {names}); {_APT}")
        yield NullSink(runtime, pid)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
            time.sleep(0.05)
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        _reinitialize_portaudio()
