"""Google's speech_embedding (as re-implemented in ONNX by openWakeWord), run with onnxruntime.

Two vendored models (data/README.md: source, licence, SHA-256): `melspectrogram.onnx` turns
16 kHz audio (int16-scaled floats) into 32 mel bands every 10 ms, and `embedding_model.onnx`
turns each window of 76 mel frames into one 96-dimensional embedding; windows step 8 mel
frames, so there is one embedding per 80 ms. The input transform follows openWakeWord
0.4.0's `AudioFeatures` exactly (mel output `x / 10 + 2`, window 76, step 8).

`EmbeddingStream` computes the embeddings while audio arrives (the mel spectrogram is
frame-local, so 480 samples of context in front of each new block give the same frames as one
pass over the whole signal), which leaves almost nothing to compute when an utterance ends.
`utterance_vector` pools an utterance into the fixed-length vector the command head eats.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Final

import numpy as np

from voice_guide.speech_in.audio import SAMPLE_RATE
from voice_guide.speech_in.recognizer import RecognizerError

__all__ = ["EMBEDDING_DIM", "EmbeddingStream", "PoolingSettings", "SpeechEmbedding"]

EMBEDDING_DIM: Final = 96
_MEL_HOP: Final = 160  # samples per mel frame (10 ms)
_MEL_CONTEXT: Final = 3 * _MEL_HOP  # samples in front of a block that its first frame needs
_WINDOW: Final = 76  # mel frames per embedding (0.76 s)
_STEP: Final = 8  # mel frames between embeddings (80 ms)
_BLOCK: Final = _STEP * _MEL_HOP  # samples that yield one more embedding (1280)
_INT16_SCALE: Final = 32767.0
_MODEL_FILES: Final = ("melspectrogram.onnx", "embedding_model.onnx")
# The mel model clips its log output relative to the loudest frame of each call, so on digital
# silence (espeak-ng and flite write exact zeros) a frame would depend on how the audio was cut
# into calls. A -60 dBFS noise floor, as a quiet microphone has, keeps every frame local.
_NOISE_FLOOR: Final = (
    np.random.default_rng(0).normal(0, 1e-3 * _INT16_SCALE, SAMPLE_RATE).astype(np.float32)
)


@dataclass(frozen=True)
class PoolingSettings:
    """How an utterance becomes one vector (chosen on scripts/train_commands.py's dev split)."""

    lead: float = 1.7
    """Background put in front of every utterance (seconds), so even the shortest one (0.36 s
    from the VAD) fills 2.0 s and yields `last_frames` embeddings."""
    lead_source: float = 0.1
    """The first this-many seconds of the utterance (the VAD's pre-roll: background) are
    mirrored and repeated to make the lead, so it sounds like the room before the phrase."""
    last_frames: int = 16
    """Embeddings at the end of the utterance kept in order (16 x 80 ms: the last 2 s)."""

    @property
    def size(self) -> int:
        """Length of the pooled vector: mean, max and std of all frames, then the last frames."""
        return EMBEDDING_DIM * (3 + self.last_frames)


class SpeechEmbedding:
    """The two ONNX models, loaded once; cheap to share between streams of one thread."""

    def __init__(self, model_dir: Path | None = None, pooling: PoolingSettings | None = None):
        """Load the models from `model_dir` (default: the vendored copies in the package).

        Raises RecognizerError, with the fix, when a model file is missing or damaged.
        """
        self.pooling = pooling or PoolingSettings()
        self._mel, self._embed = (self._session(model_dir, name) for name in _MODEL_FILES)

    @staticmethod
    def _session(model_dir: Path | None, name: str):
        import onnxruntime  # lazy: 78 MB library, only needed once listening starts

        options = onnxruntime.SessionOptions()
        options.inter_op_num_threads = 1
        options.intra_op_num_threads = 1
        options.log_severity_level = 3
        where = Path(model_dir, name) if model_dir else resources.files(__package__) / "data" / name
        try:
            model = where.read_bytes()
            return onnxruntime.InferenceSession(
                model, sess_options=options, providers=["CPUExecutionProvider"]
            )
        except Exception as error:  # onnxruntime raises its own types for a damaged file
            raise RecognizerError(
                f"the speech embedding model {where} is missing or damaged ({type(error).__name__})"
                "; reinstall voice-guide (pip install --force-reinstall voice-guide) to restore it"
            ) from error

    def stream(self) -> EmbeddingStream:
        """A new incremental computation (one utterance or one stream of audio)."""
        return EmbeddingStream(self)

    def frames(self, samples: np.ndarray) -> np.ndarray:
        """Embeddings of 16 kHz float32 audio, (n, 96): one per 80 ms after the first 0.76 s."""
        stream = self.stream()
        stream.push(samples)
        return stream.frames()

    def utterance_vector(self, samples: np.ndarray) -> np.ndarray:
        """The pooled vector of one utterance (16 kHz float32, as the VAD cut it)."""
        stream = self.stream()
        stream.push(self.lead(samples))
        stream.push(samples)
        return self.pool(stream.frames())

    def lead(self, samples: np.ndarray) -> np.ndarray:
        """The background put in front of an utterance (see PoolingSettings.lead)."""
        p = self.pooling
        source = np.asarray(samples[: int(p.lead_source * SAMPLE_RATE)], dtype=np.float32)
        n = int(p.lead * SAMPLE_RATE)
        if len(source) < 2:
            return np.zeros(n, dtype=np.float32)
        mirrored = np.concatenate([source[::-1], source])  # no click where copies meet
        return np.resize(mirrored, n)

    def pool(self, frames: np.ndarray) -> np.ndarray:
        """Mean, max and std of all frames, then the last `last_frames` frames in order."""
        last = self.pooling.last_frames
        if len(frames) < last:  # only for audio shorter than the lead: pad with the first
            frames = np.concatenate([np.repeat(frames[:1], last - len(frames), axis=0), frames])
        stats = [frames.mean(axis=0), frames.max(axis=0), frames.std(axis=0)]
        return np.concatenate([*stats, frames[-last:].reshape(-1)]).astype(np.float32)

    def mel(self, scaled: np.ndarray) -> np.ndarray:
        """Mel frames (n, 32) of int16-scaled float32 audio, transformed as openWakeWord does."""
        spec = self._mel.run(None, {"input": scaled[None, :]})[0]
        return np.squeeze(spec, axis=(1,)).reshape(-1, 32) / 10 + 2

    def embed(self, windows: np.ndarray) -> np.ndarray:
        """Embeddings (n, 96) of mel windows (n, 76, 32)."""
        out = self._embed.run(None, {"input_1": windows[..., None].astype(np.float32)})[0]
        return out.reshape(-1, EMBEDDING_DIM)


class EmbeddingStream:
    """Embeddings computed as audio is pushed: every 1280 new samples give one more."""

    def __init__(self, model: SpeechEmbedding) -> None:
        self._model = model
        self._audio = np.zeros(0, dtype=np.float32)  # int16-scaled, everything pushed
        self._done = 0  # samples turned into mel frames so far
        self._mel = np.zeros((0, 32), dtype=np.float32)
        self._frames: list[np.ndarray] = []
        self._count = 0  # embeddings so far

    def push(self, samples: np.ndarray) -> int:
        """Add 16 kHz float32 audio; returns how many new embeddings it completed."""
        scaled = np.asarray(samples, dtype=np.float32).reshape(-1) * _INT16_SCALE
        where = (len(self._audio) + np.arange(len(scaled))) % len(_NOISE_FLOOR)
        scaled += _NOISE_FLOOR[where]
        self._audio = np.concatenate([self._audio, scaled])
        blocks = (len(self._audio) - self._done) // _BLOCK
        if blocks == 0:
            return 0
        end = self._done + blocks * _BLOCK
        self._mel = np.concatenate(
            [self._mel, self._model.mel(self._audio[max(0, self._done - _MEL_CONTEXT) : end])]
        )
        self._done = end
        starts = range(self._count * _STEP, len(self._mel) - _WINDOW + 1, _STEP)
        if not starts:
            return 0
        windows = np.stack([self._mel[i : i + _WINDOW] for i in starts])
        self._frames.append(self._model.embed(windows))
        self._count += len(starts)
        return len(starts)

    def frames(self) -> np.ndarray:
        """All embeddings so far, (n, 96)."""
        if not self._frames:
            return np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
        if len(self._frames) > 1:
            self._frames = [np.concatenate(self._frames)]
        return self._frames[0]
