"""The pure session state machine, driven by scripted timelines: events in, the exact
sequence of phases and spoken sentences out."""

from __future__ import annotations

import pytest

from voice_guide.commands import Command
from voice_guide.effects import CancelSpeech, Earcon, Log, Say, StartTimer
from voice_guide.routine.model import Routine
from voice_guide.session import (
    ASK_TIMEOUT,
    TRANSITIONS,
    Heard,
    Phase,
    Profile,
    Restore,
    Session,
    SessionState,
    Start,
    Tick,
)

SCALE = {
    "levels": {
        1: {"name": "feather", "technique": "Use your fingertips."},
        2: {"name": "light", "technique": "Use flat palms."},
        3: {"name": "medium", "technique": "Use your thumbs."},
        4: {"name": "firm", "technique": "Use your knuckles."},
    },
    "start": 2,
}


def routine(**overrides) -> Routine:
    data = {
        "title": "Test routine",
        "pressure": SCALE,
        "safety": ["Never press on the spine."],
        "sections": [
            {
                "title": "Warm up",
                "steps": [
                    {
                        "id": "glide",
                        "say": "Glide your palms up.",
                        "duration": "1m",
                        "area": "lower-back",
                        "cues": [
                            {"at": "halfway", "say": "Half way."},
                            {"at": "10s left", "say": "Almost done."},
                        ],
                    },
                    {
                        "id": "circles",
                        "say": "Make small circles.",
                        "duration": "wait for next",
                        "area": "shoulders",
                        "pressure": {"min": 2, "max": 3},
                        "techniques": {3: "Thumbs, small circles."},
                        "stronger": "Lean in slowly.",
                    },
                    {
                        "id": "knots",
                        "say": "Work the knots.",
                        "duration": "1m",
                        "area": "mid-back",
                        "offer": {"min_pressure": 3, "ask": "Deeper work? Say yes or no."},
                        "safety": ["Never force."],
                    },
                ],
            },
            {
                "title": "Closing",
                "steps": [{"id": "rest", "say": "Rest your hands.", "duration": "30s"}],
            },
        ],
    }
    data.update(overrides)
    return Routine.model_validate(data)


class Script:
    """Feeds events at times and records (time, phase, spoken texts)."""

    def __init__(self, routine: Routine, profile: Profile | None = None) -> None:
        self.session = Session(routine)
        self.state = self.session.initial(profile)
        self.effects: list = []

    def __call__(self, event, now: float) -> list[str]:
        self.state, self.effects = self.session.handle(self.state, event, now)
        return [e.text for e in self.effects if isinstance(e, Say)]

    def hear(self, command: Command, now: float) -> list[str]:
        return self(Heard(command), now)

    def run_timers_until(self, now: float) -> list[str]:
        """Deliver every Tick the machine asks for up to `now`."""
        said: list[str] = []
        while (wake := self.session.wake_time(self.state)) is not None and wake <= now:
            said += self(Tick(), wake)
        return said

    @property
    def phase(self) -> Phase:
        return self.state.phase

    @property
    def step(self) -> str:
        return self.session.steps[self.state.index].id


def test_start_speaks_intro_safety_section_and_first_step():
    s = Script(routine())
    assert s(Start(), 0.0) == [
        "Welcome. Today: Test routine. Say help at any time to hear what you can say.",
        "Never press on the spine.",
        "Warm up",
        "Glide your palms up.",
    ]
    assert (s.phase, s.step) == (Phase.RUNNING, "glide")
    assert StartTimer(30.0) in s.effects


def test_cues_then_timed_step_advances_with_transition():
    s = Script(routine())
    s(Start(), 0.0)
    assert s.run_timers_until(49.0) == ["Half way."]
    assert s.run_timers_until(59.0) == ["Almost done."]
    assert s.step == "glide"
    assert s.run_timers_until(60.0) == ["Now, circles.", "Make small circles."]
    assert (s.phase, s.step) == (Phase.WAITING, "circles")


def test_cues_fire_in_order_and_once():
    s = Script(routine())
    s(Start(), 0.0)
    assert s(Tick(), 31.0) == ["Half way."]
    assert s(Tick(), 31.5) == []
    assert s(Tick(), 50.0) == ["Almost done."]
    assert s(Tick(), 60.0) == ["Now, circles.", "Make small circles."]


def test_wait_step_stays_until_next():
    s = Script(routine())
    s(Start(), 0.0)
    s.hear(Command.NEXT, 5.0)
    assert (s.phase, s.step) == (Phase.WAITING, "circles")
    assert s.session.wake_time(s.state) is None
    assert s(Tick(), 900.0) == []
    assert s.step == "circles"


def test_pause_freezes_timer_and_resume_continues_with_time_left():
    s = Script(routine())
    s(Start(), 0.0)
    s.run_timers_until(40.0)  # the halfway cue at 30 s
    assert s.hear(Command.PAUSE, 40.0) == ["Paused. Say continue when you are ready."]
    assert s.phase is Phase.PAUSED
    assert s.effects[0] == CancelSpeech()
    assert s.session.wake_time(s.state) is None
    assert s(Tick(), 300.0) == []
    assert s.state.elapsed(300.0) == pytest.approx(40.0)
    said = s.hear(Command.RESUME, 400.0)
    assert said == ["Continuing. Glide. 20 seconds left. Light pressure."]
    assert s.phase is Phase.RUNNING
    # 40 s were worked before the pause: the 10s-left cue is due at 400 + 10, the end at 420.
    assert s.session.wake_time(s.state) == pytest.approx(410.0)
    assert s.run_timers_until(419.0) == ["Almost done."]
    assert s.step == "glide"
    assert s.run_timers_until(420.0) == ["Now, circles.", "Make small circles."]


def test_lighter_and_stronger_move_within_step_limits_and_speak_technique():
    s = Script(routine())
    s(Start(), 0.0)
    s.hear(Command.NEXT, 1.0)  # circles: min 2, max 3
    assert s.hear(Command.STRONGER, 2.0) == ["Medium. Thumbs, small circles.", "Lean in slowly."]
    assert s.state.pressure == 3
    assert s.hear(Command.STRONGER, 3.0) == ["This is already the deepest pressure for this step."]
    assert s.state.pressure == 3
    assert s.hear(Command.LIGHTER, 4.0) == ["Light. Use flat palms."]
    assert s.hear(Command.LIGHTER, 5.0) == ["This is already the lightest pressure for this step."]
    assert s.state.pressure == 2


def test_every_command_is_acknowledged_with_an_earcon():
    s = Script(routine())
    s(Start(), 0.0)
    s.hear(Command.LIGHTER, 2.0)
    assert s.effects[0] == Earcon("heard")
    s.hear(Command.REPEAT, 3.0)
    assert s.effects[:2] == [CancelSpeech(), Earcon("heard")]


def test_pain_stops_speech_pauses_drops_pressure_and_checks_in():
    s = Script(routine())
    s(Start(), 0.0)
    said = s.hear(Command.PAIN, 12.0)
    assert s.effects[0] == CancelSpeech()
    assert Earcon("paused") in s.effects
    assert said == [
        "Sorry. I have paused. Ease off to feather pressure.",
        "Are you all right? Say continue when you are ready, or end session to finish.",
    ]
    assert (s.phase, s.state.pressure) == (Phase.PAUSED, 1)
    s.hear(Command.RESUME, 30.0)
    assert s.phase is Phase.RUNNING
    assert s.state.elapsed(30.0) == pytest.approx(12.0)


def test_great_remembers_pressure_for_the_area_and_uses_it_next_time():
    s = Script(routine())
    s(Start(), 0.0)
    s.hear(Command.STRONGER, 1.0)
    assert s.hear(Command.GREAT, 2.0) == [
        "Glad that feels good. I'll remember medium for the lower back."
    ]
    assert s.state.preferred == {"lower-back": 3}
    assert Log("pressure", {"level": 3, "area": "lower-back", "reason": "great"}) in s.effects
    # A later session with that profile starts the area at the remembered level.
    later = Script(routine(), Profile(pressure={"lower-back": 3}))
    assert "Use your thumbs." in later(Start(), 0.0)
    assert later.state.pressure == 3


def test_offer_is_left_out_below_its_pressure():
    s = Script(routine())
    s(Start(), 0.0)
    s.hear(Command.NEXT, 1.0)
    said = s.hear(Command.NEXT, 2.0)
    assert said == [
        "Knots is left out: it is only for firm pressure.",
        "Closing",
        "Rest your hands.",
    ]
    assert s.step == "rest"


def test_offer_asks_and_yes_begins_no_answer_declines():
    s = Script(routine())
    s(Start(), 0.0)
    s.hear(Command.NEXT, 1.0)
    s.hear(Command.STRONGER, 2.0)
    assert s.hear(Command.NEXT, 3.0) == ["Deeper work? Say yes or no."]
    assert s.phase is Phase.ASKING
    assert s.hear(Command.YES, 4.0) == ["Work the knots.", "Never force."]
    assert (s.phase, s.step) == (Phase.RUNNING, "knots")

    quiet = Script(routine())
    quiet(Start(), 0.0)
    quiet.hear(Command.NEXT, 1.0)
    quiet.hear(Command.STRONGER, 2.0)
    quiet.hear(Command.NEXT, 3.0)
    assert quiet.run_timers_until(3.0 + ASK_TIMEOUT) == [
        "All right, we will leave it out.",
        "Closing",
        "Now, rest.",
        "Rest your hands.",
    ]
    assert quiet.step == "rest"


def test_yes_outside_a_question_is_not_used():
    s = Script(routine())
    s(Start(), 0.0)
    assert s.hear(Command.YES, 1.0) == []
    assert s.effects == [Log("unused", {"trigger": "yes", "phase": "running"})]


def test_avoided_areas_are_skipped_with_a_note():
    s = Script(routine(), Profile(avoid=frozenset({"shoulders"})))
    s(Start(), 0.0)
    said = s.hear(Command.NEXT, 1.0)
    assert said[0] == "Leaving out the shoulders, as asked."
    assert s.step != "circles"


def test_back_from_the_first_step_stays_and_back_returns():
    s = Script(routine())
    s(Start(), 0.0)
    assert s.hear(Command.BACK, 10.0) == ["This is already the first step."]
    assert (s.phase, s.step) == (Phase.RUNNING, "glide")
    assert s.state.elapsed(20.0) == pytest.approx(20.0)
    s.hear(Command.NEXT, 21.0)
    assert s.hear(Command.BACK, 22.0) == ["Glide your palms up."]
    assert s.step == "glide"
    assert s.state.elapsed(22.0) == 0.0


def test_end_goes_to_closing_then_ends():
    s = Script(routine())
    s(Start(), 0.0)
    assert s.hear(Command.END, 5.0) == ["Let's move to the closing.", "Closing", "Rest your hands."]
    assert s.step == "rest"
    said = s.hear(Command.END, 6.0)
    assert said == ["We'll finish here. That is the end of the session. Thank you."]
    assert s.phase is Phase.ENDED
    assert s.hear(Command.NEXT, 7.0) == []


def test_full_session_with_nobody_speaking_reaches_the_end():
    s = Script(
        routine(
            sections=[],
            steps=[
                {"id": "one", "say": "One.", "duration": "20s"},
                {"id": "two", "say": "Two.", "duration": "20s"},
            ],
        )
    )
    s(Start(), 0.0)
    said = s.run_timers_until(1000.0)
    assert said == ["Now, two.", "Two.", "That is the end of the session. Thank you."]
    assert s.phase is Phase.ENDED
    assert s.state.done == ("one", "two")


def test_time_left_reports_step_and_session():
    s = Script(routine())
    s(Start(), 0.0)
    assert s.hear(Command.TIME, 20.0) == [
        "40 seconds left in this step, about 1 minute in the session."
    ]


def test_checkpoint_round_trip_and_restore_continues_with_time_left():
    s = Script(routine())
    s(Start(), 0.0)
    s.hear(Command.STRONGER, 5.0)
    s(Tick(), 30.0)
    saved = s.state.to_dict()
    restored = Script(routine())
    restored.state = SessionState.from_dict(saved)
    assert restored.state == s.state
    # A new process: its clock starts again at 0.
    said = restored(Restore(), 0.0)
    assert said == ["Welcome back. Glide. 30 seconds left. Medium pressure."]
    assert restored.session.wake_time(restored.state) == pytest.approx(20.0)


def test_transition_table_covers_every_command_somewhere():
    triggers = {trigger for _, trigger in TRANSITIONS}
    assert {c.value for c in Command} <= triggers


def test_many_cues_written_out_of_order_are_said_in_time_order_once():
    # 400 cues written in reverse: each is said once, at its time, in time order.
    cues = [{"at": f"{n}s", "say": f"Cue {n}."} for n in range(400, 0, -1)]
    long = {"id": "long", "say": "Work slowly.", "duration": "10m", "cues": cues}
    s = Script(Routine.model_validate({"title": "Cues", "steps": [long]}))
    s(Start(), 0.0)
    assert s(Tick(), 2.5) == ["Cue 1.", "Cue 2."]
    assert s.session.wake_time(s.state) == pytest.approx(3.0)
    assert s.run_timers_until(400.0) == [f"Cue {n}." for n in range(3, 401)]
    assert s.session.wake_time(s.state) == pytest.approx(600.0)


def test_a_checkpoint_from_before_cues_said_resumes_after_the_cues_already_said():
    s = Script(routine())
    s(Start(), 0.0)
    s.run_timers_until(40.0)  # the halfway cue at 30 s
    old = {**s.state.to_dict(), "cues_done": [0]}
    del old["cues_said"]
    s.state = SessionState.from_dict(old)
    assert s.state.cues_said == 1
    assert s.run_timers_until(59.0) == ["Almost done."]
