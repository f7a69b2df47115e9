"""The session state machine: pure and deterministic.

`Session.handle(state, event, now) -> (state, effects)`. No threads, no audio, no clock
reads: time is passed in as session seconds. Phase changes follow `TRANSITIONS`, the one
table the README's diagram is generated from, so the two cannot drift apart.

The core here knows phases, sequencing, timers, offers, pauses, time and help; pressure
(levels, techniques, per-area memory, easing off after pain) is the `PressureCare`
feature, present only when the routine has a pressure scale. Every sentence the session
speaks comes from the routine or from the routine's language pack.
"""

from __future__ import annotations

import bisect
import enum
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from voice_guide.commands import Command
from voice_guide.commands.prompts import Prompts, prompts
from voice_guide.effects import (
    CancelSpeech,
    CancelTimer,
    Earcon,
    Effect,
    Effects,
    Ended,
    Paused,
    Restored,
    Resumed,
    Skipped,
    StartTimer,
    StepEntered,
    Summary,
    Unused,
)
from voice_guide.pressure import PressureCare, PressureState, readable_area
from voice_guide.routine.model import Cue, Routine, Step

UNDO_WINDOW = 30.0
"""Seconds after a 'next' in which 'go back' returns to the step where it was (a 'next'
heard by mistake costs nothing); later, going back starts the step again."""
ASK_TIMEOUT = 20.0
"""Seconds to wait for a yes/no before an offered step is left out (no answer is a no),
or before an unanswered 'end the session?' carries on."""


class Phase(str, enum.Enum):
    """Where the session is."""

    READY = "ready"
    RUNNING = "running"  # a timed step, its timer going
    WAITING = "waiting"  # a step that lasts until "next"
    ASKING = "asking"  # an offered step waits for yes or no
    PAUSED = "paused"
    CHECKING = "checking"  # paused after pain: "are you all right?" waits for an answer
    CONFIRMING = "confirming"  # "end the session?" waits for yes or no
    ENDED = "ended"


ENTER_STEP = "enter-step"
"""Pseudo-target: enter a step, which lands in RUNNING, WAITING, ASKING or ENDED."""
UNPAUSE = "unpause"
"""Pseudo-target: back to the phase the pause or the question interrupted."""
STAY = "stay"

_WORKING = (Phase.RUNNING, Phase.WAITING, Phase.ASKING)
_ACTIVE = (*_WORKING, Phase.PAUSED, Phase.CHECKING, Phase.CONFIRMING)
_IN_PLACE = (Command.REPEAT, Command.LIGHTER, Command.STRONGER, Command.GREAT)
_INFO = (Command.TIME, Command.HELP)
_FROZEN = (Phase.PAUSED, Phase.CHECKING, Phase.CONFIRMING)
"""Phases in which the step's clock stands still."""


def _rows() -> Iterable[tuple[Phase, str, str]]:
    yield Phase.READY, "start", ENTER_STEP
    for phase in _ACTIVE:
        yield phase, "restore", STAY
        for command in (*_IN_PLACE, *_INFO):
            yield phase, command.value, STAY
        yield phase, Command.PAIN.value, Phase.CHECKING
        yield phase, Command.END.value, Phase.CONFIRMING
    for phase in (*_WORKING, Phase.PAUSED):
        yield phase, Command.NEXT.value, ENTER_STEP
        yield phase, Command.BACK.value, ENTER_STEP
    for phase in (*_WORKING, Phase.CONFIRMING):
        yield phase, Command.PAUSE.value, Phase.PAUSED
    yield Phase.RUNNING, "timer", ENTER_STEP
    yield Phase.ASKING, "timer", ENTER_STEP
    yield Phase.ASKING, Command.YES.value, Phase.RUNNING
    yield Phase.ASKING, Command.NO.value, ENTER_STEP
    yield Phase.PAUSED, Command.RESUME.value, UNPAUSE
    # The check-in after pain: an answer is never a command to move on.
    for fine in (Command.YES, Command.RESUME, Command.NEXT):
        yield Phase.CHECKING, fine.value, UNPAUSE
    yield Phase.CHECKING, Command.NO.value, Phase.PAUSED
    yield Phase.CHECKING, Command.PAIN.value, Phase.PAUSED  # "it still hurts"
    yield Phase.CHECKING, Command.BACK.value, ENTER_STEP
    # "End the session?": a false 'end session' costs one question, not the session.
    yield Phase.CONFIRMING, Command.YES.value, ENTER_STEP
    yield Phase.CONFIRMING, Command.END.value, ENTER_STEP  # said twice: that is a yes
    yield Phase.CONFIRMING, Command.NO.value, UNPAUSE
    yield Phase.CONFIRMING, "timer", UNPAUSE


TRANSITIONS: Mapping[tuple[Phase, str], str] = {(p, t): target for p, t, target in _rows()}
"""(phase, trigger) -> target phase or pseudo-target. Triggers: 'start', 'restore',
'timer' and command names. A trigger missing for a phase is not used there."""


@dataclass(frozen=True)
class Start:
    """Begin the session."""


@dataclass(frozen=True)
class Heard:
    """A command recognized (or typed)."""

    command: Command
    phrase: str = ""


@dataclass(frozen=True)
class Tick:
    """Time has passed (delivered at or after a StartTimer's time)."""


@dataclass(frozen=True)
class Restore:
    """The session continues after an interruption, from a checkpointed state."""


Event = Start | Heard | Tick | Restore


@dataclass(frozen=True)
class SessionState:
    """Everything the session knows; JSON-able through to_dict / from_dict."""

    phase: Phase = Phase.READY
    index: int = 0
    anchor_time: float = 0.0
    """Session time when `anchor_elapsed` was measured."""
    anchor_elapsed: float = 0.0
    """Seconds of the current step already worked at `anchor_time`."""
    cues_said: int = 0
    """How many of the current step's cues, in time order, have been said."""
    paused_from: Phase | None = None
    """The working phase a pause (or check-in) interrupted."""
    asked_from: Phase | None = None
    """The phase 'end the session?' interrupted."""
    ask_deadline: float | None = None
    left: tuple[int, float, int, float] | None = None
    """The timed step a 'next' just left: (index, seconds worked, cues said, when), so that
    'go back' soon after carries on where it was."""
    done: tuple[str, ...] = ()
    """Ids of steps finished, in order."""
    avoid: frozenset[str] = frozenset()
    care: PressureState | None = None
    """The pressure feature's state (None: the routine has no pressure scale)."""

    @property
    def pressure(self) -> int | None:
        """The current pressure level (None without a scale)."""
        return self.care.level if self.care else None

    @property
    def preferred(self) -> Mapping[str, int]:
        """Pressure remembered per body area."""
        return self.care.remembered if self.care else {}

    def elapsed(self, now: float) -> float:
        """Seconds of the current step worked so far (frozen while paused or asking)."""
        if self.phase is Phase.RUNNING:
            return self.anchor_elapsed + max(0.0, now - self.anchor_time)
        return self.anchor_elapsed

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able checkpoint."""
        return {
            "phase": self.phase.value,
            "index": self.index,
            "anchor_time": self.anchor_time,
            "anchor_elapsed": self.anchor_elapsed,
            "cues_said": self.cues_said,
            "paused_from": self.paused_from.value if self.paused_from else None,
            "asked_from": self.asked_from.value if self.asked_from else None,
            "ask_deadline": self.ask_deadline,
            "left": list(self.left) if self.left else None,
            "done": list(self.done),
            "avoid": sorted(self.avoid),
            "care": self.care.to_dict() if self.care else None,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SessionState:
        """Inverse of to_dict (also reads checkpoints written before the pressure split)."""
        care = data.get("care")
        if care is None and data.get("pressure") is not None:
            care = {"level": data["pressure"], "remembered": data.get("preferred", {})}
        return cls(
            phase=Phase(data["phase"]),
            index=int(data["index"]),
            anchor_time=float(data["anchor_time"]),
            anchor_elapsed=float(data["anchor_elapsed"]),
            # Checkpoints written before `cues_said` listed the cues said ("cues_done").
            cues_said=int(data.get("cues_said", len(data.get("cues_done", ())))),
            paused_from=Phase(data["paused_from"]) if data.get("paused_from") else None,
            asked_from=Phase(data["asked_from"]) if data.get("asked_from") else None,
            ask_deadline=data.get("ask_deadline"),
            left=_left_at(data.get("left")),
            done=tuple(data.get("done", ())),
            avoid=frozenset(data.get("avoid", ())),
            care=PressureState.from_dict(care) if care else None,
        )


@dataclass(frozen=True)
class Profile:
    """What the state machine needs to know about the person receiving the session."""

    avoid: frozenset[str] = frozenset()
    pressure: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class LeftOut:
    """Why a step is not done now: avoided areas it works, or an offer not yet due."""

    areas: tuple[str, ...] = ()
    offer_level: int | None = None
    """The pressure an offered step waits for."""


@dataclass(frozen=True)
class _CueSchedule:
    """A step's cues in the order they are said: per-tick work is a binary search."""

    offsets: tuple[float, ...]
    """Seconds after the step starts, ascending."""
    cues: tuple[Cue, ...]

    @classmethod
    def of(cls, step: Step) -> _CueSchedule:
        timed = sorted(((cue.at.offset(step.duration or 0), n) for n, cue in enumerate(step.cues)))
        return cls(tuple(offset for offset, _ in timed), tuple(step.cues[n] for _, n in timed))


class Session:
    """The rules of a session of one routine. Holds no mutable state."""

    def __init__(self, routine: Routine) -> None:
        self.routine = routine
        self.steps: list[Step] = routine.all_steps
        self._cues = [_CueSchedule.of(step) for step in self.steps]
        self.prompts: Prompts = prompts(routine.language)
        scale = routine.pressure
        self.care: PressureCare | None = PressureCare(scale, self.prompts) if scale else None

    # -- public API ---------------------------------------------------------------

    def initial(self, profile: Profile | None = None) -> SessionState:
        """The state before Start."""
        profile = profile or Profile()
        care = self.care.initial(profile.pressure) if self.care else None
        return SessionState(avoid=frozenset(profile.avoid), care=care)

    def handle(
        self, state: SessionState, event: Event, now: float
    ) -> tuple[SessionState, list[Effect]]:
        """Apply one event at session time `now`."""
        out = Effects()
        if isinstance(event, Tick):
            state = self._tick(state, now, out)
        else:
            trigger = {Start: "start", Restore: "restore"}.get(type(event))
            if isinstance(event, Heard):
                trigger = event.command.value
            assert trigger is not None
            target = TRANSITIONS.get((state.phase, trigger))
            if target is None:
                out.add(Unused(trigger, state.phase.value))
            else:
                state = self._act(state, trigger, target, now, out)
                if isinstance(event, Heard) and target not in (Phase.PAUSED, Phase.CHECKING):
                    _acknowledge(out.items)
        # Re-anchor so that a checkpoint of this state knows the step time worked so far.
        return replace(state, anchor_elapsed=state.elapsed(now), anchor_time=now), out.items

    def wake_time(self, state: SessionState) -> float | None:
        """When the state machine next wants a Tick (None: only on events)."""
        if state.phase in (Phase.ASKING, Phase.CONFIRMING):
            return state.ask_deadline
        if state.phase is not Phase.RUNNING:
            return None
        step = self.steps[state.index]
        assert step.duration is not None
        cues = self._cues[state.index]
        due = step.duration
        if state.cues_said < len(cues.offsets):
            due = min(due, cues.offsets[state.cues_said])
        return state.anchor_time + max(0.0, due - state.anchor_elapsed)

    def remaining(self, state: SessionState, now: float) -> float:
        """Estimated seconds left in the session (timed steps only)."""
        if state.phase is Phase.ENDED:
            return 0.0
        if state.phase is Phase.READY:
            return sum(self._planned(step, state) for step in self.steps)
        step = self.steps[state.index]
        left = max(0.0, (step.duration or 0) - state.elapsed(now))
        return left + sum(self._planned(s, state) for s in self.steps[state.index + 1 :])

    def left_out(self, step: Step, state: SessionState) -> LeftOut | None:
        """The one rule for which steps are done: None when `step` is done now, else why
        not. Used going forward, going back and planning the time left."""
        areas = tuple(area for area in step.all_areas if area in state.avoid)
        if areas:
            return LeftOut(areas=areas)
        wanted = step.offer.min_pressure if step.offer else None
        if wanted and not (self.care and state.care and self.care.reached(state.care, wanted)):
            return LeftOut(offer_level=wanted)
        return None

    def summary(self, state: SessionState, now: float, *, early: bool) -> Summary:
        """What the session did up to `now`."""
        return Summary(
            duration=now,
            steps_done=len(set(state.done)),  # a step done again after go back counts once
            steps_total=len(self.steps),
            pressure=state.pressure,
            pressure_by_area=dict(state.preferred),
            early=early,
        )

    def _planned(self, step: Step, state: SessionState) -> float:
        """Seconds a later step is expected to take; steps left out take none."""
        return 0.0 if self.left_out(step, state) else step.duration or 0.0

    # -- dispatch -----------------------------------------------------------------

    def _act(
        self, state: SessionState, trigger: str, target: str, now: float, out: Effects
    ) -> SessionState:
        if trigger == "start":
            out.say(self.prompts.text("welcome", title=self.routine.title), "intro")
            for note in self.routine.safety:
                out.say(note, "safety")
            return self._enter(state, 0, now, out, automatic=False)
        if trigger == "restore":
            return self._restore(state, now, out)
        if trigger == "timer":
            if state.phase is Phase.CONFIRMING:
                return self._carry_on(state, now, out)
            return self._timer(state, now, out)
        command = Command(trigger)
        if target == Phase.CONFIRMING:
            return self._confirm_end(state, now, out)
        if state.phase is Phase.CONFIRMING and target in (ENTER_STEP, UNPAUSE):
            if command in (Command.YES, Command.END):
                return self._end(replace(state, asked_from=None), now, out)
            return self._carry_on(state, now, out)
        if state.phase is Phase.CHECKING and target in (UNPAUSE, Phase.PAUSED):
            return self._answer_check_in(state, command, now, out)
        if target == ENTER_STEP:
            return self._move(state, command, now, out)
        if target == UNPAUSE:
            return self._resume(state, now, out)
        if target in (Phase.PAUSED, Phase.CHECKING):
            return self._pause(state, command, now, out)
        if command is Command.YES:
            return self._begin(self._step(state), state, now, out)
        return self._in_place(state, command, now, out)

    def _tick(self, state: SessionState, now: float, out: Effects) -> SessionState:
        if state.phase in (Phase.ASKING, Phase.CONFIRMING) and state.ask_deadline is not None:
            if now >= state.ask_deadline:
                return self._act(state, "timer", TRANSITIONS[(state.phase, "timer")], now, out)
            return state
        if state.phase is not Phase.RUNNING:
            return state
        step = self._step(state)
        assert step.duration is not None
        elapsed = state.elapsed(now)
        cues = self._cues[state.index]
        # Cues are said in time order, so the ones due are the next slice of the schedule.
        said = max(state.cues_said, bisect.bisect_right(cues.offsets, elapsed + 1e-6))
        for cue in cues.cues[state.cues_said : said]:
            state = self._cue(state, step, cue, out)
        state = replace(state, cues_said=said)
        if elapsed + 1e-6 >= step.duration:
            return self._act(state, "timer", ENTER_STEP, now, out)
        out.add(StartTimer(self.wake_time(state) or now))
        return state

    def _cue(self, state: SessionState, step: Step, cue: Cue, out: Effects) -> SessionState:
        if self.care and state.care and step.touches:
            return replace(state, care=self.care.cue(state.care, step, cue, out))
        out.say(cue.say, "cue")
        return state

    # -- moving between steps -----------------------------------------------------

    def _timer(self, state: SessionState, now: float, out: Effects) -> SessionState:
        step = self._step(state)
        if state.phase is Phase.ASKING:
            out.say(self._declined(step), "ack")
            return self._enter(state, state.index + 1, now, out, automatic=True)
        state = replace(state, done=(*state.done, step.id))
        return self._enter(state, state.index + 1, now, out, automatic=True)

    def _move(
        self, state: SessionState, command: Command, now: float, out: Effects
    ) -> SessionState:
        out.add(CancelSpeech())
        step = self._step(state)
        if command is Command.NEXT:
            if state.phase is Phase.ASKING:
                return self._enter(state, state.index + 1, now, out, automatic=False)
            worked = state.paused_from if state.phase in _FROZEN else state.phase
            left = (state.index, state.elapsed(now), state.cues_said, now)
            state = replace(state, done=(*state.done, step.id))
            state = self._enter(state, state.index + 1, now, out, automatic=False)
            # A 'next' heard by mistake is undone by 'go back': the step goes on from there.
            return replace(state, left=left if worked is Phase.RUNNING else None)
        if command is Command.NO:
            out.say(self._declined(step), "ack")
            return self._enter(state, state.index + 1, now, out, automatic=False)
        previous = self._previous(state)
        if previous is None:
            out.say(self.prompts.text("first_step"), "ack")
            return state
        left = state.left
        state = self._enter(state, previous, now, out, automatic=False)
        soon = left is not None and now - left[3] <= UNDO_WINDOW
        if left and soon and left[0] == state.index and state.phase is Phase.RUNNING:
            return self._carry_on_from(state, left[1], left[2], now, out)
        return state

    def _carry_on_from(
        self, state: SessionState, elapsed: float, cues_said: int, now: float, out: Effects
    ) -> SessionState:
        """Back to the step just left: its clock and cues go on where they were."""
        state = replace(state, anchor_elapsed=elapsed, anchor_time=now, cues_said=cues_said)
        step = self._step(state)
        left = self.prompts.duration(max(0.0, (step.duration or 0.0) - elapsed))
        out.say(_capital(self.prompts.text("recap_left", left=left)), "info")
        out.add(StartTimer(self.wake_time(state) or now))
        return state

    def _enter(
        self, state: SessionState, index: int, now: float, out: Effects, *, automatic: bool
    ) -> SessionState:
        """Go to step `index`, or the first after it that is not left out (one note for
        the steps left out on the way)."""
        previous = state.index if state.phase is not Phase.READY else None
        skipped: list[tuple[Step, LeftOut]] = []
        while index < len(self.steps):
            reason = self.left_out(self.steps[index], state)
            if reason is None:
                break
            skipped.append((self.steps[index], reason))
            index += 1
        self._note_left_out(skipped, out)
        if index >= len(self.steps):
            return self._finish(replace(state, index=len(self.steps) - 1), now, out, early=False)
        step = self.steps[index]
        out.add(Earcon("step"))
        section = self.routine.section_of(index)
        if previous is None or section != self.routine.section_of(previous):
            out.say(section, "transition")
        if automatic:
            default = self.prompts.text("transition", step=step.name.lower())
            out.say(step.transition or default, "transition")
        state = replace(
            state,
            index=index,
            cues_said=0,
            anchor_time=now,
            anchor_elapsed=0.0,
            paused_from=None,
            asked_from=None,
            ask_deadline=None,
            left=None,
        )
        out.add(StepEntered(index, step.id, step.name))
        if step.offer:
            out.say(step.offer.ask, "question")
            deadline = now + ASK_TIMEOUT
            out.add(StartTimer(deadline))
            return replace(state, phase=Phase.ASKING, ask_deadline=deadline)
        return self._begin(step, state, now, out)

    def _note_left_out(self, skipped: list[tuple[Step, LeftOut]], out: Effects) -> None:
        if not skipped:
            return
        text = self.prompts.text
        avoided = [step for step, why in skipped if why.areas]
        areas = list(dict.fromkeys(area for _, why in skipped for area in why.areas))
        if avoided:
            steps = self.prompts.join([step.name.lower() for step in avoided])
            spared = self.prompts.join([readable_area(area) for area in areas])
            out.say(text("left_out_areas", steps=steps, areas=spared), "info")
        for step, why in skipped:
            if why.offer_level and self.routine.pressure:
                level = self.routine.pressure.name(why.offer_level)
                out.say(text("left_out_offer", step=step.name, level=level), "info")
        out.add(Skipped(tuple(step.id for step, _ in skipped), tuple(areas)))

    def _begin(self, step: Step, state: SessionState, now: float, out: Effects) -> SessionState:
        """Start the step's work: instruction, safety, pressure, timer."""
        out.say(step.instruction(state.avoid), "instruction")
        for note in step.safety:
            out.say(note, "safety")
        if self.care and state.care:
            state = replace(state, care=self.care.begin(state.care, step, out))
        state = replace(state, anchor_time=now, anchor_elapsed=0.0, ask_deadline=None)
        if step.timed:
            state = replace(state, phase=Phase.RUNNING)
            out.add(StartTimer(self.wake_time(state) or now))
            return state
        out.add(CancelTimer())
        return replace(state, phase=Phase.WAITING)

    def _previous(self, state: SessionState) -> int | None:
        """The step to go back to: the latest earlier step that was done (and is not left
        out now), else the latest earlier step that would be done."""
        earlier = [
            i for i in range(state.index - 1, -1, -1) if not self.left_out(self.steps[i], state)
        ]
        done = [i for i in earlier if self.steps[i].id in state.done]
        return (done or earlier or [None])[0]

    def _closing_index(self) -> int:
        sections = self.routine.sections
        if len(sections) > 1:
            return len(self.steps) - len(sections[-1].steps)
        return len(self.steps) - 1

    # -- ending -------------------------------------------------------------------

    def _confirm_end(self, state: SessionState, now: float, out: Effects) -> SessionState:
        """'end session' asks first: a misheard phrase must not end someone's massage."""
        out.add(CancelSpeech())
        out.add(CancelTimer())
        out.say(self.prompts.text("end_confirm"), "question")
        deadline = now + ASK_TIMEOUT
        out.add(StartTimer(deadline))
        frozen = state.elapsed(now)
        return replace(
            state,
            phase=Phase.CONFIRMING,
            asked_from=state.phase,
            ask_deadline=deadline,
            anchor_elapsed=frozen,
            anchor_time=now,
        )

    def _carry_on(self, state: SessionState, now: float, out: Effects) -> SessionState:
        """'no' (or no answer) to 'end the session?': back to where it was."""
        out.say(self.prompts.text("end_kept"), "ack")
        phase = state.asked_from or Phase.RUNNING
        state = replace(state, phase=phase, asked_from=None, ask_deadline=None, anchor_time=now)
        return self._restart_clock(state, now, out)

    def _end(self, state: SessionState, now: float, out: Effects) -> SessionState:
        out.add(CancelSpeech())
        closing = self._closing_index()
        if state.index >= closing:
            return self._finish(state, now, out, early=True)
        out.say(self.prompts.text("to_closing"), "ack")
        return self._enter(state, closing, now, out, automatic=False)

    def _finish(
        self, state: SessionState, now: float, out: Effects, *, early: bool
    ) -> SessionState:
        out.say(self.prompts.text("finished_early" if early else "finished"), "closing")
        out.add(Earcon("end"))
        out.add(CancelTimer())
        out.add(Ended(self.summary(state, now, early=early)))
        return replace(
            state, phase=Phase.ENDED, paused_from=None, asked_from=None, ask_deadline=None
        )

    # -- pause, check-in, resume, restore -------------------------------------------

    def _pause(
        self, state: SessionState, command: Command, now: float, out: Effects
    ) -> SessionState:
        out.add(CancelSpeech())
        out.add(Earcon("paused"))
        out.add(CancelTimer())
        before = state.asked_from if state.phase is Phase.CONFIRMING else state.phase
        working = before if before in _WORKING else state.paused_from
        frozen = replace(
            state,
            phase=Phase.CHECKING if command is Command.PAIN else Phase.PAUSED,
            anchor_elapsed=state.elapsed(now),
            anchor_time=now,
            paused_from=working or Phase.RUNNING,
            asked_from=None,
            ask_deadline=None,
        )
        out.add(Paused(command.value, frozen.anchor_elapsed))
        if command is Command.PAIN:
            frozen = self._ease_off(frozen, out)
            out.say(self.prompts.text("check_in"), "question")
            return frozen
        out.say(self.prompts.text("paused"), "ack")
        return frozen

    def _ease_off(self, state: SessionState, out: Effects) -> SessionState:
        if self.care is None or state.care is None:
            out.say(self.prompts.text("pain_no_scale"), "ack")
            return state
        return replace(state, care=self.care.ease_off(state.care, self._step(state), out))

    def _answer_check_in(
        self, state: SessionState, command: Command, now: float, out: Effects
    ) -> SessionState:
        """'Are you all right?' — fine: carry on at the lowered pressure at once (the
        person has just said so; waiting for a second word would only add a step); it
        still hurts: stay paused, leave the area alone, offer another area or the end."""
        if command in (Command.YES, Command.RESUME, Command.NEXT):
            if self.care and state.care:
                level = self.care.level_name(state.care)
                out.say(self.prompts.text("check_in_fine", level=level), "ack")
            else:
                out.say(self.prompts.text("check_in_fine_no_scale"), "ack")
            return self._unpause(state, now, out)
        areas = self._step(state).all_areas
        if not areas:
            out.say(self.prompts.text("check_in_hurts_no_area"), "ack")
            return replace(state, phase=Phase.PAUSED)
        spared = self.prompts.join([readable_area(area) for area in areas])
        out.say(self.prompts.text("check_in_hurts", areas=spared), "ack")
        return replace(state, phase=Phase.PAUSED, avoid=state.avoid | set(areas))

    def _resume(self, state: SessionState, now: float, out: Effects) -> SessionState:
        if self.left_out(self._step(state), state):  # its area hurt: go on to another one
            out.add(Resumed(state.anchor_elapsed))
            state = replace(state, done=(*state.done, self._step(state).id))
            return self._enter(state, state.index + 1, now, out, automatic=False)
        out.say(self.prompts.text("continuing", recap=self._recap(state, now)), "ack")
        return self._unpause(state, now, out)

    def _unpause(self, state: SessionState, now: float, out: Effects) -> SessionState:
        phase = state.paused_from or Phase.RUNNING
        state = replace(state, phase=phase, paused_from=None, anchor_time=now)
        out.add(Resumed(state.anchor_elapsed))
        return self._restart_clock(state, now, out)

    def _restart_clock(self, state: SessionState, now: float, out: Effects) -> SessionState:
        """After an interruption: ask the offer again, or restart the step timer."""
        step = self._step(state)
        if state.phase is Phase.ASKING:
            deadline = now + ASK_TIMEOUT
            out.say(step.offer.ask if step.offer else None, "question")
            out.add(StartTimer(deadline))
            return replace(state, ask_deadline=deadline)
        if state.phase is Phase.RUNNING:
            out.add(StartTimer(self.wake_time(state) or now))
        return state

    def _restore(self, state: SessionState, now: float, out: Effects) -> SessionState:
        state = replace(state, anchor_time=now)
        out.add(Restored(state.index))
        out.say(self.prompts.text("welcome_back", recap=self._recap(state, now)), "ack")
        if state.phase is not Phase.ASKING:  # what the hands were doing, briefly
            said = self._step(state).instruction(state.avoid)
            out.say(_first_sentence(said), "instruction")
        if state.phase in _FROZEN:
            if state.phase is Phase.CONFIRMING:
                state = replace(state, phase=Phase.PAUSED, asked_from=None, ask_deadline=None)
            out.say(self.prompts.text("still_paused"), "ack")
            return replace(state, phase=Phase.PAUSED)
        return self._restart_clock(state, now, out)

    def _recap(self, state: SessionState, now: float) -> str:
        step = self._step(state)
        parts = [self.prompts.text("recap_step", step=step.name)]
        if step.duration is not None:
            left = self.prompts.duration(max(0.0, step.duration - state.elapsed(now)))
            parts.append(_capital(self.prompts.text("recap_left", left=left)))
        if self.care and state.care and step.touches:
            parts.append(self.care.recap(state.care))
        return " ".join(parts)

    # -- in-place commands --------------------------------------------------------

    def _in_place(
        self, state: SessionState, command: Command, now: float, out: Effects
    ) -> SessionState:
        step = self._step(state)
        if command is Command.REPEAT:
            out.add(CancelSpeech())
            out.say(self._question(state) or step.repeat or step.instruction(state.avoid))
        elif command in (Command.LIGHTER, Command.STRONGER, Command.GREAT):
            state = self._pressure_command(state, step, command, out)
        elif command is Command.TIME:
            out.say(self._time_left(state, now), "info")
        elif command is Command.HELP:
            out.say(self.prompts.help(), "info")
            out.say(step.help or self.routine.help, "info")
        return state

    def _question(self, state: SessionState) -> str | None:
        """The question waiting for an answer, if any (repeated on 'repeat')."""
        step = self._step(state)
        if state.phase is Phase.ASKING and step.offer:
            return step.offer.ask
        if state.phase is Phase.CHECKING:
            return self.prompts.text("check_in")
        if state.phase is Phase.CONFIRMING:
            return self.prompts.text("end_confirm")
        return None

    def _pressure_command(
        self, state: SessionState, step: Step, command: Command, out: Effects
    ) -> SessionState:
        if self.care is None or state.care is None:
            key = "great" if command is Command.GREAT else "no_pressure_routine"
            out.say(self.prompts.text(key), "ack")
            return state
        if command is Command.GREAT:
            care = self.care.great(state.care, step, out)
        else:
            care = self.care.adjust(state.care, step, command is Command.LIGHTER, out)
        return replace(state, care=care)

    def _time_left(self, state: SessionState, now: float) -> str:
        step = self._step(state)
        total = self.prompts.duration(self.remaining(state, now))
        if step.duration is None:
            return self.prompts.text("time_left_waiting", total=_capital(total))
        left = self.prompts.duration(max(0.0, step.duration - state.elapsed(now)))
        return self.prompts.text("time_left", left=_capital(left), total=total)

    def _declined(self, step: Step) -> str | None:
        if step.offer is None:
            return None
        return step.offer.declined or self.prompts.text("offer_declined")

    def _step(self, state: SessionState) -> Step:
        return self.steps[min(state.index, len(self.steps) - 1)]


def _acknowledge(effects: list[Effect]) -> None:
    """Confirm a command with the 'heard' earcon, after any speech it cut off."""
    position = 1 if effects and isinstance(effects[0], CancelSpeech) else 0
    effects.insert(position, Earcon("heard"))


def _left_at(data: Any) -> tuple[int, float, int, float] | None:
    if not data:
        return None
    index, elapsed, cues_said, at = data
    return int(index), float(elapsed), int(cues_said), float(at)


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _first_sentence(text: str) -> str:
    return re.split(r"(?<=[.!?])\s+", text.strip(), maxsplit=1)[0]
