"""Audio samples as the listener sees them: 16 kHz mono float32 in [-1, 1].

Every source (microphone, WAV file, virtual room) converts to this one format before the
listener, so stream time is simply `samples fed / SAMPLE_RATE`.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
import soxr

__all__ = [
    "CHUNK_SECONDS",
    "SAMPLE_RATE",
    "AudioFormatError",
    "WavAudio",
    "read_wav",
    "resample",
    "to_float32",
    "to_int16_bytes",
]

SAMPLE_RATE: Final = 16000
"""Rate of every sample the listener receives (Hz)."""

CHUNK_SECONDS: Final = 0.02
"""Chunk length used to stream files, like a microphone callback would (seconds)."""

_PCM: Final = 1
_FLOAT: Final = 3
_EXTENSIBLE: Final = 0xFFFE


class AudioFormatError(ValueError):
    """The input is not audio this program can read; the message says why in one sentence."""


@dataclass(frozen=True)
class WavAudio:
    """Decoded WAV content, mixed to mono float32 at its original rate."""

    samples: np.ndarray
    sample_rate: int

    @property
    def seconds(self) -> float:
        """Duration in seconds."""
        return len(self.samples) / self.sample_rate


def to_float32(samples: np.ndarray) -> np.ndarray:
    """Return mono float32 in [-1, 1]; int16 input is scaled by 1/32768, float passes through."""
    samples = np.asarray(samples)
    if samples.dtype == np.int16:
        return samples.astype(np.float32) / 32768.0
    if samples.dtype.kind == "f":
        return samples.astype(np.float32, copy=False)
    raise TypeError(f"audio samples must be int16 or float, got {samples.dtype}")


def to_int16_bytes(samples: np.ndarray) -> bytes:
    """Float32 [-1, 1] samples as little-endian 16-bit PCM bytes (what the engines decode)."""
    return (np.clip(samples, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()


def resample(samples: np.ndarray, from_rate: int, to_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Resample mono float32 audio (soxr, high quality); a no-op when the rates match."""
    if from_rate == to_rate:
        return samples
    return soxr.resample(samples, from_rate, to_rate).astype(np.float32, copy=False)


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
    return samples.reshape(-1, channels).mean(axis=1).astype(np.float32)


def read_wav(path: Path) -> WavAudio:
    """Read any PCM (8/16/24/32-bit) or float (32/64-bit) WAV file, mixed down to mono.

    Raises AudioFormatError with a one-sentence reason for anything else.
    """
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise AudioFormatError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise AudioFormatError(f"{path} is not a WAV file (no RIFF/WAVE header)")
    fmt_chunk: tuple[int, int, int, int] | None = None
    pos = 12
    while pos + 8 <= len(data):
        chunk_id, size = data[pos : pos + 4], struct.unpack("<I", data[pos + 4 : pos + 8])[0]
        body = data[pos + 8 : pos + 8 + size]
        if chunk_id == b"fmt " and len(body) >= 16:
            fmt, channels, rate, _, _, bits = struct.unpack("<HHIIHH", body[:16])
            if fmt == _EXTENSIBLE and len(body) >= 26:
                fmt = struct.unpack("<H", body[24:26])[0]  # first two bytes of the subformat GUID
            fmt_chunk = (fmt, channels, rate, bits)
        elif chunk_id == b"data":
            if fmt_chunk is None:
                raise AudioFormatError(f"{path} has audio data before its format chunk")
            fmt, channels, rate, bits = fmt_chunk
            if channels < 1 or rate < 1000 or bits % 8:
                raise AudioFormatError(f"{path} has an invalid WAV format chunk")
            return WavAudio(_decode(body, fmt, bits, channels), rate)
        pos += 8 + size + (size & 1)  # chunks are padded to even length
    raise AudioFormatError(f"{path} has no audio data chunk")
