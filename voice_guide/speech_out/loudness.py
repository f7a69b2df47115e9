"""Loudness (ITU-R BS.1770, through pyloudnorm) and matching one clip's loudness to another's.

A recorded clip plays at the synthetic voice's loudness, so a session that mixes the giver's
recordings with synthesized sentences never jumps in level. BS.1770 weighs the spectrum the
way ears do (K-weighting) and gates out silence, which a plain RMS does not: a breathy take
and espeak-ng's bright voice at the same RMS sound several dB apart.
"""

from __future__ import annotations

from typing import Final

import numpy as np

from voice_guide.audio import AudioBuffer

SILENT: Final = -70.0
"""LUFS given for audio with nothing above BS.1770's absolute gate (-70 LUFS)."""
PEAK_LIMIT: Final = 0.95
"""Matching never raises a clip's peak above this (no clipping; a quiet, peaky take stays a
little under the target instead)."""
_BLOCK: Final = 0.4
"""BS.1770's gating block (seconds): shorter clips are measured looped to this length."""


def loudness(audio: AudioBuffer) -> float:
    """Integrated loudness in LUFS (SILENT for silence or empty audio)."""
    import pyloudnorm  # lazy: scipy behind it costs a quarter second at import

    samples = audio.samples.astype(np.float64)
    if not len(samples) or not np.any(samples):
        return SILENT
    minimum = round(_BLOCK * audio.sample_rate) + 1
    if len(samples) < minimum:
        # Looping a clip leaves its loudness unchanged and gives the meter a whole block.
        samples = np.resize(samples, minimum)
    value = pyloudnorm.Meter(audio.sample_rate).integrated_loudness(samples)
    return max(SILENT, float(value)) if np.isfinite(value) else SILENT


def gain_to(audio: AudioBuffer, measured: float, target: float) -> float:
    """The linear gain that brings audio of `measured` LUFS to `target` LUFS, held down so
    its peak stays at or under PEAK_LIMIT."""
    gain = float(10.0 ** ((target - measured) / 20.0))
    peak = audio.peak
    return min(gain, PEAK_LIMIT / peak) if peak > 0 else gain


def matched(audio: AudioBuffer, measured: float, target: float) -> AudioBuffer:
    """`audio` (of `measured` LUFS) scaled to `target` LUFS (see gain_to)."""
    gain = gain_to(audio, measured, target)
    return AudioBuffer((audio.samples * gain).astype(np.float32), audio.sample_rate)
