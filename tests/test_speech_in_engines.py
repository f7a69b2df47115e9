"""The engine registry: listing, choosing (`auto`), unknown names, and an engine that gives no
transcript, all on the real engines with real synthesized speech."""

from __future__ import annotations

import subprocess
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from voice_guide.cli import _register, cli
from voice_guide.commands import Command
from voice_guide.speech_in import Listener, create_recognizer, engine_names
from voice_guide.speech_in.audio import SAMPLE_RATE, read_wav, resample
from voice_guide.speech_in.engines import Measured, register_engine
from voice_guide.speech_in.recognizer import RecognizerError

pytestmark = pytest.mark.audio


@pytest.fixture(autouse=True)
def user_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("VOICE_GUIDE_HOME", str(tmp_path / "home"))
    _register()


@pytest.fixture(scope="module")
def lighter_wav(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("engines") / "lighter.wav"
    subprocess.run(
        ["flite", "-voice", "slt", "-t", "a little lighter", "-o", str(path)], check=True
    )
    return path


def test_builtin_engines_are_registered():
    assert engine_names()[:1] == ["auto"]
    assert {"pocketsphinx", "vosk"} <= set(engine_names())


def test_unknown_engine_is_one_sentence_listing_the_registered_ones(lighter_wav):
    result = CliRunner().invoke(cli, ["listen", str(lighter_wav), "--engine", "whisper"])
    assert result.exit_code == 1
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "unknown engine 'whisper'" in lines[0]
    assert all(name in lines[0] for name in engine_names())


def test_unknown_engine_stops_run_before_the_session_starts():
    result = CliRunner().invoke(cli, ["run", "--keyboard", "--text", "--engine", "whisper"])
    assert result.exit_code == 1
    assert "unknown engine 'whisper'" in result.stderr


def test_auto_says_in_one_line_which_engine_it_chose_and_why(lighter_wav):
    result = CliRunner().invoke(cli, ["listen", str(lighter_wav), "--json"])
    assert result.exit_code == 0, result.output
    chose = [line for line in result.stderr.splitlines() if "auto chose" in line]
    assert len(chose) == 1
    assert "auto chose fusion (best measured for en" in chose[0]
    assert "PocketSphinx" in chose[0]


def test_vosk_for_a_language_without_model_is_one_sentence_with_the_fix():
    with pytest.raises(RecognizerError, match="voice-guide models download"):
        create_recognizer("vosk", "en")


class _NoTranscript:
    """The real PocketSphinx engine, made to give the command but no wording: what an
    engine that judges the sound as a whole (an embedding model) hands the Listener."""

    def __init__(self, real) -> None:
        self._real = real

    def __getattr__(self, name):
        return getattr(self._real, name)

    @property
    def description(self) -> str:
        return "PocketSphinx without its transcript"

    def finish(self):
        hypothesis = self._real.finish()
        return None if hypothesis is None else replace(hypothesis, phrase=None)


def test_a_registered_engine_without_transcript_is_picked_by_auto_and_heard(
    lighter_wav, monkeypatch
):
    from voice_guide.speech_in import engines

    monkeypatch.setattr(engines, "_ENGINES", dict(engines._ENGINES))
    real = create_recognizer("pocketsphinx", "en").recognizer
    seen = []

    def factory(request):
        seen.append(request)
        return _NoTranscript(real)

    register_engine(
        "silent", factory, summary="test", measured={"en": Measured(0.999, "better on paper")}
    )
    choice = create_recognizer("auto", "en")
    assert choice.message.startswith("auto chose silent (best measured for en: better on paper)")
    assert seen[0].vocabulary.command("a little lighter") is Command.LIGHTER
    wav = read_wav(lighter_wav)
    audio = resample(wav.samples, wav.sample_rate)
    audio = np.concatenate([np.zeros(SAMPLE_RATE // 2, np.float32), audio, np.zeros(SAMPLE_RATE)])
    listener = Listener(choice.recognizer)
    found = []
    for start in range(0, len(audio), 320):
        found += listener.feed(audio[start : start + 320])
    found += listener.flush()
    assert [(d.command, d.heard) for d in found] == [(Command.LIGHTER, None)]
    assert found[0].to_json_dict()["heard"] is None


def test_auto_is_refused_when_nothing_can_listen_in_the_language(monkeypatch):
    from voice_guide.speech_in import engines

    only_sphinx = {"pocketsphinx": engines.get_engine("pocketsphinx")}
    monkeypatch.setattr(engines, "_ENGINES", only_sphinx)
    with pytest.raises(RecognizerError, match="no speech engine can listen in 'ko'"):
        create_recognizer("auto", "ko")
    with pytest.raises(RecognizerError, match="no command phrases for language 'xx'"):
        create_recognizer("auto", "xx")
