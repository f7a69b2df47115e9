"""`voice-guide voices`, `say` and `render` with the real synthesizer."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import wave
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest
from click.testing import CliRunner

import voice_guide.cli.speech_out  # noqa: F401  (registers the commands)
from voice_guide.cli import cli
from voice_guide.routine.loader import load_routine
from voice_guide.routine.timeline import build_timeline

if TYPE_CHECKING:
    from audio_devices import NullSink

pytest_plugins = ["audio_devices"]
pytestmark = pytest.mark.audio


@pytest.fixture(autouse=True)
def _user_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOICE_GUIDE_HOME", str(tmp_path / "home"))


def _one_line_error(result: object) -> str:
    assert result.exit_code == 1, result.output  # type: ignore[attr-defined]
    assert "Traceback" not in result.output  # type: ignore[attr-defined]
    lines = result.stderr.strip().splitlines()  # type: ignore[attr-defined]
    assert len(lines) == 1, lines
    return lines[0]


def test_voices_lists_installed_voices_by_language() -> None:
    result = CliRunner().invoke(cli, ["voices", "--language", "en"])
    assert result.exit_code == 0, result.output
    ids = [line.split()[0] for line in result.stdout.splitlines()]
    assert "gmw/en-us" in ids and "ko" not in ids and len(ids) >= 5
    korean = CliRunner().invoke(cli, ["voices", "--language", "ko"])
    assert korean.stdout.split()[0] == "ko"
    everything = CliRunner().invoke(cli, ["voices"])
    assert len(everything.stdout.splitlines()) > 100
    assert "speaks 'xx'" in _one_line_error(CliRunner().invoke(cli, ["voices", "--language", "xx"]))


def test_say_unknown_voice_gets_did_you_mean() -> None:
    line = _one_line_error(CliRunner().invoke(cli, ["say", "hello", "--voice", "gmw/en-uss"]))
    assert "Did you mean 'gmw/en-us'" in line


def test_say_out_of_range_rate_is_a_usage_error() -> None:
    result = CliRunner().invoke(cli, ["say", "hello", "--rate", "5000"])
    assert result.exit_code == 2 and "60<=x<=400" in result.stderr


def test_say_without_any_output_device_says_what_to_do(tmp_path: Path) -> None:
    if (
        Path("/proc/asound/cards").exists()
        and "no soundcards" not in Path("/proc/asound/cards").read_text()
    ):
        pytest.skip("this machine has a sound card: PortAudio always finds an output here")
    # A fresh process whose PortAudio cannot reach any sound server: no device at all.
    env = {**os.environ, "XDG_RUNTIME_DIR": str(tmp_path), "PULSE_SERVER": "unix:/nonexistent"}
    code = "from voice_guide.cli import cli, speech_out; cli()"
    result = subprocess.run(
        [sys.executable, "-c", code, "say", "hello"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert "No audio output device" in line and "--text" in line and "render" in line


@pytest.mark.devices
def test_say_speaks_on_a_real_device(pulse_null_sink: NullSink) -> None:
    result = CliRunner().invoke(cli, ["say", "The guide is ready.", "--output-device", "pulse"])
    assert result.exit_code == 0, result.output
    line = _one_line_error(
        CliRunner().invoke(cli, ["say", "hello", "--output-device", "headphones"])
    )
    assert "no output device 'headphones'" in line and "pulse" in line


def _wav(path: Path) -> tuple[np.ndarray, int]:
    with wave.open(str(path), "rb") as wav:
        rate = wav.getframerate()
        samples = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2") / 32768.0
    return samples, rate


def test_render_back_massage_matches_the_timeline(tmp_path: Path) -> None:
    out = tmp_path / "session.wav"
    result = CliRunner().invoke(cli, ["render", "back-massage", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "Rendering Back massage" in result.stderr and "Wrote" in result.stderr
    samples, rate = _wav(out)
    timeline = build_timeline(load_routine("back-massage"))
    seconds = len(samples) / rate
    assert abs(seconds - timeline.total) < 0.05 * timeline.total, (seconds, timeline.total)
    # Each utterance is in the track at (or just after) its time on the timeline.
    for entry in timeline.entries[::10]:
        start = int(entry.t * rate)
        assert np.max(np.abs(samples[start : start + 5 * rate])) > 0.1, entry
    # ... and the hands-working gaps are silent.
    spans = [(e.t, e.t + e.speech) for e in timeline.entries]
    gaps = [(a[1], b[0]) for a, b in itertools.pairwise(spans) if b[0] - a[1] > 20]
    assert gaps
    for end, nxt in gaps[:5]:
        quiet = samples[int((end + 8) * rate) : int((nxt - 2) * rate)]
        assert np.max(np.abs(quiet)) < 1e-3


def test_render_options_bed_rate_and_no_earcons(tmp_path: Path) -> None:
    out = tmp_path / "neck.wav"
    result = CliRunner().invoke(
        cli,
        [
            *("render", "neck-and-shoulders", "-o", str(out), "--bed", "pink", "--no-earcons"),
            *("--rate", "150", "--sample-rate", "16000"),
        ],
    )
    assert result.exit_code == 0, result.output
    samples, rate = _wav(out)
    assert rate == 16000
    routine = load_routine("neck-and-shoulders")
    slower = routine.model_copy(update={"voice": routine.voice.model_copy(update={"rate": 150})})
    total = build_timeline(slower).total
    assert abs(len(samples) / rate - total) < 0.05 * total
    spans = [(e.t, e.t + e.speech) for e in build_timeline(slower).entries]
    end, nxt = next((a[1], b[0]) for a, b in itertools.pairwise(spans) if b[0] - a[1] > 20)
    bed = samples[int((end + 8) * rate) : int((nxt - 2) * rate)]  # hands working: only the bed
    rms = float(np.sqrt(np.mean(bed**2)))
    assert 0.003 < rms < 0.012


def test_render_errors_are_one_line(tmp_path: Path) -> None:
    line = _one_line_error(
        CliRunner().invoke(cli, ["render", "back-massage", "-o", str(tmp_path / "no/dir/x.wav")])
    )
    assert "Could not write" in line
    assert not (tmp_path / "no").exists()
    unknown = CliRunner().invoke(cli, ["render", "back-massge", "-o", str(tmp_path / "x.wav")])
    assert unknown.exit_code == 1 and "Traceback" not in unknown.output
    assert not (tmp_path / "x.wav").exists()
