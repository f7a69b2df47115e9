"""AudioBuffer: mono float32 samples with their rate, the one audio type of speech in and out.

Also the one WAV reader (any PCM or float WAV file, mixed down to mono), the one resampler
(soxr) and the one float -> 16-bit PCM conversion: the listener's sources, the renderer, the
render cache and the virtual room all go through these.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
import soxr

__all__ = [
    "AudioBuffer",
    "AudioFormatError",
    "read_wav",
    "resample",
    "to_int16_bytes",
]

_PCM: Final = 1
_FLOAT: Final = 3
_EXTENSIBLE: Final = 0xFFFE


class AudioFormatError(ValueError):
    """The input is not audio this program can read; the message says why in one sentence."""


def resample(samples: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """Mono float32 audio at `to_rate` (soxr, high quality); `samples` itself when the rates
    match."""
    if from_rate == to_rate:
        return samples
    return np.ascontiguousarray(soxr.resample(samples, from_rate, to_rate), dtype=np.float32)


def to_int16_bytes(samples: np.ndarray) -> bytes:
    """Float32 [-1, 1] samples as little-endian 16-bit PCM bytes (WAV frames, and what the
    recognizers decode)."""
    return (np.clip(samples, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()


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
        """The same audio at another rate (see `resample`); self when the rate matches."""
        if sample_rate == self.sample_rate:
            return self
        return AudioBuffer(resample(self.samples, self.sample_rate, sample_rate), sample_rate)

    @classmethod
    def from_wav_bytes(cls, data: bytes, name: str = "the WAV data") -> AudioBuffer:
        """Decode the content of a WAV file (any format `read_wav` takes); `name` is what an
        AudioFormatError message calls it."""
        if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
            raise AudioFormatError(f"{name} is not a WAV file (no RIFF/WAVE header)")
        fmt_chunk: tuple[int, int, int, int] | None = None
        pos = 12
        while pos + 8 <= len(data):
            chunk_id, size = data[pos : pos + 4], struct.unpack("<I", data[pos + 4 : pos + 8])[0]
            body = data[pos + 8 : pos + 8 + size]
            if chunk_id == b"fmt " and len(body) >= 16:
                fmt, channels, rate, _, _, bits = struct.unpack("<HHIIHH", body[:16])
                if fmt == _EXTENSIBLE and len(body) >= 26:
                    fmt = struct.unpack("<H", body[24:26])[0]  # first two bytes of the GUID
                fmt_chunk = (fmt, channels, rate, bits)
            elif chunk_id == b"data":
                if fmt_chunk is None:
                    raise AudioFormatError(f"{name} has audio data before its format chunk")
                fmt, channels, rate, bits = fmt_chunk
                if channels < 1 or rate < 1000 or bits % 8:
                    raise AudioFormatError(f"{name} has an invalid WAV format chunk")
                return cls(_decode(body, fmt, bits, channels), rate)
            pos += 8 + size + (size & 1)  # chunks are padded to even length
        raise AudioFormatError(f"{name} has no audio data chunk")


def _decode(data: bytes, fmt: int, bits: int, channels: int) -> np.ndarray:
    """Interleaved frames -> mono float32."""
    width = bits // 8
    usable = len(data) - len(data) % (width * channels)
    raw = data[:usable]
    if fmt == _FLOAT and bits in (32, 64):
        samples = np.frombuffer(raw, dtype="<f4" if bits == 32 else "<f8").astype(np.float32)
    elif fmt == _PCM and bits == 8:
        samples = (np.frombuffer(raw, dtype=np.uint8).astype(np.float32) - 128.0) / 128.0
    elif fmt == _PCM and bits == 16:
        samples = np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0
    elif fmt == _PCM and bits == 24:
        b = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        ints = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
        ints = np.where(ints >= 1 << 23, ints - (1 << 24), ints)
        samples = ints.astype(np.float32) / float(1 << 23)
    elif fmt == _PCM and bits == 32:
        samples = np.frombuffer(raw, dtype="<i4").astype(np.float32) / float(1 << 31)
    else:
        kind = "float" if fmt == _FLOAT else "PCM"
        raise AudioFormatError(f"unsupported WAV sample format: {bits}-bit {kind}")
    if channels == 1:
        return samples
    return samples.reshape(-1, channels).mean(axis=1).astype(np.float32)


def read_wav(path: str | Path) -> AudioBuffer:
    """Read any PCM (8/16/24/32-bit) or float (32/64-bit) WAV file, mixed down to mono at its
    own rate. Raises AudioFormatError with a one-sentence reason for anything else."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise AudioFormatError(f"cannot read {path}: {exc.strerror or exc}") from exc
    return AudioBuffer.from_wav_bytes(data, str(path))
