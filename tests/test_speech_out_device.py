"""Speech out against a real PortAudio output: a PulseAudio null sink (no sound card needed).

The sink's monitor is recorded through a separate input stream, so these tests hear what was
really played, and when it really stopped.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import pytest

from voice_guide.speech_out import (
    EspeakRenderer,
    GuideSpeaker,
    OutputDevice,
    OutputDeviceError,
    Playback,
    RenderCache,
    VoiceSettings,
    find_output_device,
    output_devices,
)

if TYPE_CHECKING:
    from audio_devices import NullSink

pytest_plugins = ["audio_devices"]
pytestmark = [pytest.mark.devices, pytest.mark.audio]

LONG_TEXT = (
    "Place your palms flat on the lower back. Glide slowly up to the shoulders and back down "
    "along the sides, keeping your hands in contact the whole time. Let the pressure build "
    "a little with every stroke, and keep breathing slowly."
)


class _Monitor:
    """Records the null sink's monitor: (arrival time, block peak) per 10 ms block."""

    def __init__(self, sample_rate: int) -> None:
        import sounddevice as sd

        self.blocks: list[tuple[float, float]] = []
        self._lock = threading.Lock()
        self.stream = sd.InputStream(
            samplerate=sample_rate,
            channels=1,
            blocksize=sample_rate // 100,
            latency="low",
            callback=self._callback,
        )

    def _callback(self, indata: np.ndarray, frames: int, info: object, status: object) -> None:
        peak = float(np.max(np.abs(indata)))
        with self._lock:
            self.blocks.append((time.perf_counter(), peak))

    def loud_times(self, threshold: float = 0.02) -> list[float]:
        with self._lock:
            return [t for t, peak in self.blocks if peak > threshold]

    def seconds(self) -> float:
        with self._lock:
            return len(self.blocks) / 100


def _wait(condition: Callable[[], bool], timeout: float, what: Callable[[], str]) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:g} s waiting for {what()}")
        time.sleep(0.002)


def test_stop_cuts_real_playback_within_50_ms(pulse_null_sink: NullSink) -> None:
    info = find_output_device("default")
    renderer = EspeakRenderer(VoiceSettings(voice="en-us"))
    cache = RenderCache(renderer, info.sample_rate)
    playback = Playback(info.sample_rate)
    speaker = GuideSpeaker(cache, playback)
    speaker.prerender(LONG_TEXT)
    monitor = _Monitor(info.sample_rate)
    with OutputDevice(playback, info) as device:
        monitor.stream.start()
        try:
            # A null sink idles on a 2 s timer: the first blocks can take that long to flow.
            _wait(
                lambda: playback.clock > 0.2 and monitor.seconds() > 0.2,
                10.0,
                lambda: f"the streams (played {playback.clock} s, heard {monitor.seconds()} s)",
            )
            handle = speaker.say(LONG_TEXT)
            assert handle.seconds > 8.0
            _wait(
                lambda: handle.start is not None and playback.clock > handle.start + 1.0,
                10.0,
                lambda: f"speech (started {handle.start}, clock {playback.clock})",
            )
            before_stop = playback.clock
            stopped_at = time.perf_counter()
            speaker.stop()
            stop_returned = time.perf_counter() - stopped_at
            _wait(lambda: playback.clock > before_stop, 1.0, lambda: "the next pull")
            next_pull = time.perf_counter() - stopped_at
            time.sleep(0.4)
            loud = monitor.loud_times()
        finally:
            monitor.stream.abort()
            monitor.stream.close()
        assert device.underflows < 10  # the callback only copies: it keeps up
    assert stop_returned < 0.02  # a lock held for one block copy, plus at worst a GIL switch
    assert next_pull < 0.05, f"the next pull came {next_pull * 1000:.0f} ms after stop()"
    assert handle.stopped and handle.done
    assert before_stop <= handle.end <= before_stop + 0.045  # cut at the next block or two
    assert handle.end - handle.start < handle.seconds - 5.0
    # The speech was really played (the monitor heard it) and really stopped: no loud block
    # arrives later than the output block size + device and input latency after stop().
    assert any(t < stopped_at for t in loud), "the monitor never heard the speech"
    last_loud = max(loud) - stopped_at
    assert last_loud < 0.15, f"still heard {last_loud * 1000:.0f} ms after stop()"


def test_output_device_lookup(pulse_null_sink: NullSink) -> None:
    devices = output_devices()
    names = [d.name for d in devices]
    assert "pulse" in names and all(d.sample_rate > 0 for d in devices)
    pulse = find_output_device("PULSE")
    assert pulse.name == "pulse"
    assert find_output_device(pulse.index) == pulse
    assert find_output_device(str(pulse.index)) == pulse
    with pytest.raises(OutputDeviceError, match=r"did you mean 'pulse'"):
        find_output_device("puls-audio")
    with pytest.raises(OutputDeviceError, match="no output device 99"):
        find_output_device(99)


def test_short_utterance_plays_to_the_end(pulse_null_sink: NullSink) -> None:
    info = find_output_device("pulse")
    playback = Playback(info.sample_rate)
    cache = RenderCache(EspeakRenderer(VoiceSettings(voice="en-us")), info.sample_rate)
    audio = cache.get("That feels great.")
    with OutputDevice(playback, info) as device:
        assert device.active and device.latency > 0
        handle = playback.play(audio.samples, "That feels great.")
        assert handle.wait(audio.seconds + 5.0)
    assert not handle.stopped
    assert handle.end - handle.start == pytest.approx(audio.seconds, abs=1e-6)
    assert not device.active
