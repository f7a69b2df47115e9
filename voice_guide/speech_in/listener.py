"""The Listener: 16 kHz audio pushed in, command detections out, timed on the stream clock.

Every source (microphone, WAV file, virtual room) calls `feed()` with consecutive chunks of
16 kHz mono audio; stream time is samples fed / 16000. The VAD cuts the stream into
utterances, the recognizer judges each one, and a detection carries where the phrase was
(`start`, `end`) and when it was decided (`detected_at`), so the caller can, for example,
drop detections whose words the guide itself was saying at that time.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from voice_guide.commands import Command
from voice_guide.speech_in.audio import SAMPLE_RATE, to_float32
from voice_guide.speech_in.recognizer import Hypothesis, Recognizer
from voice_guide.speech_in.vad import FRAME_SAMPLES, Segmenter, SegmenterSettings, SileroVad, Vad

__all__ = ["MAX_EXTRA_SPEECH", "Detection", "Listener"]

MAX_EXTRA_SPEECH = 0.6
"""Seconds of speech outside a recognizer's phrase beyond which an utterance is no command."""


@dataclass(frozen=True)
class Detection:
    """A command heard in the stream. Times are seconds of stream time."""

    command: Command
    heard: str | None
    """The wording recognized ("okay a little lighter"); None from an engine that gives no
    transcript."""
    start: float
    end: float
    detected_at: float
    """Stream position when the detection was emitted (>= end)."""
    confidence: float
    """0..1, comparable within one engine only."""

    def to_json_dict(self) -> dict[str, object]:
        """The `listen --json` line: command name, phrase, times rounded to 10 ms."""
        data = asdict(self)
        data["command"] = self.command.value
        for key in ("start", "end", "detected_at"):
            data[key] = round(data[key], 2)
        return data


class Listener:
    """Push audio in with `feed()`, get Detections back (at most one per utterance)."""

    def __init__(
        self,
        recognizer: Recognizer,
        sample_rate: int = SAMPLE_RATE,
        vad: Vad | None = None,
        segmenter: SegmenterSettings | None = None,
        max_extra_speech: float = MAX_EXTRA_SPEECH,
    ) -> None:
        """`recognizer` judges utterances; `vad` defaults to Silero VAD (ONNX).

        Only 16 kHz is accepted: sources resample before feeding (see sources.py).
        `max_extra_speech` (seconds): an utterance judged at its end is rejected when it holds
        more speech than this outside the phrase ("next week we fly to Lisbon" is not "next").
        """
        if sample_rate != SAMPLE_RATE:
            raise ValueError(f"Listener takes {SAMPLE_RATE} Hz audio; resample before feeding")
        self.recognizer = recognizer
        self._segmenter = Segmenter(vad if vad is not None else SileroVad(), segmenter)
        self._pending = np.zeros(0, dtype=np.float32)
        self._samples = 0  # samples handed to the VAD so far: the stream clock
        self._utterance_start = 0
        self._decided = False
        self.max_extra_speech = max_extra_speech

    @property
    def stream_time(self) -> float:
        """Seconds of audio processed so far."""
        return self._samples / SAMPLE_RATE

    def reset(self) -> None:
        """Start a new stream: clock to zero, any utterance in progress dropped."""
        self.abandon()
        self._pending = np.zeros(0, dtype=np.float32)
        self._samples = 0

    def abandon(self) -> None:
        """Drop any utterance in progress (after a recognizer fault); the clock goes on."""
        self.recognizer.cancel()
        self._segmenter.reset()
        self._decided = False

    def feed(self, samples: np.ndarray) -> list[Detection]:
        """Push the next chunk of 16 kHz mono audio (float32 in [-1, 1], or int16).

        Any chunk length works; returns the detections decided within it, in order.
        """
        audio = to_float32(samples).reshape(-1)
        if len(self._pending):
            audio = np.concatenate([self._pending, audio])
        usable = len(audio) - len(audio) % FRAME_SAMPLES
        self._pending = audio[usable:].copy()
        detections = []
        for offset in range(0, usable, FRAME_SAMPLES):
            detection = self._frame(audio[offset : offset + FRAME_SAMPLES])
            if detection is not None:
                detections.append(detection)
        return detections

    def flush(self) -> list[Detection]:
        """End of stream: pad with silence so an utterance still open is judged."""
        detections = []
        while self._segmenter.in_speech:
            detection = self._frame(np.zeros(FRAME_SAMPLES, dtype=np.float32))
            if detection is not None:
                detections.append(detection)
        return detections

    def _frame(self, frame: np.ndarray) -> Detection | None:
        event = self._segmenter.process(frame)
        self._samples += FRAME_SAMPLES
        if event is None:
            return None
        if event.kind == "start":
            self._utterance_start = self._samples - len(event.audio)
            self._decided = False
            self.recognizer.begin()
            return self._emit(self.recognizer.accept(event.audio))
        if event.kind == "drop":
            self.recognizer.cancel()
            return None
        if self._decided:  # already acted on this utterance: ignore the rest of it
            if event.kind == "end":
                self.recognizer.cancel()
            return None
        hypothesis = self.recognizer.accept(event.audio)
        if hypothesis is None and event.kind == "end":
            hypothesis = self.recognizer.finish()
            if hypothesis is not None and self._extra_speech(hypothesis) > self.max_extra_speech:
                return None
        return self._emit(hypothesis)

    def _extra_speech(self, hypothesis: Hypothesis) -> float:
        """Seconds of the ended utterance outside the phrase (pre-roll and end wait excluded)."""
        settings = self._segmenter.settings
        spoken = self.stream_time - self._utterance_start / SAMPLE_RATE
        spoken -= settings.pre_roll + settings.end_wait
        return spoken - (hypothesis.end - hypothesis.start)

    def _emit(self, hypothesis: Hypothesis | None) -> Detection | None:
        if hypothesis is None:
            return None
        self._decided = True
        origin = self._utterance_start / SAMPLE_RATE
        now = self.stream_time
        return Detection(
            command=hypothesis.command,
            heard=hypothesis.phrase,
            start=origin + hypothesis.start,
            end=min(origin + hypothesis.end, now),
            detected_at=now,
            confidence=hypothesis.confidence,
        )
