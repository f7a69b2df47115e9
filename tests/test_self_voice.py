"""The self-voice gate: which detections are the guide's own words coming back."""

from __future__ import annotations

import numpy as np
import pytest

from voice_guide.commands import Command
from voice_guide.self_voice import SelfVoiceGate, sounds_like_part_of
from voice_guide.speech_in.listener import Detection
from voice_guide.speech_out.playback import Playback


@pytest.mark.parametrize(
    ("phrase", "text", "expected"),
    [
        ("pause", "Paused. Say continue when you are ready.", True),
        ("ow", "Work slowly now.", True),
        ("go ahead", "Go ahead and glide up.", True),
        ("that feels great", "Ask if that feels great to them.", True),
        ("next", "Rest your hands on the shoulders.", False),
        ("that hurts", "That is the end of the session.", False),
        ("a little lighter", "Use your thumbs in small circles.", False),
    ],
)
def test_sounds_like_part_of(phrase, text, expected):
    assert sounds_like_part_of(phrase, text) is expected


def _detection(command: Command, heard: str | None, start: float, end: float) -> Detection:
    return Detection(command, heard, start, end, end + 0.2, 0.9)


@pytest.fixture
def playing() -> Playback:
    """A Playback that played one sentence from 0.0 s to 2.0 s of stream time."""
    playback = Playback(16000)
    playback.play(np.zeros(32000, np.float32), "Paused. Say continue when you are ready.")
    playback.pull(32000)
    playback.pull(1600)
    return playback


def test_own_words_are_ignored_even_in_the_echo_tail(playing):
    gate = SelfVoiceGate(playing, echo_tail=0.4)
    own = gate.reason_to_ignore(_detection(Command.RESUME, "continue", 2.1, 2.3))
    assert own is not None and own.startswith("own voice")


def test_safety_words_that_sound_like_the_guide_still_act_when_a_person_speaks():
    """'ouch' over the guide saying 'touching': the words look alike, the signal does not."""
    rng = np.random.default_rng(3)
    playback = Playback(16000)
    guide = (rng.standard_normal(32000) * 0.1).astype(np.float32)
    playback.play(guide, "Barely touching, the softest of strokes.")
    gate = SelfVoiceGate(playback, echo_tail=0.4)
    person = (rng.standard_normal(32000) * 0.1).astype(np.float32)
    for start in range(0, 32000, 320):  # the room: echo at half level plus the person
        played = playback.pull(320)
        gate.observe(0.5 * played + person[start : start + 320])
    assert gate.reason_to_ignore(_detection(Command.PAIN, "ouch", 1.0, 1.5)) is None


def test_a_safety_word_in_the_echo_alone_is_ignored():
    rng = np.random.default_rng(4)
    playback = Playback(16000)
    playback.play((rng.standard_normal(32000) * 0.1).astype(np.float32), "Now, a short rest.")
    gate = SelfVoiceGate(playback, echo_tail=0.4)
    for _ in range(0, 32000, 320):
        gate.observe(0.5 * playback.pull(320))
    reason = gate.reason_to_ignore(_detection(Command.PAUSE, "wait", 1.0, 1.5))
    assert reason is not None and reason.startswith("echo of the guide")


def test_barge_in_commands_act_over_the_guide_others_wait(playing):
    gate = SelfVoiceGate(playing, echo_tail=0.4)
    assert gate.reason_to_ignore(_detection(Command.PAIN, "ouch", 0.5, 0.9)) is None
    assert gate.reason_to_ignore(_detection(Command.NEXT, "next step", 1.0, 1.5)) is None
    waiting = gate.reason_to_ignore(_detection(Command.LIGHTER, "lighter", 1.0, 1.5))
    assert waiting is not None and waiting.startswith("guide speaking")


def test_after_the_tail_everything_acts(playing):
    gate = SelfVoiceGate(playing, echo_tail=0.4)
    assert gate.reason_to_ignore(_detection(Command.RESUME, "continue", 2.5, 2.9)) is None


def test_a_phrase_begun_before_the_guide_spoke_is_not_the_guide_speaking(playing):
    gate = SelfVoiceGate(playing, echo_tail=0.4)
    # The person began 0.5 s before the sentence (0.0-2.0 s) started: acted on.
    assert gate.reason_to_ignore(_detection(Command.LIGHTER, "lighter", -0.5, 0.4)) is None
    # Beginning with it is the guide's own voice as far as anyone can tell.
    assert gate.reason_to_ignore(_detection(Command.LIGHTER, "lighter", 0.0, 0.6)) is not None


def _echo_room(seed: int, person_level: float) -> SelfVoiceGate:
    """The guide plays 2 s of a sentence; the microphone hears its echo at half level plus a
    person at `person_level` (0: nobody)."""
    rng = np.random.default_rng(seed)
    playback = Playback(16000)
    playback.play((rng.standard_normal(32000) * 0.1).astype(np.float32), "Glide up slowly.")
    gate = SelfVoiceGate(playback, echo_tail=0.4)
    person = (rng.standard_normal(40000) * person_level).astype(np.float32)
    for start in range(0, 40000, 320):
        gate.observe(0.5 * playback.pull(320) + person[start : start + 320])
    return gate


def test_an_engine_without_transcript_is_judged_by_the_signal():
    """No words to compare (heard None): the echo alone is the guide, whatever the command."""
    reason = _echo_room(5, 0.0).reason_to_ignore(_detection(Command.LIGHTER, None, 1.6, 2.1))
    assert reason is not None and reason.startswith("echo of the guide")
    # A person over the guide: not the echo, but only barge-in commands act while it speaks.
    talking = _echo_room(6, 0.1)
    waiting = talking.reason_to_ignore(_detection(Command.LIGHTER, None, 1.0, 1.5))
    assert waiting is not None and waiting.startswith("guide speaking")
    assert talking.reason_to_ignore(_detection(Command.PAIN, None, 1.0, 1.5)) is None


def test_an_engine_without_transcript_acts_in_a_quiet_moment(playing):
    gate = SelfVoiceGate(playing, echo_tail=0.4)
    assert gate.reason_to_ignore(_detection(Command.RESUME, None, 2.5, 2.9)) is None


def test_own_words_heard_with_a_filler_are_still_the_guides(playing):
    """The guide said 'continue'; its echo heard as 'okay continue' is still its own voice."""
    gate = SelfVoiceGate(playing, echo_tail=0.4)
    own = gate.reason_to_ignore(_detection(Command.RESUME, "okay continue please", 2.1, 2.4))
    assert own is not None and own.startswith("own voice")


def test_an_instant_detection_is_judged_on_the_sound_before_it():
    """The head places a very short utterance at one instant (start == end): the echo before
    it still shows it is the guide, and a person's sound there still acts."""
    reason = _echo_room(7, 0.0).reason_to_ignore(_detection(Command.PAUSE, None, 1.6, 1.6))
    assert reason is not None and reason.startswith("echo of the guide")
    assert _echo_room(8, 0.1).reason_to_ignore(_detection(Command.PAIN, None, 1.6, 1.6)) is None


def test_an_earcon_alone_is_the_guide_sounding():
    """A step's tone plays before its sentence is rendered: its echo heard as "ow" is the
    echo, and heard as "we're done" it waits like any command while the guide sounds."""
    rng = np.random.default_rng(9)
    playback = Playback(16000)
    tone = (rng.standard_normal(8000) * 0.1).astype(np.float32)
    playback.play(tone, "", kind="earcon:step", overlay=True)
    gate = SelfVoiceGate(playback, echo_tail=0.4)
    for _ in range(0, 16000, 320):
        gate.observe(0.5 * playback.pull(320))
    reason = gate.reason_to_ignore(_detection(Command.PAIN, None, 0.1, 0.4))
    assert reason is not None and reason.startswith("echo of the guide")
    waiting = gate.reason_to_ignore(_detection(Command.END, "we're done", 0.1, 0.4))
    assert waiting is not None and waiting.startswith("guide speaking")
