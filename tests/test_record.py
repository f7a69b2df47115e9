"""`voice-guide record`: the giver's own voice, recorded through real devices (a PulseAudio
null sink, a person's reading played into it with paplay), imported from a folder, checked
for staleness, and played by `render` and `demo` in place of the synthetic voice."""

from __future__ import annotations

import functools
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from voice_guide.audio import AudioBuffer, read_wav
from voice_guide.cli import cli
from voice_guide.library import read_routine
from voice_guide.recordings import MANIFEST, RecordingsError, RecordingStore, open_recordings
from voice_guide.routine.timeline import build_timeline
from voice_guide.speech_in.audio import SAMPLE_RATE
from voice_guide.speech_in.take import record_take, take_problem, trim_to_speech
from voice_guide.speech_in.vad import SileroVad
from voice_guide.speech_out.renderer import EspeakRenderer, VoiceSettings
from voice_guide.spoken_lines import Line, spoken_lines

if TYPE_CHECKING:
    from audio_devices import NullSink

pytest_plugins = ["audio_devices"]
pytestmark = pytest.mark.audio

ROUTINE = """\
title: Tiny
steps:
  - id: rest
    say: Rest your palms on the shoulders and breathe slowly.
    duration: 20s
    area: shoulders
    cues:
      - at: 10s
        say: Now glide them outward.
  - id: close
    say: Sweep your palms down the back, three times.
    duration: 15s
"""
REST = "Rest your palms on the shoulders and breathe slowly."
GLIDE = "Now glide them outward."


def _routine(tmp_path: Path, text: str = ROUTINE) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(text)
    return path


def _flite(text: str, path: Path, voice: str = "rms") -> Path:
    subprocess.run(["flite", "-voice", voice, "-t", text, "-o", str(path)], check=True)
    return path


def _find(track: AudioBuffer, clip: AudioBuffer) -> tuple[float, float]:
    """(seconds, normalized cross-correlation) of the best match of `clip` in `track`."""
    x = track.samples.astype(np.float64)
    c = clip.resampled(track.sample_rate).samples.astype(np.float64)
    size = 1 << int(np.ceil(np.log2(len(x) + len(c))))
    corr = np.fft.irfft(np.fft.rfft(x, size) * np.conj(np.fft.rfft(c, size)), size)
    corr = corr[: len(x) - len(c) + 1]
    summed = np.concatenate([[0.0], np.cumsum(x**2)])
    energy = np.sqrt(np.maximum(summed[len(c) :] - summed[: -len(c)], 0.0)) * np.linalg.norm(c)
    ncc = np.where(energy > 1e-3 * energy.max(), corr / np.maximum(energy, 1e-12), 0.0)
    best = int(np.argmax(ncc))
    return best / track.sample_rate, float(ncc[best])


def _clip_of(routine: Path, text: str) -> AudioBuffer:
    store = open_recordings(read_routine(routine))
    clip = store.clip(text)
    assert clip is not None, f"no recording of {text!r}: {store.clips}"
    return read_wav(store.folder / clip.file)


def _numbers(routine: Path) -> dict[str, int]:
    return {line.text: n for n, line in enumerate(spoken_lines(read_routine(routine)), 1)}


# -- what can be recorded (the state machine alone) ----------------------------------------------


def test_lines_are_what_the_session_says_with_their_source_and_no_times() -> None:
    lines = spoken_lines(read_routine("neck-and-shoulders"))
    texts = [line.text for line in lines]
    assert len(texts) == len(set(texts))
    assert texts[0].startswith("Welcome. Today: Neck and shoulders.")
    say = next(line for line in lines if line.key == "step neck.say")
    assert say.kind == "instruction" and say.loc == ("steps", 3, "say")
    # Said only when the recipient asked to leave the neck out.
    assert any(t.startswith("Leaving out the neck") for t in texts)
    assert "Paused. Say continue when you are ready." in texts  # the session's own prompt
    assert any(t.startswith("Firm. ") for t in texts)  # composed: level name + technique
    assert not any(" left" in t and "minute" in t for t in texts)  # time left changes
    assert not any(t.startswith(("Continuing.", "Welcome back.")) for t in texts)


# -- takes: start on speech, stop on silence, refuse what should not be kept ----------------------


def test_silent_and_clipped_takes_are_refused_in_one_sentence(tmp_path: Path) -> None:
    speech = read_wav(_flite(REST, tmp_path / "rest.wav"))
    assert take_problem(speech) is None
    quiet = AudioBuffer(speech.samples * (0.005 / speech.peak), speech.sample_rate)
    loud = AudioBuffer(np.clip(speech.samples * 8, -1, 1), speech.sample_rate)
    for audio, word in ((quiet, "silent"), (loud, "clipped")):
        problem = take_problem(audio)
        assert problem is not None and word in problem
        assert problem.count(".") == 1 and problem.endswith("try again.")


def test_a_take_starts_on_speech_stops_on_silence_and_gives_up_on_nothing(tmp_path) -> None:
    speech = read_wav(_flite(REST, tmp_path / "rest.wav")).resampled(SAMPLE_RATE)
    silence = np.zeros(SAMPLE_RATE * 3, dtype=np.float32)
    stream = np.concatenate([silence, speech.samples, silence, speech.samples])
    blocks = [stream[i : i + 320] for i in range(0, len(stream), 320)]
    take = record_take(iter(blocks), SileroVad())
    assert take.audio is not None and take.problem is None
    # Only the first reading, from just before its first word to just after its last.
    assert abs(take.audio.seconds - speech.seconds) < 0.6
    start, score = _find(AudioBuffer(stream, SAMPLE_RATE), take.audio)
    assert score > 0.99 and 2.4 < start < 3.0
    # At the rate clips are kept (the VAD hears a 16 kHz copy), cut at the same places.
    rate = 22050
    high = AudioBuffer(stream, SAMPLE_RATE).resampled(rate).samples
    kept = record_take(iter(np.array_split(high, 400)), SileroVad(), sample_rate=rate).audio
    assert kept is not None and kept.sample_rate == rate
    assert abs(kept.seconds - take.audio.seconds) < 0.05
    assert abs(_find(AudioBuffer(high, rate), kept)[0] - start) < 0.05
    nothing = record_take(iter([silence[:320]] * 200), SileroVad(), stop=lambda: False)
    assert nothing.audio is None and nothing.problem == "The microphone stopped sending audio."
    from voice_guide.speech_in.take import TakeSettings

    waited = record_take(iter([silence[:320]] * 300), SileroVad(), TakeSettings(wait=2.0))
    assert waited.problem == "Nothing was heard for 2 s."
    assert trim_to_speech(AudioBuffer(silence, SAMPLE_RATE), SileroVad()).audio is None


# -- recording on real devices, then render --------------------------------------------------------


def _record_process(routine: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "voice_guide", "record", str(routine), "--wait", "8"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


@pytest.mark.devices
def test_record_through_the_null_sink_then_render_plays_the_clips_at_their_times(
    pulse_null_sink: NullSink, tmp_path: Path
) -> None:
    routine = _routine(tmp_path)
    readings = {REST: _flite(REST, tmp_path / "rest.wav"), GLIDE: _flite(GLIDE, tmp_path / "g.wav")}
    pulse = {**os.environ, "XDG_RUNTIME_DIR": str(pulse_null_sink.runtime_dir)}
    process = _record_process(routine)
    assert process.stdin and process.stdout
    # Line 1 (the welcome) is skipped while it waits; REST is kept; GLIDE is recorded, redone
    # and kept; then stop (the rest is left for later).
    script = {"skip": ["s"], REST: [""], GLIDE: ["r", ""]}
    current, shown, log = "", [], []
    deadline = time.monotonic() + 120
    for out in process.stdout:
        log.append(out.rstrip())
        assert time.monotonic() < deadline, log
        if out.startswith("  "):
            current = out.strip()
            shown.append(current)
        elif out.startswith("Recording:"):
            if current in readings:
                subprocess.run(["paplay", str(readings[current])], env=pulse, check=True)
            else:
                answer = script["skip"].pop() if script["skip"] else "q"
                process.stdin.write(answer + "\n")
                process.stdin.flush()
        elif out.startswith("Enter"):
            process.stdin.write(script[current].pop(0) + "\n")
            process.stdin.flush()
    process.wait(timeout=30)
    err = process.stderr.read() if process.stderr else ""
    assert process.returncode == 0, (log, err)
    assert shown[:3] == [shown[0], REST, GLIDE] and shown[0].startswith("Welcome.")
    assert sum(line.startswith("Recording:") for line in log) == 5  # skip, 1, 2 + redo, stop
    assert "Kept 2 recordings" in log[-1]

    store = open_recordings(read_routine(routine))
    assert {clip.text for clip in store.clips} == {REST, GLIDE}
    assert {clip.key for clip in store.clips} == {"step rest.say", "step rest.cues.0.say"}
    for text, reading in readings.items():
        clip = _clip_of(routine, text)
        _, score = _find(clip, read_wav(reading).resampled(clip.sample_rate))
        assert score > 0.8, text  # what was played into the room is what was kept
    listed = CliRunner().invoke(cli, ["record", str(routine), "--list"]).output.splitlines()
    assert [row.split()[1] for row in listed[:3]] == ["missing", "recorded", "recorded"]

    track_path = tmp_path / "session.wav"
    result = CliRunner().invoke(cli, ["render", str(routine), "-o", str(track_path)])
    assert result.exit_code == 0, result.output
    track = read_wav(track_path)
    entries = {e.text: e.t for e in build_timeline(read_routine(routine).routine).entries}
    for text in (REST, GLIDE):
        at, score = _find(track, _clip_of(routine, text))
        assert score > 0.99, text
        # At its time on the timeline, or just after the speech before it ran over.
        assert entries[text] - 0.01 <= at <= entries[text] + 1.5, (text, at, entries[text])


# -- importing, stale recordings, bad files ------------------------------------------------


def test_from_dir_matches_numbers_first_words_and_refuses_the_rest(tmp_path: Path) -> None:
    routine = _routine(tmp_path)
    phone = tmp_path / "phone"
    phone.mkdir()
    numbers = _numbers(routine)
    _flite(REST, phone / f"{numbers[REST]:02d} rest.wav")
    _flite(GLIDE, phone / "now glide them.wav", voice="slt")
    (phone / "notes.txt").write_text("my take list")
    shutil.copy(phone / f"{numbers[REST]:02d} rest.wav", phone / "99.wav")
    result = CliRunner().invoke(cli, ["record", str(routine), "--from-dir", str(phone)])
    assert result.exit_code == 1
    assert "Imported 2 recordings" in result.output
    assert "99.wav: not imported: there is no line 99" in result.output
    assert "notes.txt: not imported: only WAV files" in result.output
    store = open_recordings(read_routine(routine))
    assert {clip.text for clip in store.clips} == {REST, GLIDE}
    # Every clip is at the synthetic voice's loudness, whatever the phone recorded at.
    assert len({round(clip.loudness) for clip in store.clips}) == 1

    # A recordings folder copied from elsewhere imports by its manifest.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    other = _routine(elsewhere)
    result = CliRunner().invoke(cli, ["record", str(other), "--from-dir", str(store.folder)])
    assert result.exit_code == 0, result.output
    assert {clip.text for clip in open_recordings(read_routine(other)).clips} == {REST, GLIDE}


def test_from_dir_refuses_silent_and_clipped_clips_in_one_sentence(tmp_path: Path) -> None:
    routine = _routine(tmp_path)
    phone = tmp_path / "phone"
    phone.mkdir()
    numbers = _numbers(routine)
    speech = read_wav(_flite(REST, tmp_path / "rest.wav"))
    _write_wav(phone / f"{numbers[REST]}.wav", np.clip(speech.samples * 8, -1, 1), speech)
    _write_wav(phone / f"{numbers[GLIDE]}.wav", np.zeros(22050, dtype=np.float32), speech)
    result = CliRunner().invoke(cli, ["record", str(routine), "--from-dir", str(phone)])
    assert result.exit_code == 1
    assert f"{numbers[REST]}.wav: not imported: The take is clipped" in result.output
    assert f"{numbers[GLIDE]}.wav: not imported: No speech was heard in it." in result.output
    assert "Imported 0 recordings" in result.output
    assert not (tmp_path / "tiny.recordings" / MANIFEST).exists()


def _write_wav(path: Path, samples: np.ndarray, like: AudioBuffer) -> None:
    from voice_guide.recordings import _wav_bytes

    path.write_bytes(_wav_bytes(AudioBuffer(samples.astype(np.float32), like.sample_rate)))


def _import(routine: Path, tmp_path: Path, *texts: str) -> None:
    phone = tmp_path / "phone"
    phone.mkdir(exist_ok=True)
    numbers = _numbers(routine)
    for text in texts:
        _flite(text, phone / f"{numbers[text]}.wav")
    result = CliRunner().invoke(cli, ["record", str(routine), "--from-dir", str(phone)])
    assert result.exit_code == 0, result.output


def test_check_warns_about_stale_and_missing_recordings(tmp_path: Path) -> None:
    routine = _routine(tmp_path)
    quiet = CliRunner().invoke(cli, ["check", str(routine)])
    assert quiet.exit_code == 0 and quiet.output.strip().endswith(": ok")  # never recorded
    _import(routine, tmp_path, REST, GLIDE)
    routine.write_text(ROUTINE.replace("breathe slowly", "breathe deeply"))
    result = CliRunner().invoke(cli, ["check", str(routine)])
    lines = result.output.splitlines()
    stale = [line for line in lines if "recording of this line says" in line]
    assert stale == [
        f"{routine}:4:10: warning: the recording of this line says 'Rest your palms on the "
        "shoulders and breathe sl...', not the text written here, so the synthetic voice says "
        f"it — record it again: voice-guide record {routine}"
    ]
    assert any("have no recording and use the synthetic voice" in line for line in lines)
    strict = CliRunner().invoke(cli, ["check", "--strict", str(routine)])
    assert strict.exit_code == 1
    listed = CliRunner().invoke(cli, ["record", str(routine), "--list"]).output
    assert "stale     Rest your palms on the shoulders and breathe deeply." in listed


def test_a_broken_manifest_is_located_and_never_overwritten(tmp_path: Path) -> None:
    routine = _routine(tmp_path)
    folder = tmp_path / "tiny.recordings"
    folder.mkdir()
    broken = '{"format": 1, "clips": [\n {"text": "x", "language": "en",,}\n]}\n'
    (folder / MANIFEST).write_text(broken)
    result = CliRunner().invoke(cli, ["record", str(routine), "--list"])
    assert result.exit_code == 1
    assert f"{folder / MANIFEST}:2:33: not valid JSON" in result.output
    assert (folder / MANIFEST).read_text() == broken
    (folder / MANIFEST).write_text('{"clips": [{"text": "x", "language": "en"}]}')
    with pytest.raises(RecordingsError, match=r"manifest.json:1:1: clip 1 has no valid 'file'"):
        open_recordings(read_routine(routine))
    (folder / MANIFEST).unlink()
    os.mkfifo(folder / MANIFEST)  # read as a file it would hang `record` forever
    fifo = CliRunner().invoke(cli, ["record", str(routine), "--list"])
    assert fifo.exit_code == 1 and "cannot be read" in fifo.output
    (folder / MANIFEST).unlink()
    (folder / MANIFEST).write_text('{"clips": [{"text": "x", "language": "en"}]}')
    # A session still runs, in the synthetic voice, saying why once.
    check = CliRunner().invoke(cli, ["check", str(routine)])
    assert "clip 1 has no valid 'file'" in check.output and check.exit_code == 0


# -- a session plays the recording, and the gate knows it is the guide -----------------------------


def test_demo_plays_the_recording_instead_of_the_synthetic_voice(tmp_path: Path) -> None:
    routine = _routine(tmp_path)
    _import(routine, tmp_path, REST, GLIDE)
    room, transcript = tmp_path / "room.wav", tmp_path / "demo.jsonl"
    args = ["demo", str(routine), "--no-person", "--out", str(room)]
    result = CliRunner().invoke(cli, [*args, "--transcript", str(transcript), "--quiet"])
    assert result.exit_code == 0, result.output
    events = [json.loads(line) for line in transcript.read_text().splitlines()]
    said = {e["text"]: e["t"] for e in events if e["event"] == "say"}
    assert not [e for e in events if e["event"] == "heard"], events
    heard_room = read_wav(room)
    for text in (REST, GLIDE):
        at, score = _find(heard_room, _clip_of(routine, text))
        # The room's microphone hears the recording (echo gain 0.5, 50 ms late) once said
        # (after the welcome for the first: queued behind it).
        assert score > 0.9 and said[text] <= at <= said[text] + 6.0, (text, at, said, score)


def test_the_gate_knows_a_recording_is_the_guides_own_voice(tmp_path: Path) -> None:
    """A recorded line holding a command phrase, read in another voice than the synthetic
    one and heard back at full level with no echo canceller: the real listener hears the
    command, and the gate ignores it as the guide's own words (played through the same
    playback tap, with the line's text)."""
    from voice_guide.self_voice import SelfVoiceGate
    from voice_guide.speech_in.engines import create_recognizer
    from voice_guide.speech_in.listener import Listener
    from voice_guide.wiring import VIRTUAL_ROOM, guide_speaker, routine_recordings

    line = "A little lighter."
    routine = _routine(tmp_path, ROUTINE.replace(GLIDE, line))
    _import(routine, tmp_path, line)
    loaded = read_routine(routine)
    recordings = routine_recordings(loaded, print)
    speaker = guide_speaker(loaded.routine, VoiceSettings(), SAMPLE_RATE, VIRTUAL_ROOM, recordings)
    quiet = speaker.playback.pull(SAMPLE_RATE)  # the listener learns the room's noise floor
    handle = speaker.say(line)
    room = np.concatenate([quiet, speaker.playback.pull(round(SAMPLE_RATE * (handle.seconds + 1)))])
    assert _find(AudioBuffer(room, SAMPLE_RATE), _clip_of(routine, line))[1] > 0.99
    listener = Listener(create_recognizer("pocketsphinx", "en").recognizer)
    detections = [d for i in range(0, len(room), 320) for d in listener.feed(room[i : i + 320])]
    assert [d.command.value for d in detections] == ["lighter"], detections
    gate = SelfVoiceGate(speaker.playback)
    assert gate.reason_to_ignore(detections[0]) == f"own voice: in {line!r}"


# -- the manifest and file-name parsers take anything --------------------------------------------

_JSONISH = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=True) | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    data=st.one_of(
        st.binary(max_size=200),
        _JSONISH.map(lambda v: json.dumps(v).encode()),
        st.lists(
            st.fixed_dictionaries(
                {"text": _JSONISH, "language": _JSONISH, "file": _JSONISH},
                optional={"seconds": _JSONISH, "loudness": _JSONISH, "key": _JSONISH},
            ),
            max_size=3,
        ).map(lambda clips: json.dumps({"clips": clips}).encode()),
    )
)
def test_any_manifest_gives_clips_or_one_located_sentence(tmp_path: Path, data: bytes) -> None:
    folder = tmp_path / "any.recordings"
    folder.mkdir(exist_ok=True)
    (folder / MANIFEST).write_bytes(data)
    try:
        store = RecordingStore(folder, "en")
    except RecordingsError as error:
        message = str(error)
        assert message.startswith(f"{folder / MANIFEST}") and "\n" not in message
        return
    for clip in store.clips:
        assert Path(clip.file).name == clip.file and clip.file.endswith(".wav")
        assert store.find(clip.text) is None  # the file is not there: the voice says it
    assert (folder / MANIFEST).read_bytes() == data


@functools.cache
def _neck_lines() -> tuple[Line, ...]:
    return tuple(spoken_lines(read_routine("neck-and-shoulders")))


@settings(max_examples=200, deadline=None)
@given(name=st.text(min_size=1, max_size=40))
def test_any_file_name_matches_one_line_or_says_why(name: str) -> None:
    from voice_guide.recordings import _line_named

    lines = list(_neck_lines())
    line, why = _line_named(Path(f"{name}.wav"), lines)
    assert (line is None) == bool(why)
    assert line is None or line in lines


SWEEP = "Sweep your palms down the back, three times."


@pytest.mark.devices
def test_run_on_real_devices_plays_the_recordings(
    pulse_null_sink: NullSink, tmp_path: Path
) -> None:
    """`voice-guide run` on the null sink: what the speaker played (its monitor, captured
    with parecord) holds the recordings, not the synthetic voice."""
    short = ROUTINE.replace("20s", "6s").replace("at: 10s", "at: 3s").replace("15s", "3s")
    routine = _routine(tmp_path, short)
    _import(routine, tmp_path, REST, SWEEP)
    pulse = {**os.environ, "XDG_RUNTIME_DIR": str(pulse_null_sink.runtime_dir)}
    heard = tmp_path / "speaker.wav"
    capture = subprocess.Popen(
        ["parecord", f"--device={pulse_null_sink.sink}.monitor", "--file-format=wav", str(heard)],
        env=pulse,
    )
    transcript = tmp_path / "run.jsonl"
    env = {**os.environ, "VOICE_GUIDE_HOME": str(tmp_path / "home"), "PYTHONUNBUFFERED": "1"}
    command = ["run", str(routine), "--transcript", str(transcript)]
    run = subprocess.Popen(
        [sys.executable, "-m", "voice_guide", *command],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        _, err = run.communicate(timeout=60)  # the session ends once all is said
    finally:
        run.kill()
        capture.send_signal(signal.SIGINT)
        capture.wait(timeout=10)
    assert run.returncode == 0 and "no usable" not in err, err  # it ran on the devices
    events = [json.loads(line) for line in _read(transcript).splitlines()]
    # The guide's own voice misheard as "next" would cut the first instruction short (not
    # this feature's concern): then only the second one is checked.
    moved_on = any(e["event"] == "heard" for e in events)
    played = read_wav(heard)
    for text in [SWEEP] if moved_on else [REST, SWEEP]:
        clip = _clip_of(routine, text)
        # Pieces of the clip, not all of it (on a loaded machine an underrun can leave a gap,
        # and a misheard echo can cut the speech): most of them found where the clip would
        # have them.
        pieces = np.array_split(clip.samples, 8)
        found = [_find(played, AudioBuffer(part, clip.sample_rate)) for part in pieces]
        step = len(pieces[0]) / clip.sample_rate
        starts = [at - n * step for n, (at, _) in enumerate(found)]
        agree = [abs(start - float(np.median(starts))) < 0.02 for start in starts]
        assert sum(agree) >= 5, (text, found, err)
        best = max(score for (_, score), ok in zip(found, agree, strict=True) if ok)
        assert best > 0.99, (text, found)
        synthetic = EspeakRenderer(VoiceSettings()).render(text)
        assert _find(played, synthetic)[1] < 0.5, text  # it was not the synthetic voice


def _read(path: Path) -> str:
    return path.read_text() if path.exists() else ""


def test_a_builtin_routine_keeps_its_recordings_in_the_user_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VOICE_GUIDE_HOME", str(tmp_path / "home"))
    text = "Never press on the spine or on the front of the neck."
    loaded = read_routine("neck-and-shoulders")
    number = next(n for n, line in enumerate(spoken_lines(loaded), 1) if line.text == text)
    phone = tmp_path / "phone"
    phone.mkdir()
    _flite(text, phone / f"{number}.wav")
    result = CliRunner().invoke(cli, ["record", "neck-and-shoulders", "--from-dir", str(phone)])
    assert result.exit_code == 0, result.output
    store = open_recordings(read_routine("neck-and-shoulders"))
    assert store.folder == tmp_path / "home" / "recordings" / "neck-and-shoulders"
    assert [clip.text for clip in store.clips] == [text]
    check = CliRunner().invoke(cli, ["check", "neck-and-shoulders"]).output
    assert "record them: voice-guide record neck-and-shoulders" in check
