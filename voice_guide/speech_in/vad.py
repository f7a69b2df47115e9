"""Voice activity: where speech starts and ends in the stream.

`SileroVad` runs the vendored Silero VAD v6 ONNX model with onnxruntime (no torch).
`Segmenter` turns its per-frame speech probabilities into utterances: a short pre-roll before
the first voiced frame, and an end after a short silence (0.18 s measured best for delay
without cutting words apart).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from importlib import resources
from typing import Final, Protocol

import numpy as np

from voice_guide.speech_in.audio import SAMPLE_RATE

__all__ = ["FRAME_SAMPLES", "Segmenter", "SegmenterSettings", "SileroVad", "Vad", "VadEvent"]

FRAME_SAMPLES: Final = 512
"""Samples per VAD frame at 16 kHz (32 ms), fixed by the Silero model."""

_CONTEXT: Final = 64  # samples of the previous frame the v5/v6 model expects in front


class Vad(Protocol):
    """Speech probability for consecutive frames of FRAME_SAMPLES samples."""

    def probability(self, frame: np.ndarray) -> float:
        """Probability (0..1) that this frame holds speech."""
        ...

    def reset(self) -> None:
        """Forget the recurrent state (a new stream)."""
        ...


class SileroVad:
    """Silero VAD v6 through onnxruntime, single-threaded (about 0.3 % of one core)."""

    def __init__(self) -> None:
        import onnxruntime  # lazy: 78 MB library, only needed once listening starts

        options = onnxruntime.SessionOptions()
        options.inter_op_num_threads = 1
        options.intra_op_num_threads = 1
        options.log_severity_level = 3
        model = resources.files(__package__).joinpath("data/silero_vad.onnx").read_bytes()
        self._session = onnxruntime.InferenceSession(
            model, sess_options=options, providers=["CPUExecutionProvider"]
        )
        self._sr = np.array(SAMPLE_RATE, dtype=np.int64)
        self.reset()

    def reset(self) -> None:
        """Forget the recurrent state (a new stream)."""
        self._state = np.zeros((2, 1, 128), dtype=np.float32)
        self._context = np.zeros((1, _CONTEXT), dtype=np.float32)

    def probability(self, frame: np.ndarray) -> float:
        """Speech probability of one 512-sample float32 frame."""
        x = np.concatenate([self._context, frame.reshape(1, -1).astype(np.float32)], axis=1)
        out, self._state = self._session.run(
            None, {"input": x, "state": self._state, "sr": self._sr}
        )
        self._context = x[:, -_CONTEXT:]
        return float(out[0, 0])


@dataclass(frozen=True)
class SegmenterSettings:
    """How VAD frames become utterances."""

    threshold: float = 0.5
    """Speech probability above which a frame is voiced (0..1)."""
    end_wait: float = 0.18
    """Silence after the last voiced frame that ends an utterance (seconds)."""
    pre_roll: float = 0.15
    """Audio kept before the first voiced frame, so onsets are not clipped (seconds)."""
    max_length: float = 4.0
    """Longer voiced stretches are conversation, not a command: dropped (seconds)."""

    def frames(self, seconds: float) -> int:
        """Seconds as a whole number of VAD frames."""
        return max(1, round(seconds * SAMPLE_RATE / FRAME_SAMPLES))


@dataclass(frozen=True)
class VadEvent:
    """What happened at one VAD frame. `frame_index` counts frames from the stream start."""

    kind: str
    """'start' (audio = pre-roll + this frame), 'speech' (audio = this frame), 'end'
    (utterance complete; audio = this frame), 'drop' (too long: abandon the utterance)."""
    audio: np.ndarray
    frame_index: int


class Segmenter:
    """Turns a stream of VAD frames into utterance events (see VadEvent)."""

    def __init__(self, vad: Vad, settings: SegmenterSettings | None = None) -> None:
        self._vad = vad
        self.settings = settings or SegmenterSettings()
        self._pre_roll: deque[np.ndarray] = deque(
            maxlen=self.settings.frames(self.settings.pre_roll)
        )
        self._end_frames = self.settings.frames(self.settings.end_wait)
        self._max_frames = self.settings.frames(self.settings.max_length)
        self.reset()

    def reset(self) -> None:
        """Forget any utterance in progress (a new stream)."""
        self._vad.reset()
        self._pre_roll.clear()
        self._in_speech = False
        self._dropping = False
        self._silent_frames = 0
        self._length = 0
        self._frame_index = 0

    @property
    def in_speech(self) -> bool:
        """True while an utterance is open."""
        return self._in_speech

    def process(self, frame: np.ndarray) -> VadEvent | None:
        """Feed one FRAME_SAMPLES frame; returns the event it causes, if any."""
        index = self._frame_index
        self._frame_index += 1
        voiced = self._vad.probability(frame) >= self.settings.threshold
        if self._dropping:
            # After a too-long stretch, wait for a real pause before listening again.
            self._silent_frames = 0 if voiced else self._silent_frames + 1
            if self._silent_frames >= self._end_frames:
                self._dropping = False
            self._pre_roll.append(frame)
            return None
        if not self._in_speech:
            if not voiced:
                self._pre_roll.append(frame)
                return None
            audio = np.concatenate([*self._pre_roll, frame])
            self._pre_roll.clear()
            self._in_speech, self._silent_frames, self._length = True, 0, 1
            return VadEvent("start", audio, index)
        self._length += 1
        self._silent_frames = 0 if voiced else self._silent_frames + 1
        if self._length > self._max_frames:
            self._in_speech, self._dropping = False, True
            return VadEvent("drop", frame, index)
        if self._silent_frames >= self._end_frames:
            self._in_speech = False
            self._pre_roll.append(frame)
            return VadEvent("end", frame, index)
        return VadEvent("speech", frame, index)
