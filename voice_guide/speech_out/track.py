"""One audio track of timed sentences (`voice-guide render`): each at its time, silence (or
a soft bed) between them, an earcon before any sentence that asks for one.

Speech out knows no routine: the caller turns a session's timeline into `TrackItem`s.
Written to the WAV file as it goes, so a 40-minute track never sits in memory. Sentences are
placed at their time or right after the previous one when the real speech ran longer than
planned, so nothing overlaps and the length stays close to the plan's.
"""

from __future__ import annotations

import wave
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Final, Literal

import numpy as np

from voice_guide.audio import to_int16_bytes
from voice_guide.speech_out.cache import RenderCache
from voice_guide.speech_out.earcons import earcon

Bed = Literal["none", "pink"]
BEDS: Final = ("none", "pink")

BED_RMS: Final = 0.006
"""Pink-noise bed level (about -44 dBFS RMS): audible in a quiet room, never over the voice."""
_EARCON_GAP: Final = 0.15
"""Seconds between an earcon and the sentence after it."""


@dataclass(frozen=True)
class TrackItem:
    """One sentence of a track."""

    t: float
    """Seconds from the start of the track (it waits for the sentence before it)."""
    text: str
    earcon: str | None = None
    """An earcon played just before it (see earcons.EARCON_NAMES)."""


def _pink_loop(sample_rate: int, seconds: float = 20.0, seed: int = 7) -> np.ndarray:
    # Shaped in the frequency domain, so the loop is periodic: tiling it has no seam.
    n = int(sample_rate * seconds)
    spectrum = np.random.default_rng(seed).standard_normal(n // 2 + 1) * (1 + 0j)
    spectrum *= np.exp(2j * np.pi * np.random.default_rng(seed + 1).random(n // 2 + 1))
    freqs = np.fft.rfftfreq(n, 1 / sample_rate)
    spectrum[1:] /= np.sqrt(freqs[1:])
    spectrum[0] = 0
    noise = np.fft.irfft(spectrum, n)
    return (noise * (BED_RMS / np.sqrt(np.mean(noise**2)))).astype(np.float32)


class _TrackWriter:
    """Appends audio to a 16-bit mono WAV; gaps are filled with the bed (or silence)."""

    def __init__(self, file: wave.Wave_write, sample_rate: int, bed: Bed) -> None:
        self._file = file
        self._rate = sample_rate
        self._bed = _pink_loop(sample_rate) if bed == "pink" else None
        self.frames = 0

    @property
    def seconds(self) -> float:
        return self.frames / self._rate

    def _bed_slice(self, count: int) -> np.ndarray:
        if self._bed is None:
            return np.zeros(count, dtype=np.float32)
        index = (self.frames + np.arange(count)) % len(self._bed)
        return self._bed[index]

    def write(self, audio: np.ndarray) -> None:
        """Audio now (over the bed)."""
        for start in range(0, len(audio), 1 << 18):
            part = audio[start : start + (1 << 18)]
            mixed = part + self._bed_slice(len(part))
            self._file.writeframes(to_int16_bytes(mixed))
            self.frames += len(part)

    def pad_to(self, seconds: float) -> None:
        """Bed or silence until `seconds` (nothing when already past it)."""
        missing = round(seconds * self._rate) - self.frames
        if missing > 0:
            self.write(np.zeros(missing, dtype=np.float32))


def render_track(
    items: Sequence[TrackItem],
    length: float,
    cache: RenderCache,
    target: str | Path | BinaryIO,
    end_earcon: str | None = None,
    bed: Bed = "none",
    progress: Callable[[int], None] | None = None,
) -> float:
    """Write `items` as a WAV to `target` (a path or a binary file) at `cache.sample_rate`,
    padded to `length` seconds, then `end_earcon`; returns its length in seconds.
    `progress(1)` is called after each item. Raises RenderError when a sentence cannot be
    rendered (a track needs them all)."""
    if bed not in BEDS:
        raise ValueError(f"unknown bed {bed!r}; choose from {', '.join(BEDS)}")
    rate = cache.sample_rate
    for item in items:
        cache.prerender(item.text)  # the worker renders ahead while we write
    with wave.open(str(target) if isinstance(target, Path) else target, "wb") as file:
        file.setnchannels(1)
        file.setsampwidth(2)
        file.setframerate(rate)
        track = _TrackWriter(file, rate, bed)
        for item in items:
            track.pad_to(item.t)
            if item.earcon:
                track.write(earcon(item.earcon, rate))
                track.pad_to(track.seconds + _EARCON_GAP)
            track.write(cache.get(item.text).samples)
            if progress:
                progress(1)
        track.pad_to(length)
        if end_earcon:
            track.write(earcon(end_earcon, rate))
    return track.seconds
