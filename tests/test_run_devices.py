"""`voice-guide run` on real PortAudio devices: a PulseAudio null sink plays the guide and
its monitor is the microphone, so the guide hears all of its own voice (echo gain 1.0)
while a person's phrase is played into the same sink with paplay."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from audio_devices import NullSink

pytest_plugins = ["audio_devices"]
pytestmark = [pytest.mark.devices, pytest.mark.audio]

ROUTINE = """\
title: Device check
pressure:
  levels:
    1: {name: feather, technique: Fingertips only.}
    2: {name: light, technique: Flat palms.}
  start: 2
steps:
  - id: rest
    say: Rest your palms on the shoulders and breathe slowly with your partner.
    duration: 1m
    area: shoulders
"""


def _events(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _wait_for(path: Path, predicate, timeout: float) -> list[dict]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        events = _events(path)
        if predicate(events):
            return events
        time.sleep(0.2)
    return _events(path)


def _play(sink: NullSink, text: str, tmp_path: Path) -> None:
    wav = tmp_path / f"{text.replace(' ', '_')}.wav"
    subprocess.run(["flite", "-voice", "rms", "-t", text, "-o", str(wav)], check=True)
    env = {**os.environ, "XDG_RUNTIME_DIR": str(sink.runtime_dir)}
    subprocess.run(["paplay", str(wav)], env=env, check=True, timeout=20)


def _start_run(tmp_path: Path, transcript: Path) -> subprocess.Popen:
    """`voice-guide run` of the one-step routine, on the default (null sink) devices."""
    routine = tmp_path / "device-check.yaml"
    routine.write_text(ROUTINE)
    env = {**os.environ, "VOICE_GUIDE_HOME": str(tmp_path / "home"), "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "voice_guide", "run", str(routine), "--transcript", str(transcript)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def test_run_speaks_listens_and_never_obeys_itself(pulse_null_sink, tmp_path):
    transcript = tmp_path / "run.jsonl"
    process = _start_run(tmp_path, transcript)
    try:
        started = _wait_for(transcript, lambda ev: any(e["event"] == "step" for e in ev), 30)
        assert started, "the session did not start on the null sink"
        time.sleep(14)  # the guide says its welcome and the instruction, all of it echoed back
        _play(pulse_null_sink, "a little lighter", tmp_path)
        events = _wait_for(
            transcript, lambda ev: any(e["event"] == "heard" for e in ev), timeout=10
        )
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=30)
    assert "no usable" not in err, err  # it really ran on the devices, not the keyboard
    heard = [e for e in events if e["event"] == "heard"]
    ignored = [e for e in events if e["event"] == "ignored"]
    assert [h["command"] for h in heard] == ["lighter"], (heard, ignored, err)
    assert any(e["event"] == "pressure" and e["level"] == 1 for e in events)
    assert process.returncode == 130


def test_devices_that_vanish_pause_the_session_and_it_resumes_when_they_return(
    pulse_null_sink, tmp_path
):
    transcript = tmp_path / "run.jsonl"
    pulse = {**os.environ, "XDG_RUNTIME_DIR": str(pulse_null_sink.runtime_dir)}
    process = _start_run(tmp_path, transcript)
    try:
        _wait_for(transcript, lambda ev: any(e["event"] == "step" for e in ev), 30)
        time.sleep(4)
        # Suspending the sink silences both the speaker and its monitor (the microphone).
        subprocess.run(["pactl", "suspend-sink", pulse_null_sink.sink, "1"], env=pulse, check=True)
        lost = _wait_for(transcript, lambda ev: any(e["event"] == "fault" for e in ev), 15)
        subprocess.run(["pactl", "suspend-sink", pulse_null_sink.sink, "0"], env=pulse, check=True)
        back = _wait_for(transcript, lambda ev: any(e["event"] == "resume" for e in ev), 20)
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=30)
    kinds = [e["event"] for e in back]
    assert any(e["event"] == "fault" and e["device"] == "microphone" for e in lost), err
    fault = kinds.index("fault")
    assert kinds.index("pause") > fault
    assert kinds.index("recovered") > fault and kinds.index("resume") > kinds.index("recovered")
    assert "The microphone stopped working" in err and "is back" in err
    assert process.returncode == 130
