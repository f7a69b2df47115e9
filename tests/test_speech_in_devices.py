"""The microphone path on real PortAudio devices (PulseAudio null sink, no sound card):
speech played into the room comes back through MicrophoneSource -> Listener."""

from __future__ import annotations

import subprocess
import threading
import time
from typing import TYPE_CHECKING

import numpy as np
import pytest
from click.testing import CliRunner

from voice_guide.cli import _register, cli
from voice_guide.commands import Command, vocabulary
from voice_guide.speech_in import DeviceError, Listener, MicrophoneSource
from voice_guide.speech_in.audio import read_wav
from voice_guide.speech_in.pocketsphinx_engine import PocketSphinxRecognizer
from voice_guide.speech_in.sources import resolve_input_device

if TYPE_CHECKING:
    from audio_devices import NullSink

pytest_plugins = ["audio_devices"]
pytestmark = [pytest.mark.audio, pytest.mark.devices]


def test_microphone_hears_a_command_played_into_the_room(pulse_null_sink: NullSink, tmp_path):
    import sounddevice as sd

    path = tmp_path / "lighter.wav"
    subprocess.run(
        ["flite", "-voice", "slt", "-t", "a little lighter", "-o", str(path)], check=True
    )
    wav = read_wav(path)
    listener = Listener(PocketSphinxRecognizer(vocabulary("en")))
    detections = []
    with MicrophoneSource("pulse") as microphone:

        def play() -> None:
            time.sleep(0.5)  # room tone first, as in a real session
            sd.play(wav.samples, wav.sample_rate, device="pulse", blocking=True)
            time.sleep(1.0)
            microphone.stop()

        player = threading.Thread(target=play, daemon=True)
        player.start()
        for chunk in microphone.chunks():
            detections += listener.feed(chunk)
        player.join(timeout=10)
    assert microphone.rate > 0
    assert [d.command for d in detections] == [Command.LIGHTER]
    heard = detections[0]
    # Stream clock: the phrase starts after the room tone (less the device's start-up latency).
    assert 0.1 < heard.start < heard.end <= heard.detected_at < listener.stream_time


def test_input_device_by_index_or_name_and_a_clear_error(pulse_null_sink: NullSink):
    index = resolve_input_device("pulse")
    assert isinstance(index, int)
    assert resolve_input_device(str(index)) == index
    assert resolve_input_device(None) is None
    with pytest.raises(DeviceError, match=r"no input device named like 'no-such-mic'.*pulse"):
        resolve_input_device("no-such-mic")


def test_devices_command_lists_the_pulse_device(pulse_null_sink: NullSink):
    _register()
    result = CliRunner().invoke(cli, ["devices"])
    assert result.exit_code == 0
    assert any(line.endswith(" pulse") and "in/out" in line for line in result.stdout.splitlines())
    assert np.all([line.split()[0].isdigit() for line in result.stdout.splitlines()])
