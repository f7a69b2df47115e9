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


def test_the_guide_keeps_playing_while_pocketsphinx_decodes(pulse_null_sink: NullSink, tmp_path):
    """A decoding holds the GIL for its whole length; in the session's process it starved the
    output callback and the guide's voice stuttered. The decoder runs in a child process, so
    the speaker's clock keeps pace with the wall clock while an utterance is decoded."""
    from spoken import synthesize

    from voice_guide.speech_out import OutputDevice, Playback, find_output_device

    recognizer = PocketSphinxRecognizer(vocabulary("en"))
    speech = synthesize(tmp_path, "did you see the game last night it went on for hours", "rms")
    utterance = np.tile(speech, 3)  # a long utterance: the decoding takes a while
    device = find_output_device("pulse")
    playback = Playback(device.sample_rate)
    tone = np.sin(np.arange(10 * device.sample_rate) * 0.05).astype(np.float32) * 0.1
    with OutputDevice(playback, device):
        playback.play(tone, "a long sentence")
        deadline = time.monotonic() + 5
        while playback.clock < 0.5 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert playback.clock >= 0.5, "the null sink did not start playing"
        wall, played = time.monotonic(), playback.clock
        recognizer.score(utterance)
        wall, played = time.monotonic() - wall, playback.clock - played
    assert wall > 0.2, f"the decoding took only {wall:.2f} s: too short to tell"
    assert played > 0.8 * wall, f"the speaker played {played:.2f} s during {wall:.2f} s"
