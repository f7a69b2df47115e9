"""Audio sources: each yields consecutive chunks of 16 kHz mono float32 for Listener.feed().

- FileSource: a WAV file (any rate, format, channels) in 20 ms chunks, as fast as the CPU
  allows: the same path a microphone takes, so file tests exercise the live code.
- MicrophoneSource: sounddevice RawInputStream at the device's own rate; the callback only
  copies bytes into a queue; resampling to 16 kHz (soxr) happens on the consumer side.
- QueueSource: audio pushed from another thread (the virtual room).
"""

from __future__ import annotations

import queue
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from voice_guide.audio import WavFile
from voice_guide.errors import VoiceGuideError
from voice_guide.speech_in.audio import CHUNK_SECONDS, SAMPLE_RATE

__all__ = [
    "AudioSource",
    "DeviceError",
    "FileSource",
    "MicrophoneSource",
    "QueueSource",
    "describe_devices",
    "resolve_input_device",
]

_CHUNK = round(CHUNK_SECONDS * SAMPLE_RATE)


class AudioSource(Protocol):
    """Something that produces the listener's audio."""

    def chunks(self) -> Iterator[np.ndarray]:
        """Consecutive 16 kHz mono float32 chunks until the source ends."""
        ...


class DeviceError(VoiceGuideError, RuntimeError):
    """An audio device cannot be found or opened; the message names the fix."""


class FileSource:
    """A WAV file streamed in 20 ms chunks, read and resampled block by block (memory stays
    bounded whatever the file's length). Raises AudioFormatError for non-audio files."""

    def __init__(self, path: Path) -> None:
        # Opened and checked at construction: the caller reports a bad file before listening.
        self._wav = WavFile(path)

    def chunks(self) -> Iterator[np.ndarray]:
        """The file's audio in 20 ms chunks at 16 kHz (the last one may be shorter)."""
        import soxr

        rate = self._wav.format.sample_rate
        resampler = soxr.ResampleStream(rate, SAMPLE_RATE, 1, dtype="float32")
        pending = np.zeros(0, dtype=np.float32)
        with self._wav:
            blocks = self._wav.blocks()
            for block, last in _with_last(blocks):
                out = block if rate == SAMPLE_RATE else resampler.resample_chunk(block, last)
                pending = np.concatenate([pending, out])
                whole = len(pending) - len(pending) % _CHUNK
                yield from (pending[i : i + _CHUNK] for i in range(0, whole, _CHUNK))
                pending = pending[whole:]
        if len(pending):
            yield pending


def _with_last(items: Iterator[np.ndarray]) -> Iterator[tuple[np.ndarray, bool]]:
    """Each item with whether it is the last one (the resampler flushes on the last)."""
    previous = next(items, None)
    for item in items:
        yield previous, False
        previous = item
    if previous is not None:
        yield previous, True


class QueueSource:
    """Audio pushed by another thread; `close()` ends the stream."""

    def __init__(self) -> None:
        self._queue: queue.Queue[np.ndarray | None] = queue.Queue()

    def push(self, samples: np.ndarray) -> None:
        """Add 16 kHz mono float32 audio (never blocks)."""
        self._queue.put(np.asarray(samples, dtype=np.float32).reshape(-1))

    def close(self) -> None:
        """End of stream."""
        self._queue.put(None)

    def chunks(self) -> Iterator[np.ndarray]:
        """Chunks in the order pushed, until close()."""
        while (chunk := self._queue.get()) is not None:
            yield chunk


@dataclass(frozen=True)
class DeviceInfo:
    """One PortAudio device."""

    index: int
    name: str
    inputs: int
    outputs: int
    sample_rate: float


def _devices() -> list[DeviceInfo]:
    try:
        import sounddevice as sd

        return [
            DeviceInfo(
                i,
                d["name"],
                d["max_input_channels"],
                d["max_output_channels"],
                d["default_samplerate"],
            )
            for i, d in enumerate(sd.query_devices())
        ]
    except (OSError, ImportError) as exc:  # PortAudio library missing
        raise DeviceError(
            f"cannot use PortAudio ({exc}); install it, e.g. sudo apt install libportaudio2"
        ) from exc


def describe_devices() -> list[str]:
    """One line per device: index, direction, channels, default rate, name."""
    lines = []
    for d in _devices():
        kind = "/".join(k for k, n in (("in", d.inputs), ("out", d.outputs)) if n) or "-"
        lines.append(
            f"{d.index:3d}  {kind:6s}  in:{d.inputs:<3d} out:{d.outputs:<3d} "
            f"{d.sample_rate:7.0f} Hz  {d.name}"
        )
    return lines


def resolve_input_device(spec: str | int | None) -> int | None:
    """An input device index from an index or a (case-insensitive) name fragment.

    None means the system default. Raises DeviceError listing the inputs when nothing matches.
    """
    if spec is None:
        return None
    inputs = [d for d in _devices() if d.inputs > 0]
    listing = "; ".join(f"{d.index}: {d.name}" for d in inputs) or "none found"
    text = str(spec).strip()
    if text.isdigit():
        if any(d.index == int(text) for d in inputs):
            return int(text)
        raise DeviceError(f"no input device with index {text}; inputs: {listing}")
    matches = [d for d in inputs if text.lower() in d.name.lower()]
    if not matches:
        raise DeviceError(f"no input device named like {text!r}; inputs: {listing}")
    return matches[0].index


class MicrophoneSource:
    """A live input device, opened at its own rate and resampled to 16 kHz.

    Use as a context manager; `chunks()` runs until `stop()` (from another thread) or forever.
    """

    def __init__(self, device: str | int | None = None, block_seconds: float = 0.02) -> None:
        self.device = resolve_input_device(device)
        self.block_seconds = block_seconds
        self._queue: queue.Queue[bytes | None] = queue.Queue()
        self._stream = None
        self.overflows = 0

    def _callback(self, data, frames, time_info, status) -> None:
        # PortAudio thread: copy and enqueue only, never block or decode here.
        if status.input_overflow:
            self.overflows += 1
        self._queue.put(bytes(data))

    def __enter__(self) -> MicrophoneSource:
        import sounddevice as sd

        try:
            info = sd.query_devices(self.device, "input")
            self.rate = int(info["default_samplerate"])
            self._stream = sd.RawInputStream(
                samplerate=self.rate,
                blocksize=int(self.rate * self.block_seconds),
                device=self.device,
                channels=1,
                dtype="int16",
                callback=self._callback,
            )
            self._stream.start()
        except (sd.PortAudioError, ValueError) as exc:
            listing = "; ".join(describe_devices()) or "no devices"
            raise DeviceError(
                f"cannot open the microphone ({exc}); pick one with --input-device: {listing}"
            ) from exc
        return self

    def __exit__(self, *exc: object) -> None:
        if self._stream is not None:
            self._stream.abort()  # stop() would drain for over a second
            self._stream.close()
            self._stream = None

    def stop(self) -> None:
        """End `chunks()` (thread-safe)."""
        self._queue.put(None)

    def chunks(
        self, timeout: float | None = None, sample_rate: int = SAMPLE_RATE
    ) -> Iterator[np.ndarray]:
        """Float32 chunks at `sample_rate` (the listener's 16 kHz unless asked otherwise: a
        recording keeps more) as they arrive, resampled on this (consumer) thread.

        With `timeout`, raises DeviceError when no audio arrives for that many seconds
        (a device that vanished stops calling back rather than failing)."""
        import soxr

        resampler = soxr.ResampleStream(self.rate, sample_rate, 1, dtype="float32")
        while (data := self._next(timeout)) is not None:
            samples = np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0
            yield resampler.resample_chunk(samples)

    def _next(self, timeout: float | None) -> bytes | None:
        try:
            return self._queue.get(timeout=timeout)
        except queue.Empty:
            raise DeviceError(f"the microphone sent no audio for {timeout:g} s") from None
