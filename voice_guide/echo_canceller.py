"""Removing the guide's own voice from the microphone before the listener hears it.

The guide knows exactly what it played (the Playback keeps the pulled samples), so the
echo at the microphone is that signal delayed and scaled by the room. The canceller
estimates the delay and gain from the last seconds of both signals (cross-correlation,
least squares) and subtracts the estimate from every block. A person talking over the
guide is uncorrelated with what was played, so it survives; the listener then hears "ouch"
instead of a long stretch of guide speech with "ouch" buried in it.

One delay and one gain model the direct path well (the virtual room, a PulseAudio loop,
a speaker close to the microphone); a reverberant room leaves its reverberation in the
residual, which the self-voice gate still checks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from voice_guide.audio_ring import AudioRing
from voice_guide.speech_in.audio import SAMPLE_RATE, resample
from voice_guide.speech_out.playback import Playback

MAX_DELAY = 0.6
"""Longest speaker-to-microphone delay searched, seconds."""
WINDOW = 2.0
"""Seconds of signal each estimate is made from."""
REESTIMATE_EVERY = 0.5
"""Seconds between estimates while the guide is speaking."""
MIN_PLAYED_RMS = 1e-3
"""Below this the guide was silent: nothing to learn the echo from."""
MIN_FIT = 0.3
"""Share of the microphone's energy the echo must explain before it is trusted (double
talk or no echo at all gives a poor fit: keep the previous estimate)."""


@dataclass(frozen=True)
class EchoPath:
    """The speaker-to-microphone path: delay in samples (16 kHz) and gain."""

    delay: int
    gain: float


class EchoCanceller:
    """Block-by-block echo removal for a 16 kHz microphone stream.

    `process(block, start)` takes the block and the playback-clock time of its first
    sample; it returns the block with the estimated echo subtracted."""

    def __init__(self, playback: Playback) -> None:
        self.playback = playback
        self.path: EchoPath | None = None
        self._mic = AudioRing(round(WINDOW * SAMPLE_RATE))
        self._since_estimate = 0

    def process(self, block: np.ndarray, start: float) -> np.ndarray:
        """The block minus the guide's echo (unchanged until an echo path is known)."""
        self._mic.write(block)
        self._since_estimate += len(block)
        end = start + len(block) / SAMPLE_RATE
        if self._since_estimate >= REESTIMATE_EVERY * SAMPLE_RATE:
            self._since_estimate = 0
            self._estimate(end)
        if self.path is None:
            return block
        delay = self.path.delay / SAMPLE_RATE
        echo = self._played(start - delay, end - delay, len(block))
        return block - self.path.gain * echo

    def _played(self, start: float, end: float, count: int) -> np.ndarray:
        played = self.playback.played(start, end)
        played = resample(played, self.playback.sample_rate)
        if len(played) != count:  # rounding at a resampled edge: pad or trim to the block
            played = np.resize(played, count) if len(played) else np.zeros(count, np.float32)
        return played.astype(np.float32, copy=False)

    def _estimate(self, end: float) -> None:
        n = round(WINDOW * SAMPLE_RATE)
        mic = self._mic.read(self._mic.frames - n, self._mic.frames)
        lead = round(MAX_DELAY * SAMPLE_RATE)
        played = self._played(end - (n + lead) / SAMPLE_RATE, end, n + lead)
        if float(np.sqrt(np.mean(played**2))) < MIN_PLAYED_RMS:
            return
        fit = best_fit(mic, played)
        if fit is not None:
            lag, gain, share = fit
            if share >= MIN_FIT:
                self.path = EchoPath(delay=lead - lag, gain=gain)


def best_fit(mic: np.ndarray, played: np.ndarray) -> tuple[int, float, float] | None:
    """The window of `played` (as long as `mic`, starting at some lag) that, scaled, best
    explains `mic`: (lag, gain, share of mic energy explained). None if nothing fits."""
    n = len(mic)
    mic_energy = float(np.dot(mic, mic))
    if n == 0 or mic_energy <= 0.0 or len(played) < n:
        return None
    lags = len(played) - n + 1
    size = 1 << int(np.ceil(np.log2(len(played) + n)))
    spectrum = np.fft.rfft(played, size) * np.conj(np.fft.rfft(mic, size))
    correlation = np.fft.irfft(spectrum, size)[:lags]
    power = np.concatenate([[0.0], np.cumsum(played.astype(np.float64) ** 2)])
    energy = np.maximum(power[n : n + lags] - power[:lags], 1e-12)
    explained = correlation**2 / energy
    lag = int(np.argmax(explained))
    if energy[lag] <= 1e-9:
        return None
    return lag, float(correlation[lag] / energy[lag]), float(explained[lag] / mic_energy)
