"""The real devices around a live session: the microphone feeding the run loop and the
speaker pulling the guide's voice, both watched so that a device that vanishes pauses the
session (it says so), is retried, and resumes the session when it is back."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator

import numpy as np

from voice_guide.commands import Command
from voice_guide.runner import SessionRunner
from voice_guide.session import Heard, Phase
from voice_guide.speech_in.sources import DeviceError, MicrophoneSource
from voice_guide.speech_out.device import OutputDevice
from voice_guide.speech_out.errors import OutputDeviceError


class DeviceWatch:
    """Pauses the session when a device goes away and resumes it when every device is back;
    a session the person had paused themselves stays paused."""

    def __init__(self, runner: SessionRunner, clock: Callable[[], float]) -> None:
        self._runner = runner
        self._clock = clock
        self._lost: set[str] = set()
        self._paused_by_us = False

    def lost(self, device: str, reason: str) -> None:
        """`device` ('microphone' or 'speaker') stopped working."""
        if device in self._lost:
            return
        self._lost.add(device)
        now = self._clock()
        message = f"The {device} stopped working ({reason}); pausing and retrying."
        print(f"voice-guide: {message}", file=sys.stderr, flush=True)
        self._runner.transcript.write(now, "fault", device=device, message=message)
        if self._runner.state.phase not in (Phase.PAUSED, Phase.ENDED):
            self._paused_by_us = True
            self._runner.dispatch(Heard(Command.PAUSE, f"{device} lost"), now)
            self._runner.speaker.say(f"The {device} stopped working. I have paused.")

    def back(self, device: str) -> None:
        """`device` works again."""
        if device not in self._lost:
            return
        self._lost.discard(device)
        now = self._clock()
        self._runner.transcript.write(now, "recovered", device=device)
        print(f"voice-guide: the {device} is back.", file=sys.stderr, flush=True)
        if not self._lost and self._paused_by_us and self._runner.state.phase is Phase.PAUSED:
            self._paused_by_us = False
            self._runner.dispatch(Heard(Command.RESUME, f"{device} back"), now)


def microphone_blocks(
    device: str | int | None, watch: DeviceWatch, *, silence_timeout: float, retry_every: float
) -> Iterator[np.ndarray]:
    """Blocks from the microphone for as long as the caller wants; `silence_timeout` seconds
    without audio count as the device gone, and it is reopened every `retry_every` seconds
    (the stream clock simply stands still while it is gone). Values: wiring.LiveSettings."""
    while True:
        try:
            with MicrophoneSource(device) as microphone:
                for block in microphone.chunks(timeout=silence_timeout):
                    watch.back("microphone")  # only once audio really flows again
                    yield block
                return
        except DeviceError as error:
            watch.lost("microphone", str(error))
            time.sleep(retry_every)


class SpeakerKeeper:
    """Keeps the output stream open: called every block, it notices a stream that died and
    reopens it (no more often than every `retry_every` seconds)."""

    def __init__(self, output: OutputDevice, watch: DeviceWatch, retry_every: float) -> None:
        self._output = output
        self._watch = watch
        self._retry_every = retry_every
        self._next_try = 0.0

    def check(self) -> None:
        """Called from the run loop once per block."""
        if self._output.active:
            return
        now = time.monotonic()
        if now < self._next_try:
            return
        self._next_try = now + self._retry_every
        self._watch.lost("speaker", "the output stream stopped")
        self._output.close()
        try:
            self._output.start()
        except OutputDeviceError:
            return
        self._watch.back("speaker")
