"""AudioBuffer: mono float32 samples with their rate, the one audio type of speech in and out.

Also the one WAV reader (any PCM or float WAV file, mixed down to mono), the one resampler
(soxr) and the one float -> 16-bit PCM conversion: the listener's sources, the renderer, the
render cache and the virtual room all go through these.
"""

from __future__ import annotations

import io
import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import BinaryIO, Final

import numpy as np
import soxr

from voice_guide.errors import VoiceGuideError
from voice_guide.files import open_regular

__all__ = [
    "AudioBuffer",
    "AudioFormatError",
    "WavFile",
    "WavFormat",
    "read_wav",
    "read_wav_header",
    "resample",
    "to_int16_bytes",
]

_PCM: Final = 1
_FLOAT: Final = 3
_EXTENSIBLE: Final = 0xFFFE


class AudioFormatError(VoiceGuideError, ValueError):
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
        AudioFormatError message calls it. No frames at all is an empty buffer here."""
        stream = io.BytesIO(data)
        wav = read_wav_header(stream, len(data), name)
        return cls(_decode(stream.read(wav.data_bytes), wav), wav.sample_rate)


@dataclass(frozen=True)
class WavFormat:
    """What a WAV header says, checked: the audio is `data_bytes` from `data_start`."""

    encoding: int
    """_PCM or _FLOAT."""
    channels: int
    sample_rate: int
    """Frames per second (Hz)."""
    bits: int
    """Bits per sample of one channel."""
    data_start: int
    data_bytes: int
    """Whole frames only (a trailing partial frame is not audio)."""

    @property
    def frame_bytes(self) -> int:
        """Bytes of one frame (one sample of every channel)."""
        return self.bits // 8 * self.channels

    @property
    def frames(self) -> int:
        """How many frames the file holds."""
        return self.data_bytes // self.frame_bytes

    @property
    def seconds(self) -> float:
        """Duration in seconds."""
        return self.frames / self.sample_rate


# Format codes a WAV header may carry that are not PCM or float, named for the message.
_OTHER_FORMATS: Final = {
    2: "Microsoft ADPCM",
    6: "A-law (G.711)",
    7: "µ-law (G.711)",
    0x11: "IMA ADPCM",
    0x31: "GSM 6.10",
    0x50: "MPEG",
    0x55: "MP3",
}
_SAMPLE_BITS: Final = {_PCM: (8, 16, 24, 32), _FLOAT: (32, 64)}
MIN_RATE: Final = 1000
MAX_RATE: Final = 384_000
MAX_CHANNELS: Final = 32
_MAX_CHUNKS: Final = 1000
"""Chunks read before the audio: a real file has a handful, junk could have millions."""
_UNKNOWN_SIZE: Final = 0xFFFFFFFF
"""A data size streaming writers leave in the header: the audio runs to the end of the file."""
_CONVERT: Final = "convert it to 16-bit PCM WAV (e.g. `sox IN.wav -e signed -b 16 OUT.wav`)"


def read_wav_header(stream: BinaryIO, size: int, name: str) -> WavFormat:
    """Check the header of a WAV file of `size` bytes read from `stream` (positioned at its
    start) and leave `stream` at the first audio byte. Raises AudioFormatError saying in one
    sentence what is wrong and what to do."""
    head = stream.read(12)
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        raise AudioFormatError(f"{name} is not a WAV file (no RIFF/WAVE header)")
    fmt_body: bytes | None = None
    pos = 12
    for _ in range(_MAX_CHUNKS):
        chunk = stream.read(8)
        if len(chunk) < 8:
            raise AudioFormatError(f"{name} has no audio data chunk (only a header?)")
        chunk_id, chunk_size = chunk[:4], struct.unpack("<I", chunk[4:])[0]
        pos += 8
        if chunk_id == b"data":
            if fmt_body is None:
                raise AudioFormatError(f"{name} has audio data before its format chunk")
            return _checked(fmt_body, pos, chunk_size, size, name)
        if chunk_id == b"fmt ":
            fmt_body = stream.read(min(chunk_size, 64))
        pos += chunk_size + (chunk_size & 1)  # chunks are padded to even length
        stream.seek(pos)
    raise AudioFormatError(f"{name} has more than {_MAX_CHUNKS} chunks before its audio")


def _checked(body: bytes, start: int, declared: int, size: int, name: str) -> WavFormat:
    if len(body) < 16:
        raise AudioFormatError(f"{name} has a damaged format chunk — export the file again")
    encoding, channels, rate, _, _, bits = struct.unpack("<HHIIHH", body[:16])
    if encoding == _EXTENSIBLE and len(body) >= 26:
        encoding = struct.unpack("<H", body[24:26])[0]  # first two bytes of the GUID
    if encoding not in _SAMPLE_BITS:
        kind = _OTHER_FORMATS.get(encoding, f"format code {encoding}")
        raise AudioFormatError(f"{name} holds {kind} audio, which cannot be read — {_CONVERT}")
    if not 1 <= channels <= MAX_CHANNELS:
        raise AudioFormatError(
            f"{name} says it has {channels} channels (1 to {MAX_CHANNELS} can be read) — "
            "the header is damaged; export the file again"
        )
    if not MIN_RATE <= rate <= MAX_RATE:
        raise AudioFormatError(
            f"{name} says its sample rate is {rate:,} Hz ({MIN_RATE:,} to {MAX_RATE:,} Hz "
            "can be read) — the header is damaged; export the file again"
        )
    kind = "float" if encoding == _FLOAT else "PCM"
    if bits not in _SAMPLE_BITS[encoding]:
        raise AudioFormatError(f"{name} holds {bits}-bit {kind} samples — {_CONVERT}")
    wav = WavFormat(encoding, channels, rate, bits, start, 0)
    available = max(0, size - start)
    if declared == _UNKNOWN_SIZE:
        declared = available
    elif declared > available:
        promised = replace(wav, data_bytes=declared - declared % wav.frame_bytes)
        held = replace(wav, data_bytes=available - available % wav.frame_bytes)
        raise AudioFormatError(
            f"{name} is cut short: its header promises {promised.seconds:.2f} s of audio but "
            f"the file holds {held.seconds:.2f} s — export or copy it again"
        )
    return replace(wav, data_bytes=declared - declared % wav.frame_bytes)


def _decode(data: bytes, wav: WavFormat) -> np.ndarray:
    """Interleaved frames -> mono float32."""
    raw = data[: len(data) - len(data) % wav.frame_bytes]
    if wav.encoding == _FLOAT:
        samples = np.frombuffer(raw, dtype="<f4" if wav.bits == 32 else "<f8").astype(np.float32)
    elif wav.bits == 8:
        samples = (np.frombuffer(raw, dtype=np.uint8).astype(np.float32) - 128.0) / 128.0
    elif wav.bits == 16:
        samples = np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0
    elif wav.bits == 24:
        b = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        ints = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
        ints = np.where(ints >= 1 << 23, ints - (1 << 24), ints)
        samples = ints.astype(np.float32) / float(1 << 23)
    else:
        samples = np.frombuffer(raw, dtype="<i4").astype(np.float32) / float(1 << 31)
    if wav.channels == 1:
        return samples
    return samples.reshape(-1, wav.channels).mean(axis=1).astype(np.float32)


class WavFile:
    """A WAV file read block by block: memory stays bounded whatever its length.

    Opens only a regular file (a FIFO or device cannot hang it) and checks the header at
    once; a file without a single frame of audio is refused. Use as a context manager.
    """

    def __init__(self, path: str | Path) -> None:
        self.name = str(path)
        try:
            self._file = open_regular(path)
        except OSError as exc:
            raise AudioFormatError(f"cannot read {path}: {exc.strerror or exc}") from exc
        try:
            size = os.fstat(self._file.fileno()).st_size
            self.format = read_wav_header(self._file, size, self.name)
            if self.format.frames == 0:
                raise AudioFormatError(
                    f"{self.name} holds no audio, only a header — record or export it again"
                )
        except BaseException:
            self._file.close()
            raise

    def blocks(self, frames: int = 16384) -> Iterator[np.ndarray]:
        """The audio, mono float32 at the file's own rate, `frames` frames at a time."""
        wav = self.format
        self._file.seek(wav.data_start)
        left = wav.data_bytes
        while left > 0:
            data = self._file.read(min(left, frames * wav.frame_bytes))
            if not data:
                raise AudioFormatError(f"{self.name} got shorter while it was read")
            left -= len(data)
            yield _decode(data, wav)

    def close(self) -> None:
        """Close the file."""
        self._file.close()

    def __enter__(self) -> WavFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_wav(path: str | Path) -> AudioBuffer:
    """Read a whole PCM (8/16/24/32-bit) or float (32/64-bit) WAV file, mixed down to mono at
    its own rate (for long files, stream `WavFile.blocks` instead). Raises AudioFormatError
    with a one-sentence reason for anything else."""
    with WavFile(path) as wav:
        return AudioBuffer(np.concatenate(list(wav.blocks())), wav.format.sample_rate)
