"""The live session end to end in the virtual room: the real espeak-ng guide voice echoing
into the real recognizer, a person speaking with a real flite voice, the real state machine.
And a real `voice-guide run` process killed with SIGTERM and resumed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from voice_guide.cli import cli
from voice_guide.routine.loader import load_routine
from voice_guide.routine.timeline import build_timeline

pytestmark = pytest.mark.audio


def _demo(tmp_path: Path, *args: str) -> list[dict]:
    transcript = tmp_path / "demo.jsonl"
    result = CliRunner().invoke(
        cli, ["demo", *args, "--quiet", "--transcript", str(transcript)], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in transcript.read_text().splitlines()]


def _of(events: list[dict], kind: str) -> list[dict]:
    return [e for e in events if e["event"] == kind]


def test_guide_never_obeys_its_own_echo(tmp_path, monkeypatch):
    monkeypatch.setenv("VOICE_GUIDE_HOME", str(tmp_path / "home"))
    events = _demo(tmp_path, "back-massage", "--no-person", "--echo-gain", "0.5")
    expected = [span.step_id for span in build_timeline(load_routine("back-massage")).steps]
    assert [e["id"] for e in _of(events, "step")] == expected
    assert _of(events, "heard") == [], "the guide acted on its own voice"
    assert _of(events, "person") == []
    assert events[-1]["event"] == "end"
    assert events[-1]["summary"]["ended"] == "completed"


PERSON = [
    "1:05 a little lighter",
    "1:25 that feels great",
    "2:02 ouch",  # two seconds into 'shoulder-circles': the guide is mid-instruction
    "2:15 keep going",
    "2:50 pause",
    "3:05 resume",
]


@pytest.fixture(scope="module")
def scripted(tmp_path_factory) -> list[dict]:
    tmp = tmp_path_factory.mktemp("scripted")
    os.environ["VOICE_GUIDE_HOME"] = str(tmp / "home")
    args = ["neck-and-shoulders", "--echo-gain", "0.5"]
    for line in PERSON:
        args += ["--say", line]
    try:
        return _demo(tmp, *args)
    finally:
        del os.environ["VOICE_GUIDE_HOME"]


def test_each_command_is_acted_on_within_half_a_second(scripted):
    said = _of(scripted, "person")
    heard = _of(scripted, "heard")
    assert [p["phrase"] for p in said] == [line.split(" ", 1)[1] for line in PERSON]
    assert [h["command"] for h in heard] == [
        "lighter",
        "great",
        "pain",
        "resume",
        "pause",
        "resume",
    ]
    for person, command in zip(said, heard, strict=True):
        delay = command["detected_at"] - person["end"]
        assert -0.2 <= delay <= 0.5, f"{person['phrase']!r} acted on {delay:.2f} s after it ended"


def test_pressure_follows_the_person(scripted):
    levels = [(p["level"], p["reason"]) for p in _of(scripted, "pressure")]
    # lighter 2->1 in the glide; 'great' remembers 1 for the shoulders; the circles step
    # starts at its own minimum 2 (the remembered 1 is below it); 'ouch' eases off to 1.
    assert levels[:4] == [(1, "lighter"), (1, "great"), (2, "step"), (1, "pain")]


def test_ouch_stops_the_guide_mid_sentence_and_pauses(scripted):
    pain = next(
        i for i, e in enumerate(scripted) if e["event"] == "heard" and e["command"] == "pain"
    )
    after = scripted[pain + 1 : pain + 4]
    assert {"event": "stop_speech", "was_speaking": True} in [
        {k: e[k] for k in ("event", "was_speaking") if k in e} for e in after
    ], after
    assert any(e["event"] == "pause" and e["reason"] == "pain" for e in after)


def test_pauses_freeze_the_step_timer(scripted):
    steps = {e["id"]: e["t"] for e in _of(scripted, "step")}
    pauses = _of(scripted, "pause")
    resumes = _of(scripted, "resume")
    assert len(pauses) == len(resumes) == 2
    paused = sum(r["t"] - p["t"] for p, r in zip(pauses, resumes, strict=True))
    circles = load_routine("neck-and-shoulders").all_steps[2]
    assert circles.id == "shoulder-circles"
    worked = steps["neck"] - steps["shoulder-circles"] - paused
    assert worked == pytest.approx(circles.duration, abs=0.1)
    # On resume the step continued with the time that was left, not from the start.
    assert pauses[1]["elapsed"] == pytest.approx(resumes[1]["elapsed"])
    assert pauses[1]["elapsed"] > 0


def _run(home: Path, *args: str) -> subprocess.Popen:
    env = {**os.environ, "VOICE_GUIDE_HOME": str(home), "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "voice_guide",
            "run",
            "neck-and-shoulders",
            "--keyboard",
            "--text",
            *args,
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def test_sigterm_saves_and_resume_continues_at_the_same_step_and_pressure(tmp_path):
    home = tmp_path / "home"
    first = _run(home, "--transcript", str(tmp_path / "first.jsonl"))
    assert first.stdin is not None
    first.stdin.write("next\nstronger\n")
    first.stdin.flush()
    deadline = time.monotonic() + 20
    events: list[dict] = []
    while time.monotonic() < deadline:
        text = (tmp_path / "first.jsonl").read_text() if (tmp_path / "first.jsonl").exists() else ""
        events = [json.loads(line) for line in text.splitlines()]
        if any(e["event"] == "pressure" and e.get("reason") == "stronger" for e in events):
            break
        time.sleep(0.1)
    first.send_signal(signal.SIGTERM)
    _, err = first.communicate(timeout=20)
    assert first.returncode == 130, err
    assert f"{sys.executable} -m voice_guide run --resume" in err  # as it was started
    step = [e for e in events if e["event"] == "step"][-1]
    level = [e for e in events if e["event"] == "pressure"][-1]["level"]

    second = _run(home, "--resume", "--transcript", str(tmp_path / "second.jsonl"))
    second.stdin.write("time\n")
    second.stdin.flush()
    time.sleep(3)
    second.send_signal(signal.SIGTERM)
    _, err = second.communicate(timeout=20)
    assert second.returncode == 130, err
    resumed = [json.loads(line) for line in (tmp_path / "second.jsonl").read_text().splitlines()]
    assert resumed[0]["event"] == "restore"
    assert resumed[0]["index"] == step["index"]
    welcome = next(e["text"] for e in resumed if e["event"] == "say")
    assert welcome.startswith(f"Welcome back. {step['title']}.")
    scale = load_routine("neck-and-shoulders").pressure
    assert f"{scale.name(level).capitalize()} pressure." in welcome


class _FailingOnce:
    """The real PocketSphinx recognizer, made to raise on its first `faults` utterances:
    a fault injected into the real engine, not a stand-in for it."""

    def __init__(self, real, faults: int) -> None:
        self._real = real
        self._faults = faults

    def __getattr__(self, name):
        return getattr(self._real, name)

    def finish(self):
        if self._faults > 0:
            self._faults -= 1
            raise RuntimeError("injected decoder fault")
        return self._real.finish()


def _virtual_session(tmp_path: Path, faults: int, lines: list[str]):
    from voice_guide.room import RoomSettings, VirtualRoom, parse_person_line
    from voice_guide.runner import SessionRunner
    from voice_guide.self_voice import SelfVoiceGate
    from voice_guide.session import Session
    from voice_guide.speech_in.engines import create_recognizer
    from voice_guide.speech_in.listener import Listener
    from voice_guide.speech_out import EspeakRenderer, GuideSpeaker, Playback, RenderCache
    from voice_guide.transcript import Transcript

    routine = load_routine("neck-and-shoulders")
    speaker = GuideSpeaker(RenderCache(EspeakRenderer(), 16000), Playback(16000))
    room = VirtualRoom(speaker.playback, RoomSettings(), [parse_person_line(x) for x in lines])
    recognizer = _FailingOnce(create_recognizer("pocketsphinx", "en").recognizer, faults)
    transcript = Transcript(tmp_path / "t.jsonl")
    runner = SessionRunner(Session(routine), speaker, transcript)
    return runner, Listener(recognizer), room, SelfVoiceGate(speaker.playback), transcript


def test_a_recognizer_fault_is_logged_and_the_session_goes_on(tmp_path):
    import itertools

    from voice_guide.runner import run_audio

    runner, listener, room, gate, transcript = _virtual_session(
        tmp_path, faults=1, lines=["1:05 a little lighter", "1:25 a little lighter"]
    )
    blocks = itertools.islice(room.chunks(), 50 * 100)  # 100 s of session
    run_audio(runner, listener, blocks, gate)
    faults = [e for e in transcript.events if e["event"] == "fault"]
    heard = [e for e in transcript.events if e["event"] == "heard"]
    assert len(faults) == 1 and faults[0]["device"] == "recognizer"
    assert heard and heard[-1]["command"] == "lighter" and heard[-1]["t"] > faults[0]["t"]


def test_a_recognizer_that_keeps_failing_gives_up_listening_not_the_session(tmp_path):
    import itertools

    from voice_guide.runner import MAX_RECOGNIZER_FAULTS, ListenerFailed, run_audio

    lines = [f"1:{seconds:02d} a little lighter" for seconds in (5, 15, 25, 35, 45)]
    runner, listener, room, gate, transcript = _virtual_session(tmp_path, faults=99, lines=lines)
    with pytest.raises(ListenerFailed) as failure:
        run_audio(runner, listener, itertools.islice(room.chunks(), 50 * 120), gate)
    faults = [e for e in transcript.events if e["event"] == "fault"]
    assert len(faults) == MAX_RECOGNIZER_FAULTS
    assert not runner.ended and failure.value.at > 0


def test_clock_offset_holds_through_a_backlog_and_restarts_after_a_stall():
    from voice_guide.runner import ClockAlignment

    wall = [0.0]
    clocks = ClockAlignment(clock=lambda: wall[0])
    for i in range(50):  # blocks on time: the microphone is 0.05 s behind the playback clock
        wall[0] = 0.02 * i
        assert clocks.offset(0.02 * i - 0.05, 0.02 * i) == pytest.approx(-0.05)
    # The session fell 0.8 s behind: queued blocks look older, the offset must not follow.
    for i in range(50, 60):
        wall[0] += 0.001
        assert clocks.offset(0.02 * i - 0.05, 0.02 * i + 0.8) == pytest.approx(-0.05)
    # The microphone was gone for 4 s while the playback clock ran on: a new offset.
    wall[0] += 4.0
    assert clocks.offset(1.2, 5.5) == pytest.approx(-4.3)
