"""`voice-guide listen` and `devices` through click, on real synthesized WAV files."""

from __future__ import annotations

import json
import subprocess
import wave
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from voice_guide.audio import read_wav, resample
from voice_guide.cli import cli

pytestmark = pytest.mark.audio

KEYS = ["command", "heard", "start", "end", "detected_at", "confidence"]


@pytest.fixture(scope="module")
def lighter_then_next(tmp_path_factory) -> Path:
    """'a little lighter', talk, 'next' (flite slt) as a 44.1 kHz stereo 24-bit WAV file."""
    directory = tmp_path_factory.mktemp("cli")
    parts = []
    for i, text in enumerate(["a little lighter", "how was your weekend", "next"]):
        path = directory / f"{i}.wav"
        subprocess.run(["flite", "-voice", "slt", "-t", text, "-o", str(path)], check=True)
        wav = read_wav(path)
        parts += [np.zeros(wav.sample_rate // 2, np.float32), wav.samples]
    parts.append(np.zeros(wav.sample_rate, np.float32))
    mono = resample(np.concatenate(parts), wav.sample_rate, 44100)
    ints = (np.clip(mono, -1, 1) * 8388607).astype("<i4")
    stereo = np.repeat(ints[:, None], 2, axis=1).reshape(-1)
    packed = np.frombuffer(stereo.tobytes(), np.uint8).reshape(-1, 4)[:, :3].tobytes()
    out = directory / "session.wav"
    with wave.open(str(out), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(3)
        w.setframerate(44100)
        w.writeframes(packed)
    return out


def test_listen_json_prints_only_detection_lines(lighter_then_next):
    result = CliRunner().invoke(
        cli, ["listen", str(lighter_then_next), "--engine", "pocketsphinx", "--json"]
    )
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [d["command"] for d in lines] == ["lighter", "next"]
    assert all(list(d) == KEYS for d in lines)
    assert lines[0]["heard"] == "a little lighter"
    assert lines[0]["start"] < lines[0]["end"] <= lines[0]["detected_at"] < lines[1]["start"]
    assert "PocketSphinx" in result.stderr


def test_listen_auto_english_names_the_fusion(lighter_then_next):
    result = CliRunner().invoke(cli, ["listen", str(lighter_then_next), "--json"])
    assert result.exit_code == 0
    assert "auto chose fusion" in result.stderr


def test_listen_auto_korean_uses_vosk(tmp_path):
    path = tmp_path / "ko.wav"
    subprocess.run(["espeak-ng", "-v", "ko", "-w", str(path), "조금 약하게"], check=True)
    result = CliRunner().invoke(cli, ["listen", str(path), "--language", "ko", "--json"])
    assert result.exit_code == 0, result.output
    assert "Vosk" in result.stderr
    assert [json.loads(line)["command"] for line in result.stdout.splitlines()] == ["lighter"]


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"hello, this is text", "not a WAV file"), (b"RIFF\x04\x00\x00\x00WAVE", "no audio data")],
)
def test_listen_non_audio_file_is_one_line_error(tmp_path, content, message):
    path = tmp_path / "bad.wav"
    path.write_bytes(content)
    result = CliRunner().invoke(cli, ["listen", str(path), "--json"])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_listen_vosk_without_model_says_how_to_get_one(lighter_then_next):
    result = CliRunner().invoke(cli, ["listen", str(lighter_then_next), "--engine", "vosk"])
    assert result.exit_code == 1
    assert "voice-guide models download" in result.stderr


def test_listen_unknown_language_is_one_line_error(lighter_then_next):
    result = CliRunner().invoke(cli, ["listen", str(lighter_then_next), "--language", "xx"])
    assert result.exit_code == 1
    assert "no command phrases for language 'xx'" in result.stderr


def test_devices_lists_or_says_none(monkeypatch):
    result = CliRunner().invoke(cli, ["devices"])
    assert result.exit_code == 0
    assert result.stdout.strip() or "no audio devices" in result.stderr
