"""The speech-embedding command model: real synthesized speech through the real ONNX models.

The embedding (openWakeWord's conversion of Google's speech_embedding) is loaded once per
session; audio comes from flite, padded with silence as a microphone would deliver it.
"""

from __future__ import annotations

import json
import socket
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from spoken import listen, synthesize

from voice_guide.commands import Command, vocabulary
from voice_guide.speech_in.audio import SAMPLE_RATE
from voice_guide.speech_in.command_model import OTHER, CommandModel
from voice_guide.speech_in.embedding import EMBEDDING_DIM, SpeechEmbedding
from voice_guide.speech_in.embedding_engine import EmbeddingRecognizer, FusedRecognizer
from voice_guide.speech_in.recognizer import RecognizerError

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))

pytestmark = pytest.mark.audio


@pytest.fixture(scope="session")
def embedding() -> SpeechEmbedding:
    return SpeechEmbedding()


def test_embedding_starts_and_runs_with_no_network(monkeypatch, tmp_path):
    def no_network(*args, **kwargs):
        raise OSError("network disabled in this test")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    model = SpeechEmbedding()
    frames = model.frames(synthesize(tmp_path, "a little lighter", "slt"))
    assert frames.shape[1] == EMBEDDING_DIM and len(frames) >= 3
    assert np.all(np.isfinite(frames))


def test_one_embedding_per_80_ms_after_the_first_window(embedding):
    two_seconds = np.random.default_rng(0).normal(0, 0.05, 2 * SAMPLE_RATE).astype(np.float32)
    assert embedding.frames(two_seconds).shape == (16, EMBEDDING_DIM)
    assert embedding.frames(two_seconds[:12000]).shape == (0, EMBEDDING_DIM)


def test_streaming_gives_the_same_embeddings_as_one_pass(embedding, tmp_path):
    audio = synthesize(tmp_path, "that feels great", "slt")
    stream = embedding.stream()
    for start in range(0, len(audio), 320):  # 20 ms chunks, as from a microphone
        stream.push(audio[start : start + 320])
    np.testing.assert_allclose(stream.frames(), embedding.frames(audio), atol=1e-3)


def test_utterance_vector_has_a_fixed_size_and_tells_phrases_apart(embedding, tmp_path):
    lighter = [
        embedding.utterance_vector(synthesize(tmp_path, "lighter", v)) for v in ("slt", "rms")
    ]
    other = embedding.utterance_vector(
        synthesize(tmp_path, "did you see the game last night", "slt")
    )
    assert {v.shape for v in [*lighter, other]} == {(embedding.pooling.size,)}

    def cosine(a: np.ndarray, b: np.ndarray) -> float:
        return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))

    assert cosine(lighter[0], lighter[1]) > cosine(lighter[0], other)


@pytest.mark.parametrize("damage", ["missing", "corrupt"])
def test_a_missing_or_corrupt_model_file_is_one_sentence_with_the_fix(tmp_path, damage):
    if damage == "corrupt":
        (tmp_path / "melspectrogram.onnx").write_bytes(b"not an onnx model\n" * 10)
    with pytest.raises(RecognizerError) as raised:
        SpeechEmbedding(model_dir=tmp_path)
    message = str(raised.value)
    assert "melspectrogram.onnx" in message and "reinstall" in message
    assert "\n" not in message


# -- the trainer and the head, end to end ---------------------------------------------------

TINY = [("lighter", Command.LIGHTER), ("next", Command.NEXT), ("ouch", Command.PAIN)]


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> CommandModel:
    """A head trained by scripts/train_commands.py on three phrases (real synthesis, seconds)."""
    import train_commands

    tmp = tmp_path_factory.mktemp("train")
    plan = train_commands.Plan(
        phrase_voices=8,
        pain_voices=8,
        wording_count=0,
        around_count=0,
        conversation_voices=0,
        near_voices=0,
        guide_voices=0,
        ngram_count=40,
        background_count=8,
        dev_fraction=0.2,
    )
    path = tmp / "head.npz"
    train_commands.train("en", path, tmp, [plan], workers=1, hidden=32, commands=TINY)
    return CommandModel.load(path)


HELD_OUT = ("flite-out", "sam", "pico")  # bench_listen's voice groups never trained or tuned on


def test_the_trainer_never_uses_a_held_out_voice_and_keeps_dev_voices_out_of_training():
    import bench_listen
    import train_commands

    held_out = {v[2] for g in HELD_OUT for v in bench_listen.VOICES["en"][g]}
    rng = np.random.default_rng(0)
    drawn = {
        split: {train_commands.random_voice(rng, split, 0.5).name.split("+")[0] for _ in range(600)}
        for split in ("train", "dev")
    }
    trainer = {  # every voice the trainer may draw, per split
        split: {*train_commands.FLITE[split], *train_commands.ESPEAK[split]}
        | set(train_commands.MBROLA[split])
        for split in ("train", "dev")
    }
    assert drawn == trainer  # each voice of a split drawn, and only those
    assert not trainer["train"] & trainer["dev"]
    assert not (trainer["train"] | trainer["dev"]) & held_out
    assert "mb-us2" in trainer["dev"] and {"mb-us1", "mb-us3", "mb-en1"} <= trainer["train"]


def test_mbrola_rounds_get_their_own_digest_and_older_rounds_keep_theirs():
    import train_commands

    # the shipped head's cached rounds (made before Plan.mbrola existed) keep their keys
    keys = [
        train_commands.round_digest("en", plan.scaled(1.0), i, None)
        for i, plan in enumerate(train_commands.ROUNDS[:3])
    ]
    assert keys == ["2cd571d7ad0a", "4971400651a5", "168026de2d9d"]
    plan = train_commands.Plan(phrase_voices=4, pain_voices=4, wording_count=0, ngram_count=5)
    mbrola = replace(plan, mbrola=1.0)
    assert train_commands.round_digest("en", mbrola, 0, TINY) != train_commands.round_digest(
        "en", plan, 0, TINY
    )
    # every voice of an all-MBROLA round is an MBROLA voice of its split
    made = train_commands.tasks("en", mbrola, 0, 4, TINY)
    voices = {(t.split, t.voice.name) for t in made if t.voice is not None}
    assert {v for _, v in voices} <= {"mb-us1", "mb-us2", "mb-us3", "mb-en1"}
    assert all((v == "mb-us2") == (split == "dev") for split, v in voices)


def test_a_fresh_run_makes_the_same_examples(tmp_path):
    import train_commands

    plan = train_commands.Plan(phrase_voices=3, pain_voices=3, wording_count=0, ngram_count=4)
    made = train_commands.tasks("en", plan, 0, 4, TINY)
    shifted = [t for t in made if t.voice is not None and t.voice.sox_cents][:4]
    assert len(shifted) == 4  # synthesized, then shifted by sox (whose dither is random unless -R)
    runs = []
    for run in ("first", "again"):  # each with its own, empty synthesis cache
        (tmp_path / run).mkdir()
        runs.append(train_commands.make_examples(shifted, tmp_path / run, 0, workers=1))
    first, again = runs
    np.testing.assert_array_equal(first[0], again[0])
    assert first[0].shape == (4, EMBEDDING_DIM * 19) and list(first[1]) == [
        t.label for t in shifted
    ]


def test_a_cached_round_whose_texts_changed_is_made_again(tmp_path, monkeypatch, capsys):
    import train_commands

    plan = train_commands.Plan(
        phrase_voices=1, pain_voices=1, wording_count=0, around_count=0, conversation_voices=0,
        near_voices=0, guide_voices=0, ngram_count=3, background_count=1,
    )  # fmt: skip
    (tmp_path / "tts").mkdir()
    train_commands.round_examples("en", plan, 0, tmp_path, 1, TINY)
    capsys.readouterr()
    train_commands.round_examples("en", plan, 0, tmp_path, 1, TINY)  # the same texts: cached
    assert "tasks (round seeded 0)" not in capsys.readouterr().err
    data = tmp_path / "data"  # the same "other" speech, one sentence reworded
    data.mkdir()
    text = (train_commands.DATA / "en.yaml").read_text(encoding="utf-8")
    (data / "en.yaml").write_text(text.replace("how was the drive", "how was the ride"))
    monkeypatch.setattr(train_commands, "DATA", data)
    train_commands.round_examples("en", plan, 0, tmp_path, 1, TINY)
    made = capsys.readouterr()
    assert "its texts changed" in made.out and "tasks (round seeded 0)" in made.err
    assert len(list(tmp_path.glob("examples-*.npz"))) == 1  # the same key, made again


def test_a_tiny_trained_head_hears_its_phrases_through_the_listener(
    tiny_model, embedding, tmp_path
):
    recognizer = EmbeddingRecognizer(vocabulary("en"), embedding=embedding, model=tiny_model)
    assert set(tiny_model.weights.labels) == {"lighter", "next", "pain", OTHER}
    heard = []
    for text, _ in TINY:
        # a take the trainer never made: flite's awb voice is not among its voices
        detections = listen(recognizer, synthesize(tmp_path, text, "awb"))
        heard.append([d.command for d in detections])
    assert heard == [[c] for _, c in TINY]


def test_a_saved_head_loads_back_identically(tiny_model, tmp_path):
    tiny_model.save(tmp_path / "again.npz")
    again = CommandModel.load(tmp_path / "again.npz")
    vector = np.random.default_rng(1).normal(size=tiny_model.weights.mean.shape)
    assert again.probabilities(vector) == tiny_model.probabilities(vector)
    assert again.weights.thresholds == tiny_model.weights.thresholds


def test_a_damaged_head_is_one_sentence_with_the_fix(tmp_path):
    bad = tmp_path / "head.npz"
    bad.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(RecognizerError) as raised:
        CommandModel.load(bad)
    assert "train_commands.py" in str(raised.value) and "\n" not in str(raised.value)


def test_prototypes_of_a_person_pull_their_command_up(tiny_model, embedding, tmp_path):
    take = embedding.utterance_vector(synthesize(tmp_path, "lighter", "kal16"))
    plain = tiny_model.probabilities(take)
    enrolled = tiny_model.probabilities(take, {Command.LIGHTER: [take]})
    assert enrolled[Command.LIGHTER] > plain[Command.LIGHTER]
    assert sum(enrolled.values()) == pytest.approx(1.0)
    # a command the person did not enroll keeps the head's opinion relative to "other"
    assert enrolled[Command.NEXT] / enrolled[OTHER] == pytest.approx(
        plain[Command.NEXT] / plain[OTHER], rel=1e-4
    )


# -- the shipped head and the fusion, on voices it was not trained on ------------------------


@pytest.fixture(scope="module")
def fused() -> FusedRecognizer:
    return FusedRecognizer(vocabulary("en"))


HEARD = [
    ("awb", "a little lighter", Command.LIGHTER),
    ("awb", "ouch", Command.PAIN),
    ("kal16", "that hurts", Command.PAIN),
    ("kal16", "next", Command.NEXT),
    ("awb", "pause", Command.PAUSE),
]


@pytest.mark.parametrize(("voice", "text", "command"), HEARD)
def test_the_fusion_hears_voices_it_was_not_trained_on(fused, tmp_path, voice, text, command):
    assert [d.command for d in listen(fused, synthesize(tmp_path, text, voice))] == [command]


@pytest.mark.parametrize(
    "text",
    [
        "did you see the game last night",
        "the traffic on the bridge was terrible",
        "next week we fly to lisbon",
        "it hurts my feelings when he says that",
        "wait until you hear this",
    ],
)
def test_the_fusion_ignores_conversation_and_near_misses(fused, tmp_path, text):
    assert listen(fused, synthesize(tmp_path, text, "awb")) == []


def test_pain_is_heard_over_the_guides_own_speech(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from voice_guide.cli import cli

    monkeypatch.setenv("VOICE_GUIDE_HOME", str(tmp_path / "home"))
    transcript = tmp_path / "demo.jsonl"
    # 2:02 is two seconds into an instruction of neck-and-shoulders: the guide is speaking.
    args = ["demo", "neck-and-shoulders", "--engine", "fusion", "--echo-gain", "0.5"]
    args += [
        "--say",
        "2:02 ouch",
        "--max-minutes",
        "2.4",
        "--quiet",
        "--transcript",
        str(transcript),
    ]
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert "did not end within --max-minutes" in result.output  # stopped early on purpose
    events = [json.loads(line) for line in transcript.read_text().splitlines()]
    heard = [e for e in events if e["event"] == "heard"]
    assert [h["command"] for h in heard] == ["pain"]
    assert 122 <= heard[0]["t"] <= 123.5, heard
