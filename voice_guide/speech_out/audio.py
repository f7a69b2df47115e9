"""AudioBuffer: mono float32 samples with their rate, the unit speech-out passes around."""

from __future__ import annotations

import io
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import soxr


@dataclass(frozen=True, eq=False)
class AudioBuffer:
    """Mono audio: float32 samples in [-1, 1] at `sample_rate` Hz."""

    samples: np.ndarray
    sample_rate: int

    @property
    def seconds(self) -> float:
        """Duration in seconds."""
        return len(self.samples) / self.sample_rate

    @property
    def peak(self) -> float:
        """Largest absolute sample value (0.0 for silence)."""
        return float(np.max(np.abs(self.samples))) if len(self.samples) else 0.0

    def resampled(self, sample_rate: int) -> AudioBuffer:
        """The same audio at another rate (soxr, high quality); self when the rate matches."""
        if sample_rate == self.sample_rate:
            return self
        samples = soxr.resample(self.samples, self.sample_rate, sample_rate, quality="HQ")
        return AudioBuffer(np.ascontiguousarray(samples, dtype=np.float32), sample_rate)

    @classmethod
    def from_wav_bytes(cls, data: bytes) -> AudioBuffer:
        """Decode a 16-bit PCM WAV (mono or the first channel of several)."""
        with wave.open(io.BytesIO(data), "rb") as wav:
            if wav.getsampwidth() != 2:
                raise ValueError(f"expected 16-bit PCM, got {8 * wav.getsampwidth()}-bit")
            channels = wav.getnchannels()
            pcm = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
            rate = wav.getframerate()
        samples = pcm[::channels].astype(np.float32) / 32768.0
        return cls(samples, rate)

    def to_wav_bytes(self) -> bytes:
        """Encode as a 16-bit PCM mono WAV."""
        out = io.BytesIO()
        self._write_wav(out)
        return out.getvalue()

    def write_wav(self, path: str | Path) -> None:
        """Write as a 16-bit PCM mono WAV file."""
        with open(path, "wb") as file:
            self._write_wav(file)

    def _write_wav(self, file: BinaryIO) -> None:
        with wave.open(file, "wb") as wav:
            wav.setnchannels(1)
            wav.setsampwidth(2)
            wav.setframerate(self.sample_rate)
            # In chunks: a whole session track is tens of minutes; one int16 copy of it all
            # would double the peak memory for nothing.
            chunk = 1 << 20
            for start in range(0, len(self.samples), chunk):
                part = np.clip(self.samples[start : start + chunk], -1.0, 1.0) * 32767.0
                wav.writeframes(part.round().astype("<i2").tobytes())
