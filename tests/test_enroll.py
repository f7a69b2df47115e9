"""Enrollment: a person's own voice from a folder of WAVs (real flite/espeak-ng speech, the
real VAD and the real speech embedding), stored with the profile, shown and forgotten."""

from __future__ import annotations

import json
import subprocess
import tempfile
import wave
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from spoken import write_wav

from voice_guide.cli import cli
from voice_guide.commands import Command
from voice_guide.room import pink_noise
from voice_guide.speech_in.audio import SAMPLE_RATE, read_wav, resample
from voice_guide.speech_in.enrollment import (
    Enrollment,
    Take,
    capture_takes,
    cut_utterance,
    from_stored,
    prompt_plan,
    to_stored,
)
from voice_guide.store import Store, VoiceTake

pytestmark = pytest.mark.audio


def _say(path: Path, text: str, voice: str) -> Path:
    if voice.startswith("espeak:"):
        subprocess.run(["espeak-ng", "-v", voice[7:], "-w", str(path), text], check=True)
    else:
        subprocess.run(["flite", "-voice", voice, "-t", text, "-o", str(path)], check=True)
    return path


@pytest.fixture(scope="module")
def takes_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("takes")
    _say(folder / "lighter.wav", "a little lighter", "rms")
    _say(folder / "pain-1.wav", "ouch", "rms")
    _say(folder / "PAIN-2.wav", "that hurts", "espeak:en-us")
    (folder / "notes.txt").write_text("not a take")
    return folder


def _run(*args: str):
    return CliRunner().invoke(cli, list(args))


def test_enroll_from_a_folder_then_profile_shows_it_and_forgets_it(takes_dir):
    done = _run("enroll", "Sam", "--from-dir", str(takes_dir))
    assert done.exit_code == 0, done.output
    assert "Enrolled Sam: 3 takes (lighter 1, pain 2), embeddings only" in done.stdout
    shown = _run("profile", "sam")
    assert shown.exit_code == 0
    assert "voice:    3 takes (lighter 1, pain 2), embeddings only, no audio kept" in shown.stdout
    with Store() as store:
        stored = store.voice("SAM")
    assert [t.command for t in stored] == ["lighter", "pain", "pain"]
    assert all(t.audio is None for t in stored)  # only embeddings without --keep-audio
    forgot = _run("profile", "Sam", "--forget-voice")
    assert forgot.exit_code == 0 and "Forgot the voice of Sam." in forgot.stdout
    assert "voice:" not in _run("profile", "Sam").stdout
    with Store() as store:
        assert store.voice("sam") == []


def test_keep_audio_keeps_the_cut_utterances(takes_dir):
    done = _run("enroll", "Ana", "--from-dir", str(takes_dir), "--keep-audio")
    assert done.exit_code == 0, done.output
    assert "recordings kept" in done.stdout
    with Store() as store:
        enrollment = from_stored("Ana", store.voice("ana"))
    assert enrollment is not None and enrollment.kept_audio
    lengths = [len(t.audio) / SAMPLE_RATE for t in enrollment.takes]
    assert all(0.3 < seconds < 3.0 for seconds in lengths)


def _one_sentence_failure(result, *needles: str) -> None:
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for needle in needles:
        assert needle in lines[0]


@pytest.mark.parametrize(
    ("files", "needles"),
    [
        ({}, ("no WAV files in",)),
        ({"next.wav": b"hello, this is text"}, ("next.wav", "not a WAV file")),
        ({"tickle.wav": None}, ("'tickle' is not a command", "lighter")),
        ({"lighter-x.wav": None}, ("<command>.wav or <command>-<n>.wav",)),
    ],
)
def test_a_bad_folder_is_one_sentence_and_nothing_is_saved(tmp_path, takes_dir, files, needles):
    folder = tmp_path / "takes"
    folder.mkdir()
    for name, content in files.items():
        if content is None:
            (folder / name).write_bytes((takes_dir / "lighter.wav").read_bytes())
        else:
            (folder / name).write_bytes(content)
    _one_sentence_failure(_run("enroll", "Sam", "--from-dir", str(folder)), *needles)
    with Store() as store:
        assert store.voice("sam") == []


def test_a_missing_folder_and_a_silent_take_are_one_sentence(tmp_path):
    _one_sentence_failure(
        _run("enroll", "Sam", "--from-dir", str(tmp_path / "nope")), "is not a folder"
    )
    folder = tmp_path / "quiet"
    folder.mkdir()
    _say(folder / "next.wav", "next", "slt")
    wav = read_wav(folder / "next.wav")
    silence = np.zeros(len(wav.samples), np.int16).tobytes()
    with wave.open(str(folder / "next.wav"), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(wav.sample_rate)
        w.writeframes(silence)
    _one_sentence_failure(_run("enroll", "Sam", "--from-dir", str(folder)), "no speech found")


def test_listen_with_a_speaker_who_is_not_enrolled_is_one_sentence(takes_dir):
    _run("enroll", "Sam", "--from-dir", str(takes_dir))
    result = _run("listen", str(takes_dir / "lighter.wav"), "--json", "--speaker", "Sam,Bob")
    _one_sentence_failure(result, "no voice enrollment for Bob", "voice-guide enroll")


def test_listen_with_an_enrolled_speaker_hears_and_says_which_engine(takes_dir):
    _run("enroll", "Sam", "--from-dir", str(takes_dir))
    result = _run("listen", str(takes_dir / "lighter.wav"), "--json", "--speaker", "sam")
    assert result.exit_code == 0, result.output
    assert '"command": "lighter"' in result.stdout


def test_cut_utterance_finds_the_speech_as_the_listener_cuts_it(tmp_path):
    wav = read_wav(_say(tmp_path / "a.wav", "that feels great", "slt"))
    speech = resample(wav.samples, wav.sample_rate)
    padded = np.concatenate([np.zeros(SAMPLE_RATE), speech, np.zeros(SAMPLE_RATE)])
    cut = cut_utterance(padded.astype(np.float32))
    assert cut is not None
    assert len(speech) - 0.3 * SAMPLE_RATE < len(cut) < len(speech) + 0.6 * SAMPLE_RATE
    assert cut_utterance(np.zeros(SAMPLE_RATE, np.float32)) is None


def test_prompted_capture_takes_one_utterance_after_each_prompt(tmp_path):
    """The microphone path with a stream of real speech: each prompt, then the person."""
    said = {}
    for text in ("a little lighter", "ouch"):
        wav = read_wav(_say(tmp_path / f"{len(said)}.wav", text, "awb"))
        said[text] = resample(wav.samples, wav.sample_rate)
    plan = prompt_plan("en", [Command.LIGHTER, Command.PAIN], takes=1)
    assert plan == [(Command.LIGHTER, "lighter"), (Command.PAIN, "ouch")]
    replies = iter([said["a little lighter"], np.zeros(0, np.float32), said["ouch"]])
    prompts: list[str] = []
    missed: list[Command] = []

    def listen():
        reply = next(replies)
        quiet = np.zeros(SAMPLE_RATE // 2, np.float32)
        audio = np.concatenate([quiet, reply, quiet, quiet])
        yield from (audio[i : i + 320] for i in range(0, len(audio), 320))

    plan = [*plan[:1], (Command.NEXT, "next"), *plan[1:]]
    takes = capture_takes(
        plan,
        prompts.append,
        listen,
        lambda audio: np.array([len(audio)], np.float32),
        timeout=3.0,
        on_miss=lambda command, phrase: missed.append(command),
    )
    assert prompts == ["Partner, please say: lighter.", "Now: next.", "Now: ouch."]
    assert [t.command for t in takes] == [Command.LIGHTER, Command.PAIN]
    assert missed == [Command.NEXT]


def test_stored_takes_round_trip_and_damaged_rows_are_skipped():
    vector = np.arange(4, dtype=np.float32)
    enrollment = Enrollment("Sam", (Take(Command.NEXT, vector), Take(Command.PAIN, vector)), 5.0)
    rows = to_stored(enrollment)
    back = from_stored("Sam", rows)
    assert back is not None and back.counts() == {Command.NEXT: 1, Command.PAIN: 1}
    assert np.array_equal(back.takes[0].vector, vector) and back.created == 5.0
    damaged = [*rows, VoiceTake("tickle", rows[0].vector, None, 5.0)]
    damaged.append(VoiceTake("next", b"\x00\x01\x02", None, 5.0))
    assert from_stored("Sam", damaged).counts() == {Command.NEXT: 1, Command.PAIN: 1}
    assert from_stored("Sam", []) is None


def _flite(text: str, stretch: float, f0: int) -> np.ndarray:
    """flite kal16 at a speed and pitch of its own, 16 kHz."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "x.wav"
        settings = ["--setf", f"duration_stretch={stretch}", "--setf", f"int_f0_target_mean={f0}"]
        subprocess.run(
            ["flite", "-voice", "kal16", *settings, "-t", text, "-o", str(path)], check=True
        )
        wav = read_wav(path)
    return resample(wav.samples, wav.sample_rate)


SPOKEN = [
    ("pause", "wait"),
    ("repeat", "repeat"),
    ("resume", "continue"),
    ("help", "help"),
    ("next", "next"),
    ("time", "how long"),
    ("great", "perfect"),
    ("back", "go back"),
    ("stronger", "harder"),
    ("lighter", "softer"),
]
"""Ten commands: at a fast, high rendering of flite kal16 the shipped model misses several of
them (which ones moves when the model is retrained, so the test counts rather than names)."""


def test_enrollment_from_a_folder_improves_a_voice_the_model_misses(tmp_path):
    """Enrolled with slow, low takes (one clean, one in pink noise at 20 dB), tested on a
    fast, high rendering: never on the enrollment audio itself."""
    rng = np.random.default_rng(0)
    folder = tmp_path / "kal"
    folder.mkdir()
    for command, text in [*SPOKEN, ("pain", "ouch")]:
        slow = _flite(text, 1.11, 85)
        write_wav(folder / f"{command}-1.wav", slow)
        noise = pink_noise(len(slow), rng)
        noisy = slow + noise * np.sqrt(np.mean(slow**2) / np.mean(noise**2)) / 10
        write_wav(folder / f"{command}-2.wav", noisy)
    quiet = np.zeros(SAMPLE_RATE, np.float32)
    parts = [quiet]
    for _, text in SPOKEN:
        parts += [_flite(text, 0.75, 170), quiet]
    test_wav = write_wav(tmp_path / "test.wav", np.concatenate(parts))

    def heard(*extra: str) -> list[str]:
        result = _run("listen", str(test_wav), "--json", "--engine", "embedding", *extra)
        assert result.exit_code == 0, result.output
        return [json.loads(line)["command"] for line in result.stdout.splitlines()]

    before = heard()
    assert _run("enroll", "Kal", "--from-dir", str(folder)).exit_code == 0
    after = heard("--speaker", "kal")
    wanted = {command for command, _ in SPOKEN}
    assert len(wanted - set(before)) >= 2, f"the model already hears {before}"
    assert set(after) <= wanted, f"enrolled, it heard a command nobody said: {after}"
    gained = len(wanted & set(after)) - len(wanted & set(before))
    assert gained >= 2, f"unenrolled {before}, enrolled {after}"
