"""The speech-embedding command model: real synthesized speech through the real ONNX models.

The embedding (openWakeWord's conversion of Google's speech_embedding) is loaded once per
session; audio comes from flite, padded with silence as a microphone would deliver it.
"""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

import numpy as np
import pytest

from voice_guide.speech_in.audio import SAMPLE_RATE, read_wav, resample
from voice_guide.speech_in.embedding import EMBEDDING_DIM, SpeechEmbedding
from voice_guide.speech_in.recognizer import RecognizerError

pytestmark = pytest.mark.audio


@pytest.fixture(scope="session")
def embedding() -> SpeechEmbedding:
    return SpeechEmbedding()


def flite(directory: Path, text: str, voice: str = "slt") -> np.ndarray:
    """`text` said by a flite voice at 16 kHz with 0.15 s of silence before and 0.2 s after."""
    path = directory / f"{voice}-{abs(hash(text))}.wav"
    subprocess.run(["flite", "-voice", voice, "-t", text, "-o", str(path)], check=True)
    wav = read_wav(path)
    audio = resample(wav.samples, wav.sample_rate)
    return np.concatenate(
        [np.zeros(int(0.15 * SAMPLE_RATE)), audio, np.zeros(int(0.2 * SAMPLE_RATE))]
    ).astype(np.float32)


def test_embedding_starts_and_runs_with_no_network(monkeypatch, tmp_path):
    def no_network(*args, **kwargs):
        raise OSError("network disabled in this test")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    model = SpeechEmbedding()
    frames = model.frames(flite(tmp_path, "a little lighter"))
    assert frames.shape[1] == EMBEDDING_DIM and len(frames) >= 3
    assert np.all(np.isfinite(frames))


def test_one_embedding_per_80_ms_after_the_first_window(embedding):
    two_seconds = np.random.default_rng(0).normal(0, 0.05, 2 * SAMPLE_RATE).astype(np.float32)
    assert embedding.frames(two_seconds).shape == (16, EMBEDDING_DIM)
    assert embedding.frames(two_seconds[:12000]).shape == (0, EMBEDDING_DIM)


def test_streaming_gives_the_same_embeddings_as_one_pass(embedding, tmp_path):
    audio = flite(tmp_path, "that feels great")
    stream = embedding.stream()
    for start in range(0, len(audio), 320):  # 20 ms chunks, as from a microphone
        stream.push(audio[start : start + 320])
    np.testing.assert_allclose(stream.frames(), embedding.frames(audio), atol=1e-3)


def test_utterance_vector_has_a_fixed_size_and_tells_phrases_apart(embedding, tmp_path):
    lighter = [embedding.utterance_vector(flite(tmp_path, "lighter", v)) for v in ("slt", "rms")]
    other = embedding.utterance_vector(flite(tmp_path, "did you see the game last night"))
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
