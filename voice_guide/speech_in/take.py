"""Takes: one spoken line recorded from the microphone (or a file), cut to the speech.

`record_take` starts on speech and stops on silence with the listener's own VAD and
segmenter, only with a pause long enough for someone reading a sentence aloud and no limit
short of a minute. `trim_to_speech` cuts a recording made elsewhere the same way, and
`take_problem` refuses what should not be kept (no speech, clipped), in one sentence.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Final

import numpy as np

from voice_guide.audio import AudioBuffer
from voice_guide.speech_in.audio import SAMPLE_RATE, resample
from voice_guide.speech_in.vad import FRAME_SAMPLES, Segmenter, SegmenterSettings, Vad

CLIP_LEVEL: Final = 0.99
"""A sample at or above this (of full scale) is taken as clipped."""
CLIPPED_SHARE: Final = 0.001
"""A take with more clipped samples than this share is distorted (a few isolated peaks at
full scale are not audible)."""
QUIET_PEAK: Final = 0.01
"""A take whose loudest sample stays under this (-40 dBFS) is taken for silence."""


@dataclass(frozen=True)
class TakeSettings:
    """How a take starts and ends."""

    wait: float = 20.0
    """Seconds to wait for the first word before giving up."""
    end_wait: float = 1.2
    """Silence after the last word that ends the take (seconds): longer than the pause
    between two sentences read aloud."""
    pre_roll: float = 0.3
    """Audio kept before the first voiced frame (seconds)."""
    tail: float = 0.25
    """Audio kept after the last voiced frame (seconds): the end of the last word."""
    max_length: float = 60.0
    """A take longer than this is refused (seconds)."""

    def segmenter(self) -> SegmenterSettings:
        """The segmenter settings for these takes."""
        return SegmenterSettings(
            end_wait=self.end_wait, pre_roll=self.pre_roll, max_length=self.max_length
        )


@dataclass(frozen=True, eq=False)
class Take:
    """How one attempt at recording ended."""

    audio: AudioBuffer | None
    """The speech, trimmed; None when there is none."""
    problem: str | None = None
    """Why there is no take, one sentence (None: a take, or the caller stopped it)."""


def record_take(
    blocks: Iterable[np.ndarray],
    vad: Vad,
    settings: TakeSettings | None = None,
    stop: Callable[[], bool] = lambda: False,
    sample_rate: int = SAMPLE_RATE,
) -> Take:
    """Listen to `blocks` (mono float32 at `sample_rate`) until a line has been spoken and
    followed by silence; the take keeps that rate (the VAD hears a 16 kHz copy). `stop()` is
    asked after every block (the person typed skip or quit)."""
    import soxr

    settings = settings or TakeSettings()
    segmenter = Segmenter(vad, settings.segmenter())
    end_frames = segmenter.settings.frames(settings.end_wait)
    to_vad = soxr.ResampleStream(sample_rate, SAMPLE_RATE, 1, dtype="float32")
    scale = sample_rate / SAMPLE_RATE
    heard: list[np.ndarray] = []
    pending = np.zeros(0, dtype=np.float32)
    start: int | None = None
    for block in blocks:
        heard.append(block)
        vad_block = block if sample_rate == SAMPLE_RATE else to_vad.resample_chunk(block)
        pending = np.concatenate([pending, vad_block])
        while len(pending) >= FRAME_SAMPLES:
            frame, pending = pending[:FRAME_SAMPLES], pending[FRAME_SAMPLES:]
            event = segmenter.process(frame)
            if event is None:
                continue
            if event.kind == "start":
                start = round(((event.frame_index + 1) * FRAME_SAMPLES - len(event.audio)) * scale)
            elif event.kind == "drop":
                return Take(None, f"The take ran over {settings.max_length:g} s without a pause.")
            elif event.kind == "end" and start is not None:
                last = round((event.frame_index + 1 - end_frames) * FRAME_SAMPLES * scale)
                end = last + round(settings.tail * sample_rate)
                audio = np.concatenate(heard)[start:end]
                return Take(AudioBuffer(audio, sample_rate))
        if stop():
            return Take(None)
        if start is None and sum(map(len, heard)) > settings.wait * sample_rate:
            return Take(None, f"Nothing was heard for {settings.wait:g} s.")
    return Take(None, "The microphone stopped sending audio.")


def speech_span(audio: AudioBuffer, vad: Vad, threshold: float = 0.5) -> tuple[int, int] | None:
    """First and last sample (at the audio's own rate) of the frames `vad` calls speech."""
    samples = resample(audio.samples, audio.sample_rate)
    vad.reset()
    voiced = [
        n
        for n in range(len(samples) // FRAME_SAMPLES)
        if vad.probability(samples[n * FRAME_SAMPLES : (n + 1) * FRAME_SAMPLES]) >= threshold
    ]
    if not voiced:
        return None
    scale = audio.sample_rate / SAMPLE_RATE
    return round(voiced[0] * FRAME_SAMPLES * scale), round((voiced[-1] + 1) * FRAME_SAMPLES * scale)


def trim_to_speech(audio: AudioBuffer, vad: Vad, settings: TakeSettings | None = None) -> Take:
    """`audio` (any rate) cut to its speech with the take's margins; no take without speech."""
    settings = settings or TakeSettings()
    span = speech_span(audio, vad)
    if span is None:
        return Take(None, "No speech was heard in it.")
    first = max(0, span[0] - round(settings.pre_roll * audio.sample_rate))
    last = span[1] + round(settings.tail * audio.sample_rate)
    return Take(AudioBuffer(audio.samples[first:last], audio.sample_rate))


def take_problem(audio: AudioBuffer) -> str | None:
    """Why a take must not be kept (silent, clipped), as one sentence; None when it is fine."""
    if audio.peak < QUIET_PEAK:
        return (
            "The take is silent: speak closer to the microphone or raise its input level, "
            "then try again."
        )
    clipped = int(np.count_nonzero(np.abs(audio.samples) >= CLIP_LEVEL))
    if clipped > max(3, CLIPPED_SHARE * len(audio.samples)):
        return (
            "The take is clipped (too loud for the microphone): move back a little or lower "
            "its input level, then try again."
        )
    return None
