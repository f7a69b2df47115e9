"""The audio output: a PortAudio OutputStream whose callback only pulls from a Playback.

Opened at the device's own default rate (the Playback and the render cache use that rate,
so nothing is resampled in the callback), mono, 20 ms blocks. Output and input are always
separate streams (a full-duplex stream on a PulseAudio null sink recorded only silence).
Closing uses abort(): stop() drains the buffer and took 1.45 s on a null sink.
"""

from __future__ import annotations

import difflib
import time
from dataclasses import dataclass
from types import ModuleType, TracebackType
from typing import Any, Final

import numpy as np

from voice_guide.speech_out.errors import OutputDeviceError
from voice_guide.speech_out.playback import Playback

BLOCK_SECONDS: Final = 0.02
"""Callback block length: stop() is heard within about one block plus the device latency."""

NO_DEVICE_HINT: Final = (
    "use --text to print what the guide says, or `voice-guide render ROUTINE -o session.wav` "
    "to make an audio file to play elsewhere"
)


@dataclass(frozen=True)
class OutputDeviceInfo:
    """One PortAudio device that can play sound."""

    index: int
    name: str
    sample_rate: int
    """The device's default rate in Hz: open and render at this rate."""
    channels: int
    """Maximum output channels."""


def _sounddevice() -> ModuleType:
    try:
        import sounddevice
    except OSError as exc:  # sounddevice raises OSError when libportaudio is not found
        raise OutputDeviceError(
            "Audio output needs PortAudio: install the Debian package libportaudio2 "
            f"(sudo apt install libportaudio2), or {NO_DEVICE_HINT}."
        ) from exc
    return sounddevice


def output_devices() -> list[OutputDeviceInfo]:
    """Every device with at least one output channel."""
    sd = _sounddevice()
    return [
        OutputDeviceInfo(
            d["index"], d["name"], int(d["default_samplerate"]), d["max_output_channels"]
        )
        for d in sd.query_devices()
        if d["max_output_channels"] > 0
    ]


def find_output_device(spec: int | str | None = None) -> OutputDeviceInfo:
    """The output device `spec` names: None = the system default, an index, or (part of) a
    name, case-insensitive. OutputDeviceError (one sentence, with the choices) otherwise."""
    devices = output_devices()
    if not devices:
        raise OutputDeviceError(f"No audio output device was found; {NO_DEVICE_HINT}.")
    listing = ", ".join(f"{d.index}: {d.name}" for d in devices)
    if spec is None:
        default = _sounddevice().default.device[1]
        return next((d for d in devices if d.index == default), devices[0])
    if isinstance(spec, int) or spec.strip().isdigit():
        index = int(spec)
        for device in devices:
            if device.index == index:
                return device
        raise OutputDeviceError(f"There is no output device {index}; choose one of: {listing}.")
    wanted = spec.strip().lower()
    exact = [d for d in devices if d.name.lower() == wanted]
    partial = [d for d in devices if wanted in d.name.lower()]
    if exact or len(partial) == 1:
        return (exact or partial)[0]
    if partial:
        names = ", ".join(f"{d.index}: {d.name}" for d in partial)
        raise OutputDeviceError(f"Output device {spec!r} is ambiguous; give one of: {names}.")
    close = difflib.get_close_matches(spec, [d.name for d in devices], n=1, cutoff=0.4)
    hint = f"did you mean {close[0]!r}? Devices: " if close else "choose one of: "
    raise OutputDeviceError(f"There is no output device {spec!r}; {hint}{listing}.")


class OutputDevice:
    """Plays a Playback on a real device. Use as a context manager, or start()/close()."""

    def __init__(self, playback: Playback, device: OutputDeviceInfo) -> None:
        """`playback.sample_rate` should be `device.sample_rate` (PortAudio may refuse others)."""
        self._playback = playback
        self.device = device
        self.underflows = 0
        """Callbacks PortAudio flagged as output underflow (the callback was late)."""
        self._stream: Any = None

    def _callback(self, outdata: Any, frames: int, time: Any, status: Any) -> None:
        # The real-time thread: pull (a short lock and a copy), nothing else.
        if status.output_underflow:
            self.underflows += 1
        self._playback.pull_into(outdata[:, 0])

    def start(self) -> None:
        """Open and start the stream (OutputDeviceError with one sentence when it fails)."""
        sd = _sounddevice()
        rate = self._playback.sample_rate
        try:
            self._stream = sd.OutputStream(
                samplerate=rate,
                blocksize=int(rate * BLOCK_SECONDS),
                device=self.device.index,
                channels=1,
                dtype="float32",
                latency="low",
                callback=self._callback,
            )
            self._stream.start()
        except sd.PortAudioError as exc:
            self._stream = None
            raise OutputDeviceError(
                f"Could not open output device {self.device.index} ({self.device.name}) at "
                f"{rate} Hz: {exc}; try another --output-device, or {NO_DEVICE_HINT}."
            ) from exc

    def play_and_wait(self, samples: np.ndarray, text: str) -> None:
        """Play `samples` (at the playback's rate) after anything queued and return once they
        have reached the speaker; OutputDeviceError when the device does not play them."""
        handle = self._playback.play(samples, text)
        # Generous: a PulseAudio null sink can take up to 2 s to start pulling.
        if not handle.wait(handle.seconds + 5.0):
            raise OutputDeviceError(
                f"The output device {self.device.name!r} did not play the audio."
            )
        time.sleep(self.latency + BLOCK_SECONDS)  # let the last block reach the speaker

    @property
    def latency(self) -> float:
        """Seconds from a pulled sample to the speaker, as PortAudio reports it (0 if closed)."""
        return float(self._stream.latency) if self._stream is not None else 0.0

    @property
    def active(self) -> bool:
        """True while the stream runs (False after close or when the device went away)."""
        return self._stream is not None and bool(self._stream.active)

    def close(self) -> None:
        """Abort (instant, no draining) and close the stream; safe to call twice."""
        stream, self._stream = self._stream, None
        if stream is not None:
            sd = _sounddevice()
            try:
                stream.abort()
                stream.close()
            except sd.PortAudioError:
                pass  # the device vanished: nothing left to close

    def __enter__(self) -> OutputDevice:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
