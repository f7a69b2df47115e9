"""The pure session state machine, driven by scripted timelines: events in, the exact
sequence of phases and spoken sentences out."""

from __future__ import annotations

import pytest

from voice_guide.commands import Command
from voice_guide.effects import CancelSpeech, Earcon, PressureChanged, Say, StartTimer, Unused
from voice_guide.routine.model import Routine
from voice_guide.session import (
    ASK_TIMEOUT,
    TRANSITIONS,
    UNDO_WINDOW,
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


END_QUESTION = "Do you want to end the session? Say yes to end it, or no to carry on."
CHECK_IN = "Are you all right? Say yes to carry on, or no if the pain is still there."


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
        "Are you all right? Say yes to carry on, or no if the pain is still there.",
    ]
    assert (s.phase, s.state.pressure) == (Phase.CHECKING, 1)
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
    assert PressureChanged(3, ("lower-back",), "great") in s.effects
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
        "Knots is left out: it is offered once your partner asks for medium pressure.",
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
    assert s.effects == [Unused("yes", "running")]


def test_avoided_areas_are_skipped_with_a_note():
    s = Script(routine(), Profile(avoid=frozenset({"shoulders"})))
    s(Start(), 0.0)
    said = s.hear(Command.NEXT, 1.0)
    assert said[0] == "Leaving out circles, to spare the shoulders, as asked."
    assert s.step != "circles"


def test_back_from_the_first_step_stays_and_back_returns():
    s = Script(routine())
    s(Start(), 0.0)
    assert s.hear(Command.BACK, 10.0) == ["This is already the first step."]
    assert (s.phase, s.step) == (Phase.RUNNING, "glide")
    assert s.state.elapsed(20.0) == pytest.approx(20.0)
    s.hear(Command.NEXT, 21.0)
    assert s.hear(Command.BACK, 22.0 + UNDO_WINDOW) == ["Glide your palms up."]
    assert s.step == "glide"
    assert s.state.elapsed(22.0 + UNDO_WINDOW) == 0.0


def test_back_soon_after_next_carries_on_where_the_step_was():
    s = Script(routine())
    s(Start(), 0.0)
    s.run_timers_until(40.0)  # the halfway cue said
    s.hear(Command.NEXT, 40.0)
    assert s.hear(Command.BACK, 45.0) == ["Glide your palms up.", "20 seconds left."]
    assert (s.phase, s.step) == (Phase.RUNNING, "glide")
    assert s.state.elapsed(45.0) == pytest.approx(40.0)
    assert s.run_timers_until(65.0) == ["Almost done.", "Now, circles.", "Make small circles."]
    assert SessionState.from_dict(s.state.to_dict()) == s.state


def test_end_asks_first_then_goes_to_closing_then_ends():
    s = Script(routine())
    s(Start(), 0.0)
    assert s.hear(Command.END, 5.0) == [END_QUESTION]
    assert (s.phase, s.step) == (Phase.CONFIRMING, "glide")
    assert s.hear(Command.YES, 6.0) == ["Let's move to the closing.", "Closing", "Rest your hands."]
    assert s.step == "rest"
    assert s.hear(Command.END, 7.0) == [END_QUESTION]
    said = s.hear(Command.YES, 8.0)
    assert said == ["We'll finish here. That is the end of the session. Thank you."]
    assert s.phase is Phase.ENDED
    assert s.hear(Command.NEXT, 9.0) == []


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
    assert said == [
        "Welcome back. Glide. 30 seconds left. Medium pressure.",
        "Glide your palms up.",
    ]
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


# -- care that lasts -------------------------------------------------------------------------


def two_on_one_area(**first) -> Routine:
    """Two mid-back steps like the built-in's circles (start 2) and prayer (min 2, start 3)."""
    return routine(
        sections=[],
        steps=[
            {
                "id": "circles",
                "say": "Circles.",
                "duration": "2m",
                "area": "mid-back",
                "pressure": {"min": 1, "max": 3, "start": 2},
                **first,
            },
            {
                "id": "prayer",
                "say": "Prayer position.",
                "duration": "2m",
                "area": "mid-back",
                "pressure": {"min": 2, "max": 4, "start": 3},
            },
            {"id": "rest", "say": "Rest your hands.", "duration": "30s"},
        ],
    )


def test_ouch_lowers_the_area_for_the_next_step_on_it_and_it_never_rises_by_itself():
    s = Script(two_on_one_area())
    s(Start(), 0.0)
    assert s.state.pressure == 2
    s.hear(Command.PAIN, 20.0)
    assert s.state.pressure == 1
    assert s.hear(Command.YES, 25.0) == ["Good. We carry on at feather pressure."]
    said = s.run_timers_until(130.0)
    # The next mid-back step starts at feather, below its own minimum: pain outranks it.
    assert said == ["Now, prayer.", "Prayer position.", "Use your fingertips."]
    assert (s.step, s.state.pressure) == ("prayer", 1)
    # Asked for, it rises again.
    assert s.hear(Command.STRONGER, 140.0) == ["Light. Use flat palms."]
    assert s.state.pressure == 2


def test_lighter_and_stronger_are_remembered_for_the_area():
    s = Script(two_on_one_area())
    s(Start(), 0.0)
    s.hear(Command.STRONGER, 10.0)
    assert s.state.preferred == {"mid-back": 3}
    assert PressureChanged(3, ("mid-back",), "stronger") in s.effects
    s.run_timers_until(120.0)
    assert (s.step, s.state.pressure) == ("prayer", 3)

    soft = Script(two_on_one_area())
    soft(Start(), 0.0)
    soft.hear(Command.LIGHTER, 10.0)
    # Below the next step's minimum: it starts at its minimum (only pain goes below).
    assert soft.run_timers_until(120.0) == ["Now, prayer.", "Prayer position.", "Use flat palms."]
    assert soft.state.pressure == 2


def test_a_cue_that_adds_pressure_moves_the_level_but_not_after_pain():
    cue = {"cues": [{"at": "halfway", "say": "Slowly add a little pressure.", "pressure": 3}]}
    s = Script(two_on_one_area(**cue))
    s(Start(), 0.0)
    assert s.run_timers_until(60.0) == ["Slowly add a little pressure. Use your thumbs."]
    assert s.state.pressure == 3
    assert PressureChanged(3, ("mid-back",), "cue") in s.effects

    hurt = Script(two_on_one_area(**cue))
    hurt(Start(), 0.0)
    hurt.hear(Command.PAIN, 30.0)
    hurt.hear(Command.YES, 31.0)
    assert hurt.run_timers_until(90.0) == []
    assert hurt.state.pressure == 1
    # Nor after the person chose a level there.
    chosen = Script(two_on_one_area(**cue), Profile(pressure={"mid-back": 2}))
    chosen(Start(), 0.0)
    assert chosen.run_timers_until(90.0) == []


def test_check_in_answered_yes_carries_on_at_the_lowered_pressure():
    s = Script(two_on_one_area())
    s(Start(), 0.0)
    assert s.hear(Command.PAIN, 30.0)[-1] == CHECK_IN
    assert s.phase is Phase.CHECKING
    assert s.hear(Command.YES, 40.0) == ["Good. We carry on at feather pressure."]
    assert (s.phase, s.step, s.state.pressure) == (Phase.RUNNING, "circles", 1)
    assert s.session.wake_time(s.state) == pytest.approx(40.0 + 90.0)


def test_check_in_answered_go_ahead_is_not_next():
    s = Script(two_on_one_area())
    s(Start(), 0.0)
    s.hear(Command.PAIN, 30.0)
    # "go ahead" is a 'next' phrase: here it answers the question and skips nothing.
    assert s.hear(Command.NEXT, 40.0) == ["Good. We carry on at feather pressure."]
    assert (s.phase, s.step) == (Phase.RUNNING, "circles")
    assert s.state.elapsed(40.0) == pytest.approx(30.0)


def test_check_in_answered_no_stays_paused_and_offers_another_area():
    s = Script(two_on_one_area())
    s(Start(), 0.0)
    s.hear(Command.PAIN, 30.0)
    assert s.hear(Command.NO, 40.0) == [
        "All right. Ease off completely, and rest. We will leave the mid "
        "back alone for the rest of the session. Say next for another area, or end session "
        "to finish."
    ]
    assert s.phase is Phase.PAUSED
    assert s.hear(Command.NEXT, 60.0) == [
        "Leaving out prayer, to spare the mid back, as asked.",
        "Rest your hands.",
    ]
    assert s.step == "rest"


def test_it_still_hurts_at_the_check_in_is_a_no():
    s = Script(two_on_one_area())
    s(Start(), 0.0)
    s.hear(Command.PAIN, 30.0)
    said = s.hear(Command.PAIN, 35.0)
    assert said[0].startswith("All right. Ease off completely")
    assert s.phase is Phase.PAUSED and "mid-back" in s.state.avoid
    # Continue from there moves on to another area, too.
    assert s.hear(Command.RESUME, 50.0)[-1] == "Rest your hands."


def test_pressure_commands_in_a_step_without_touch():
    s = Script(routine())
    s(Start(), 0.0)
    s.hear(Command.END, 1.0)
    s.hear(Command.YES, 2.0)
    assert s.step == "rest"
    assert s.hear(Command.STRONGER, 3.0) == ["No pressure in this step."]
    assert s.hear(Command.GREAT, 4.0) == ["No pressure in this step."]
    assert s.state.pressure == 2


# -- end session asks first ------------------------------------------------------------------


def test_end_not_confirmed_carries_on_where_it_was():
    s = Script(routine())
    s(Start(), 0.0)
    s.hear(Command.END, 20.0)
    assert s.state.elapsed(25.0) == pytest.approx(20.0)  # the step clock waits for the answer
    assert s.hear(Command.NO, 25.0) == ["All right, we carry on."]
    assert (s.phase, s.step) == (Phase.RUNNING, "glide")
    assert s.session.wake_time(s.state) == pytest.approx(25.0 + 10.0)  # the halfway cue


def test_end_unanswered_carries_on_and_said_twice_ends():
    s = Script(routine())
    s(Start(), 0.0)
    s.hear(Command.END, 20.0)
    assert s.run_timers_until(20.0 + ASK_TIMEOUT) == ["All right, we carry on."]
    assert s.phase is Phase.RUNNING
    s.hear(Command.END, 45.0)
    assert s.hear(Command.END, 46.0)[0] == "Let's move to the closing."
    assert s.step == "rest"


def test_end_while_paused_comes_back_to_the_pause():
    s = Script(routine())
    s(Start(), 0.0)
    s.hear(Command.PAUSE, 10.0)
    s.hear(Command.END, 11.0)
    s.hear(Command.NO, 12.0)
    assert s.phase is Phase.PAUSED
    s.hear(Command.RESUME, 13.0)
    assert (s.phase, s.step) == (Phase.RUNNING, "glide")


# -- which steps are done: one rule ----------------------------------------------------------


def test_go_back_from_the_last_step_goes_to_the_step_done_before_it():
    s = Script(routine())
    s(Start(), 0.0)
    s.hear(Command.NEXT, 1.0)
    s.hear(Command.NEXT, 2.0)  # knots left out (below its pressure)
    assert s.step == "rest"
    assert s.hear(Command.BACK, 3.0) == ["Warm up", "Make small circles."]
    assert (s.phase, s.step) == (Phase.WAITING, "circles")


def test_offer_comes_up_when_firm_pressure_was_chosen_anywhere():
    r = routine()
    steps = r.sections[0].steps
    s = Script(r)
    s(Start(), 0.0)
    s.hear(Command.STRONGER, 1.0)  # glide: medium, the knots' minimum
    s.hear(Command.NEXT, 2.0)
    s.hear(Command.LIGHTER, 3.0)  # circles: back to light
    assert s.state.pressure == 2
    assert s.hear(Command.NEXT, 4.0) == [steps[2].offer.ask]
    # Or the recipient's profile says so.
    later = Script(routine(), Profile(pressure={"shoulders": 3}))
    later(Start(), 0.0)
    later.hear(Command.NEXT, 1.0)
    later.hear(Command.LIGHTER, 2.0)
    assert later.hear(Command.NEXT, 3.0) == [steps[2].offer.ask]


def test_a_run_of_steps_left_out_gets_one_note():
    r = routine(
        sections=[],
        steps=[
            {"id": "one", "say": "One.", "duration": "20s"},
            {"id": "two", "say": "Two.", "duration": "20s", "area": "neck"},
            {"id": "three", "say": "Three.", "duration": "20s", "areas": ["arms", "neck"]},
            {
                "id": "four",
                "say": "Four, down to the neck.",
                "say_if_avoided": {"neck": "Four, down to the shoulders."},
                "duration": "20s",
                "area": "shoulders",
            },
        ],
    )
    s = Script(r, Profile(avoid=frozenset({"neck"})))
    s(Start(), 0.0)
    assert s.run_timers_until(20.0) == [
        "Leaving out two and three, to spare the neck, as asked.",
        "Now, four.",
        "Four, down to the shoulders.",
    ]
    assert s.hear(Command.REPEAT, 21.0) == ["Four, down to the shoulders."]
    assert s.session.remaining(s.state, 21.0) == pytest.approx(19.0)


def test_a_routine_without_pressure_carries_none():
    r = routine(
        pressure=None,
        sections=[],
        steps=[{"id": "reach", "say": "Reach up.", "duration": "30s", "area": "arms"}],
    )
    s = Script(r)
    s(Start(), 0.0)
    assert s.state.care is None and s.session.care is None
    assert s.hear(Command.STRONGER, 1.0) == ["This routine has no pressure levels."]
    assert s.hear(Command.PAIN, 2.0)[:1] == [
        "Sorry. I have paused. Ease off, and rest for a moment."
    ]
    assert s.hear(Command.YES, 3.0) == ["Good. We carry on, gently."]
    assert SessionState.from_dict(s.state.to_dict()) == s.state


def test_every_language_pack_has_every_sentence_with_the_same_fields():
    from voice_guide.commands.prompts import prompt_languages, prompts

    english = prompts("en")
    assert prompt_languages() == ["en", "ko"]
    for language in prompt_languages():
        pack = prompts(language)
        assert pack.keys == english.keys, language
        for key in english.keys:
            assert pack.fields(key) == english.fields(key), (language, key)


def test_help_is_generated_from_the_phrase_table():
    from voice_guide.commands.prompts import prompts

    assert prompts("en").help() == (
        "You can say: next, go back, repeat, lighter, stronger, that feels great, pause, "
        "continue, ouch, how long, or end session."
    )


CORE = [
    "voice_guide/session.py",
    "voice_guide/pressure.py",
    "voice_guide/effects.py",
    "voice_guide/commands/prompts/__init__.py",
    "voice_guide/routine/model.py",
    "voice_guide/routine/loader.py",
    "voice_guide/routine/lint.py",
    "voice_guide/routine/timeline.py",
    "voice_guide/routine/areas.py",
]
"""The pure core: the state machine, its feature, its words and the routine model."""


def test_the_core_is_pure_no_audio_clock_cli_or_user_folder():
    import ast
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    forbidden = ("time", "datetime", "threading", "click", "sounddevice", "pyttsx3", "numpy")
    outside = ("speech_in", "speech_out", "cli", "store", "library", "paths", "runner", "live")
    for name in CORE:
        tree = ast.parse((root / name).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                modules = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            else:
                continue
            for module in modules:
                assert module.split(".")[0] not in forbidden, (name, module)
                parts = module.split(".")
                assert not (parts[0] == "voice_guide" and parts[1:2] and parts[1] in outside), (
                    name,
                    module,
                )
    # Nor through what they import.
    probe = "import sys, voice_guide.session, voice_guide.routine.lint; print(*sorted(sys.modules))"
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=root
    ).stdout.split()
    heavy = [m for m in loaded if m.split(".")[0] in forbidden[3:]]
    layers = [m for m in loaded if m.split(".")[:2][-1] in outside[:5] and "voice_guide" in m]
    assert (heavy, layers) == ([], [])


def test_reports_keep_the_transcripts_documented_names_and_fields():
    from voice_guide.effects import Ended, Paused, StepEntered, Summary
    from voice_guide.transcript import Transcript

    record = Transcript()
    summary = Summary(61.26, 3, 4, 2, {"shoulders": 2}, early=True)
    for report in (
        StepEntered(1, "circles", "Circles"),
        PressureChanged(1, ("legs", "lower-back"), "pain"),
        Paused("pain", 12.0),
        Unused("yes", "running"),
        Ended(summary),
    ):
        record.report(5.0, report)
    assert record.events == [
        {"t": 5.0, "event": "step", "index": 1, "id": "circles", "title": "Circles"},
        {
            "t": 5.0,
            "event": "pressure",
            "level": 1,
            "area": "legs",
            "reason": "pain",
            "areas": ["legs", "lower-back"],
        },
        {"t": 5.0, "event": "pause", "reason": "pain", "elapsed": 12.0},
        {
            "t": 5.0,
            "event": "end",
            "summary": {
                "duration": 61.3,
                "steps_done": 3,
                "steps_total": 4,
                "pressure": 2,
                "pressure_by_area": {"shoulders": 2},
                "ended": "ended early",
            },
        },
    ]


def test_the_session_never_says_a_safety_phrase_itself():
    # While the guide speaks, pause and pain phrases still act (barge-in): its own words
    # must not contain one, or its echo could pause the session or lower the pressure.
    import re

    from voice_guide.commands import phrase_table
    from voice_guide.commands.prompts import prompt_languages, prompts

    for language in prompt_languages():
        pack = prompts(language)
        safety = [p for p, c in phrase_table(language).items() if c.is_safety]
        for key in pack.keys:
            text = pack.text(key, **dict.fromkeys(pack.fields(key), "")).lower()
            for phrase in safety:
                assert not re.search(rf"(?<![\w']){re.escape(phrase)}(?![\w'])", text), (
                    language,
                    key,
                    phrase,
                )


def test_end_not_confirmed_during_an_offer_asks_the_offer_again():
    s = Script(routine())
    s(Start(), 0.0)
    s.hear(Command.NEXT, 1.0)
    s.hear(Command.STRONGER, 2.0)
    s.hear(Command.NEXT, 3.0)
    assert s.phase is Phase.ASKING
    s.hear(Command.END, 4.0)
    assert s.hear(Command.NO, 5.0) == ["All right, we carry on.", "Deeper work? Say yes or no."]
    assert s.phase is Phase.ASKING
    assert s.session.wake_time(s.state) == pytest.approx(5.0 + ASK_TIMEOUT)


def test_a_session_interrupted_at_a_question_comes_back_paused():
    s = Script(two_on_one_area())
    s(Start(), 0.0)
    s.hear(Command.PAIN, 10.0)
    restored = Script(two_on_one_area())
    restored.state = SessionState.from_dict(s.state.to_dict())
    said = restored(Restore(), 0.0)
    assert said[0] == "Welcome back. Circles. About 2 minutes left. Feather pressure."
    assert said[-1] == "We are paused. Say continue when you are ready."
    assert restored.phase is Phase.PAUSED
    assert restored.hear(Command.RESUME, 5.0)[0].startswith("Continuing. Circles.")
