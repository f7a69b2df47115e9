"""Audio as the listener sees it: 16 kHz mono float32 in [-1, 1].

Every source (microphone, WAV file, virtual room) converts to this one rate before the
listener, so stream time is simply `samples fed / SAMPLE_RATE`. The audio type, the WAV
reader and the resampler are shared with speech out: they live in `voice_guide.audio`.
"""

from __future__ import annotations

from typing import Final

import numpy as np

from voice_guide.audio import AudioFormatError, read_wav, to_int16_bytes
from voice_guide.audio import resample as _resample

__all__ = [
    "CHUNK_SECONDS",
    "SAMPLE_RATE",
    "AudioFormatError",
    "read_wav",
    "resample",
    "to_float32",
    "to_int16_bytes",
]

SAMPLE_RATE: Final = 16000
"""Rate of every sample the listener receives (Hz)."""

CHUNK_SECONDS: Final = 0.02
"""Chunk length used to stream files, like a microphone callback would (seconds)."""


def resample(samples: np.ndarray, from_rate: int) -> np.ndarray:
    """Mono float32 audio at `from_rate` as the listener's 16 kHz samples."""
    return _resample(samples, from_rate, SAMPLE_RATE)


def to_float32(samples: np.ndarray) -> np.ndarray:
    """Return mono float32 in [-1, 1]; int16 input is scaled by 1/32768, float passes through."""
    samples = np.asarray(samples)
    if samples.dtype == np.int16:
        return samples.astype(np.float32) / 32768.0
    if samples.dtype.kind == "f":
        return samples.astype(np.float32, copy=False)
    raise TypeError(f"audio samples must be int16 or float, got {samples.dtype}")
