"""The fusion of the command head and PocketSphinx: its rule, and real speech through it.

The rule's unit tests give FusionSettings.decide made-up opinions (pure logic, no sound);
everything else is flite speech through the real engines and the real Listener.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from spoken import listen, synthesize, write_wav

from voice_guide.commands import Command, vocabulary
from voice_guide.speech_in.audio import SAMPLE_RATE
from voice_guide.speech_in.command_model import OTHER
from voice_guide.speech_in.embedding_engine import FusedRecognizer, FusionSettings, SphinxOpinion

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))


def _head(best: Command | str, p: float) -> dict[Command | str, float]:
    """Head probabilities with `p` on `best` and the rest spread over the other labels."""
    labels = [*Command, OTHER]
    rest = (1.0 - p) / (len(labels) - 1)
    return {label: (p if label == best else rest) for label in labels}


def _never_asked() -> SphinxOpinion:
    raise AssertionError("PocketSphinx was asked although the head settled it")


def test_pain_comes_first_without_asking_pocketsphinx():
    settings = FusionSettings()
    decision = settings.decide(_head(Command.PAIN, settings.pain_head), _never_asked)
    assert decision.command is Command.PAIN
    assert not decision.consulted


def test_a_head_sure_of_conversation_settles_it_without_pocketsphinx():
    settings = FusionSettings(sure_other=0.99)
    decision = settings.decide(_head(OTHER, 0.995), _never_asked)
    assert decision == type(decision)(None, False, pytest.approx(0.995))


def test_the_head_must_be_far_surer_to_add_a_command_pocketsphinx_did_not_accept():
    settings = FusionSettings()
    probabilities = _head(Command.NEXT, 0.6)
    accepted = SphinxOpinion(Command.NEXT, 3.0, accepted=True, whole=True)
    rejected = SphinxOpinion(Command.NEXT, -2.0, accepted=False, whole=True)
    assert settings.bar(Command.NEXT, accepted) < settings.bar(Command.NEXT, rejected)
    assert settings.decide(probabilities, lambda: accepted).command is Command.NEXT
    assert settings.decide(probabilities, lambda: rejected).command is None


@pytest.fixture(scope="module")
def fused() -> FusedRecognizer:
    return FusedRecognizer(vocabulary("en"))


@pytest.mark.audio
def test_the_benchmark_derives_the_engines_own_decisions(fused, tmp_path):
    """bench_listen judges each utterance once and derives the fusion's decision from the
    recorded scores: it must be the decision the engine makes on the same audio."""
    import bench_listen

    texts = ["a little lighter", "ouch", "did you see the game last night", "next", "hang on"]
    gap = np.zeros(int(1.2 * SAMPLE_RATE), np.float32)
    audio = np.concatenate([part for t in texts for part in (synthesize(tmp_path, t, "rms"), gap)])
    path = write_wav(tmp_path / "stream.wav", audio)
    engine = [(d.command.value, round(d.detected_at, 2)) for d in listen(fused, audio)]
    bench_listen._probe = bench_listen.Probe(fused)  # the same engines, loaded once
    judged = bench_listen.judge_stream((path, None))
    derived = [(j.heard["fusion"], round(j.end, 2)) for j in judged if j.heard["fusion"]]
    assert len(judged) == len(texts)
    assert engine == derived
    assert [c for c, _ in engine if c in ("pain", "pause")] == ["pain", "pause"]


@pytest.mark.audio
@pytest.mark.parametrize(("voice", "text"), [("slt", "ow"), ("rms", "ouch"), ("awb", "it hurts")])
def test_the_fusion_hears_pain(fused, tmp_path, voice, text):
    assert [d.command for d in listen(fused, synthesize(tmp_path, text, voice))] == [Command.PAIN]
