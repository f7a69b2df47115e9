"""Recorded speech first, the synthetic voice for everything else.

`RecordedRenderer` is a Renderer: a sentence that has a recording (the giver's own voice)
comes from the `Recordings` it is given, scaled to the synthetic voice's loudness; any other
sentence is synthesized. Because it sits under the render cache, everything above it (the
speaker, pre-rendering, a rendered track, the playback tap the self-voice gate listens to)
treats a recorded sentence exactly like a synthesized one: same text, same timing.

Speech out knows no routine: what a recording belongs to is the caller's business; here a
recording is found by the very text being said.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Final, Protocol

from voice_guide.audio import AudioBuffer
from voice_guide.speech_out.errors import RenderError
from voice_guide.speech_out.loudness import loudness, matched
from voice_guide.speech_out.renderer import Renderer, VoiceSettings

REFERENCE: Final = "Rest your hands and breathe slowly, in and out, at an easy pace."
"""Synthesized once to measure the synthetic voice's loudness: the level recordings play at."""


@dataclass(frozen=True, eq=False)
class Recording:
    """A recorded sentence and its measured loudness."""

    audio: AudioBuffer
    loudness: float
    """LUFS (see loudness.loudness)."""


class Recordings(Protocol):
    """Recorded sentences, found by their text."""

    def find(self, text: str) -> Recording | None:
        """The recording of exactly `text` (None when there is none, or it cannot be read)."""
        ...


def voice_level(voice: Renderer) -> float:
    """The loudness (LUFS) of `voice` at its settings: what recordings are matched to."""
    return loudness(voice.render(REFERENCE))


class RecordedRenderer:
    """Renderer that plays recordings where there are some and synthesizes the rest."""

    def __init__(self, voice: Renderer, recordings: Recordings, timeout: float = 15.0) -> None:
        """`voice` says what has no recording and sets the level recordings play at."""
        self._voice = voice
        self._recordings = recordings
        self._timeout = timeout
        self._target: Future[float] | None = None
        self._lock = threading.Lock()
        self._level()  # measured now, on the worker, not when the first recording is due

    @property
    def settings(self) -> VoiceSettings:
        """The synthetic voice's settings (a recording plays whatever they are)."""
        return self._voice.settings

    def submit(self, text: str, urgent: bool = True) -> Future[AudioBuffer]:
        """The recording of `text` at the voice's loudness, or its synthesis. Never waits: the
        recording is scaled once the voice's level is known (measured once, on the worker)."""
        recording = self._recordings.find(text)
        if recording is None:
            return self._voice.submit(text, urgent=urgent)
        result: Future[AudioBuffer] = Future()
        self._level().add_done_callback(lambda target: _scale(recording, target, result))
        return result

    def render(self, text: str) -> AudioBuffer:
        """Like submit, and wait (raises RenderError)."""
        try:
            return self.submit(text).result(timeout=self._timeout)
        except FutureTimeout as exc:
            raise RenderError(f"Rendering {text[:40]!r} timed out.") from exc

    def _level(self) -> Future[float]:
        with self._lock:
            if self._target is None:
                target: Future[float] = Future()
                self._target = target
                self._voice.submit(REFERENCE).add_done_callback(
                    lambda audio: _settle(target, lambda: loudness(audio.result()))
                )
            return self._target


def _settle(future: Future[float], compute: Callable[[], float]) -> None:
    try:
        future.set_result(compute())
    except Exception as exc:  # handed to whoever waits on the level
        future.set_exception(exc)


def _scale(recording: Recording, target: Future[float], result: Future[AudioBuffer]) -> None:
    """Settle `result` with the recording at the target loudness (as recorded when the
    synthetic voice cannot be measured: a recording still beats a printed sentence)."""
    if not result.set_running_or_notify_cancel():
        return  # the cache cancelled it to ask again, urgently
    try:
        level = target.result()
    except Exception:
        result.set_result(recording.audio)
        return
    result.set_result(matched(recording.audio, recording.loudness, level))
