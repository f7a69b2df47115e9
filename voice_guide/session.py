"""The session state machine: pure and deterministic.

`Session.handle(state, event, now) -> (state, effects)`. No threads, no audio, no clock
reads: time is passed in as session seconds. Phase changes follow `TRANSITIONS`, the one
table the README's diagram is generated from, so the two cannot drift apart.
"""

from __future__ import annotations

import bisect
import dataclasses
import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from voice_guide.commands import Command
from voice_guide.effects import (
    CancelSpeech,
    CancelTimer,
    Earcon,
    Effect,
    Log,
    Say,
    SayKind,
    StartTimer,
)
from voice_guide.routine.durations import spoken_duration
from voice_guide.routine.model import Routine, Step

ASK_TIMEOUT = 20.0
"""Seconds to wait for a yes/no before an offered step is left out (no answer is a no)."""

HELP_TEXT = (
    "You can say: next, go back, repeat, lighter, stronger, that feels great, pause, "
    "continue, ouch, how long, or end session."
)


class Phase(str, enum.Enum):
    """Where the session is."""

    READY = "ready"
    RUNNING = "running"  # a timed step, its timer going
    WAITING = "waiting"  # a step that lasts until "next"
    ASKING = "asking"  # an offered step waits for yes or no
    PAUSED = "paused"
    ENDED = "ended"


ENTER_STEP = "enter-step"
"""Pseudo-target: enter a step, which lands in RUNNING, WAITING, ASKING or ENDED."""
UNPAUSE = "unpause"
"""Pseudo-target: back to the phase the pause interrupted."""
STAY = "stay"

_ACTIVE = (Phase.RUNNING, Phase.WAITING, Phase.ASKING, Phase.PAUSED)
_IN_PLACE = (Command.REPEAT, Command.LIGHTER, Command.STRONGER, Command.GREAT)
_INFO = (Command.TIME, Command.HELP)


def _rows() -> Iterable[tuple[Phase, str, str]]:
    yield Phase.READY, "start", ENTER_STEP
    for phase in _ACTIVE:
        yield phase, "restore", STAY
        for command in (*_IN_PLACE, *_INFO):
            yield phase, command.value, STAY
        yield phase, Command.NEXT.value, ENTER_STEP
        yield phase, Command.BACK.value, ENTER_STEP
        yield phase, Command.END.value, ENTER_STEP
        yield phase, Command.PAIN.value, Phase.PAUSED
        if phase is not Phase.PAUSED:
            yield phase, Command.PAUSE.value, Phase.PAUSED
    yield Phase.RUNNING, "timer", ENTER_STEP
    yield Phase.ASKING, "timer", ENTER_STEP
    yield Phase.ASKING, Command.YES.value, Phase.RUNNING
    yield Phase.ASKING, Command.NO.value, ENTER_STEP
    yield Phase.PAUSED, Command.RESUME.value, UNPAUSE


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
    pressure: int | None = None
    anchor_time: float = 0.0
    """Session time when `anchor_elapsed` was measured."""
    anchor_elapsed: float = 0.0
    """Seconds of the current step already worked at `anchor_time`."""
    cues_said: int = 0
    """How many of the current step's cues, in time order, have been said."""
    paused_from: Phase | None = None
    ask_deadline: float | None = None
    done: tuple[str, ...] = ()
    """Ids of steps finished, in order."""
    preferred: Mapping[str, int] = field(default_factory=dict)
    """Pressure that felt right, per body area."""
    avoid: frozenset[str] = frozenset()

    def elapsed(self, now: float) -> float:
        """Seconds of the current step worked so far (frozen while paused)."""
        if self.phase is Phase.RUNNING:
            return self.anchor_elapsed + max(0.0, now - self.anchor_time)
        return self.anchor_elapsed

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able checkpoint."""
        data = dataclasses.asdict(self)
        data["phase"] = self.phase.value
        data["paused_from"] = self.paused_from.value if self.paused_from else None
        data["avoid"] = sorted(self.avoid)
        data["preferred"] = dict(self.preferred)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SessionState:
        """Inverse of to_dict."""
        return cls(
            phase=Phase(data["phase"]),
            index=int(data["index"]),
            pressure=data.get("pressure"),
            anchor_time=float(data["anchor_time"]),
            anchor_elapsed=float(data["anchor_elapsed"]),
            # Checkpoints written before `cues_said` listed the cues said ("cues_done").
            cues_said=int(data.get("cues_said", len(data.get("cues_done", ())))),
            paused_from=Phase(data["paused_from"]) if data.get("paused_from") else None,
            ask_deadline=data.get("ask_deadline"),
            done=tuple(data.get("done", ())),
            preferred=dict(data.get("preferred", {})),
            avoid=frozenset(data.get("avoid", ())),
        )


@dataclass(frozen=True)
class Profile:
    """What the state machine needs to know about the person receiving the session."""

    avoid: frozenset[str] = frozenset()
    pressure: Mapping[str, int] = field(default_factory=dict)


class _Out:
    """Collects effects while one event is handled."""

    def __init__(self) -> None:
        self.effects: list[Effect] = []

    def say(self, text: str | None, kind: SayKind = "info") -> None:
        if text:
            self.effects.append(Say(text, kind))

    def add(self, effect: Effect) -> None:
        self.effects.append(effect)


@dataclass(frozen=True)
class _CueSchedule:
    """A step's cues in the order they are said: per-tick work is a binary search."""

    offsets: tuple[float, ...]
    """Seconds after the step starts, ascending."""
    texts: tuple[str, ...]

    @classmethod
    def of(cls, step: Step) -> _CueSchedule:
        timed = sorted(((cue.at.offset(step.duration or 0), n) for n, cue in enumerate(step.cues)))
        return cls(tuple(offset for offset, _ in timed), tuple(step.cues[n].say for _, n in timed))


class Session:
    """The rules of a session of one routine. Holds no mutable state."""

    def __init__(self, routine: Routine) -> None:
        self.routine = routine
        self.steps: list[Step] = routine.all_steps
        self._cues = [_CueSchedule.of(step) for step in self.steps]

    # -- public API ---------------------------------------------------------------

    def initial(self, profile: Profile | None = None) -> SessionState:
        """The state before Start."""
        profile = profile or Profile()
        scale = self.routine.pressure
        return SessionState(
            pressure=scale.start if scale else None,
            preferred=dict(profile.pressure),
            avoid=frozenset(profile.avoid),
        )

    def handle(
        self, state: SessionState, event: Event, now: float
    ) -> tuple[SessionState, list[Effect]]:
        """Apply one event at session time `now`."""
        out = _Out()
        if isinstance(event, Tick):
            state = self._tick(state, now, out)
        else:
            trigger = {Start: "start", Restore: "restore"}.get(type(event))
            if isinstance(event, Heard):
                trigger = event.command.value
            assert trigger is not None
            target = TRANSITIONS.get((state.phase, trigger))
            if target is None:
                out.add(Log("unused", {"trigger": trigger, "phase": state.phase.value}))
            else:
                state = self._act(state, trigger, target, now, out)
                if isinstance(event, Heard) and target != Phase.PAUSED:
                    _acknowledge(out.effects)
        # Re-anchor so that a checkpoint of this state knows the step time worked so far.
        return replace(state, anchor_elapsed=state.elapsed(now), anchor_time=now), out.effects

    def wake_time(self, state: SessionState) -> float | None:
        """When the state machine next wants a Tick (None: only on events)."""
        if state.phase is Phase.ASKING:
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

    def _planned(self, step: Step, state: SessionState) -> float:
        """Seconds a later step is expected to take; avoided and unoffered steps take none."""
        if step.area and step.area in state.avoid:
            return 0.0
        if (
            step.offer
            and step.offer.min_pressure
            and (state.pressure or 0) < step.offer.min_pressure
        ):
            return 0.0
        return step.duration or 0.0

    # -- dispatch -----------------------------------------------------------------

    def _act(
        self, state: SessionState, trigger: str, target: str, now: float, out: _Out
    ) -> SessionState:
        if trigger == "start":
            out.say(self._intro(), "intro")
            for note in self.routine.safety:
                out.say(note, "safety")
            return self._enter(state, 0, now, out, automatic=False)
        if trigger == "restore":
            return self._restore(state, now, out)
        if trigger == "timer":
            return self._timer(state, now, out)
        command = Command(trigger)
        if target == ENTER_STEP:
            return self._move(state, command, now, out)
        if target == UNPAUSE:
            return self._resume(state, now, out)
        if target == Phase.PAUSED:
            return self._pause(state, command, now, out)
        if command is Command.YES:
            return self._begin(self._step(state), state, now, out)
        return self._in_place(state, command, now, out)

    def _tick(self, state: SessionState, now: float, out: _Out) -> SessionState:
        if state.phase is Phase.ASKING and state.ask_deadline is not None:
            if now >= state.ask_deadline:
                return self._act(state, "timer", ENTER_STEP, now, out)
            return state
        if state.phase is not Phase.RUNNING:
            return state
        step = self._step(state)
        assert step.duration is not None
        elapsed = state.elapsed(now)
        cues = self._cues[state.index]
        # Cues are said in time order, so the ones due are the next slice of the schedule.
        said = max(state.cues_said, bisect.bisect_right(cues.offsets, elapsed + 1e-6))
        for text in cues.texts[state.cues_said : said]:
            out.say(text, "cue")
        state = replace(state, cues_said=said)
        if elapsed + 1e-6 >= step.duration:
            return self._act(state, "timer", ENTER_STEP, now, out)
        out.add(StartTimer(self.wake_time(state) or now))
        return state

    # -- moving between steps -----------------------------------------------------

    def _timer(self, state: SessionState, now: float, out: _Out) -> SessionState:
        step = self._step(state)
        if state.phase is Phase.ASKING:
            out.say(step.offer.declined if step.offer else None, "ack")
            return self._enter(state, state.index + 1, now, out, automatic=True)
        state = replace(state, done=(*state.done, step.id))
        return self._enter(state, state.index + 1, now, out, automatic=True)

    def _move(self, state: SessionState, command: Command, now: float, out: _Out) -> SessionState:
        out.add(CancelSpeech())
        step = self._step(state)
        if command is Command.NEXT:
            if state.phase is not Phase.ASKING:
                state = replace(state, done=(*state.done, step.id))
            return self._enter(state, state.index + 1, now, out, automatic=False)
        if command is Command.NO:
            out.say(step.offer.declined if step.offer else None, "ack")
            return self._enter(state, state.index + 1, now, out, automatic=False)
        if command is Command.END:
            closing = self._closing_index()
            if state.index >= closing:
                return self._finish(state, out, early=True)
            out.say("Let's move to the closing.", "ack")
            return self._enter(state, closing, now, out, automatic=False)
        previous = self._previous(state)
        if previous is None:
            out.say("This is already the first step.", "ack")
            return state
        return self._enter(state, previous, now, out, automatic=False)

    def _enter(
        self, state: SessionState, index: int, now: float, out: _Out, *, automatic: bool
    ) -> SessionState:
        """Go to step `index`, skipping avoided areas and offers that do not apply."""
        previous = state.index if state.phase is not Phase.READY else None
        while index < len(self.steps):
            step = self.steps[index]
            if step.area and step.area in state.avoid:
                out.say(f"Leaving out the {_area(step.area)}, as asked.", "info")
                index += 1
                continue
            offer = step.offer
            if offer and offer.min_pressure and (state.pressure or 0) < offer.min_pressure:
                out.say(f"{step.name} is left out: it is only for firm pressure.", "info")
                index += 1
                continue
            break
        else:
            return self._finish(replace(state, index=len(self.steps) - 1), out, early=False)
        step = self.steps[index]
        out.add(Earcon("step"))
        section = self.routine.section_of(index)
        if previous is None or section != self.routine.section_of(previous):
            out.say(section, "transition")
        if automatic:
            out.say(step.transition or f"Now, {step.name.lower()}.", "transition")
        state = replace(
            state,
            index=index,
            cues_said=0,
            anchor_time=now,
            anchor_elapsed=0.0,
            paused_from=None,
            ask_deadline=None,
        )
        out.add(Log("step", {"index": index, "id": step.id, "title": step.name}))
        if step.offer:
            out.say(step.offer.ask, "question")
            deadline = now + ASK_TIMEOUT
            out.add(StartTimer(deadline))
            return replace(state, phase=Phase.ASKING, ask_deadline=deadline)
        return self._begin(step, state, now, out)

    def _begin(self, step: Step, state: SessionState, now: float, out: _Out) -> SessionState:
        """Start the step's work: instruction, safety, pressure, timer."""
        out.say(step.say, "instruction")
        for note in step.safety:
            out.say(note, "safety")
        state = self._settle_pressure(state, step, out)
        state = replace(state, anchor_time=now, anchor_elapsed=0.0, ask_deadline=None)
        if step.timed:
            state = replace(state, phase=Phase.RUNNING)
            out.add(StartTimer(self.wake_time(state) or now))
            return state
        out.add(CancelTimer())
        return replace(state, phase=Phase.WAITING)

    def _finish(self, state: SessionState, out: _Out, *, early: bool) -> SessionState:
        closing = "We'll finish here. " if early else ""
        out.say(f"{closing}That is the end of the session. Thank you.", "closing")
        out.add(Earcon("end"))
        out.add(CancelTimer())
        out.add(Log("end", {"steps_done": len(state.done), "early": early}))
        return replace(state, phase=Phase.ENDED, paused_from=None, ask_deadline=None)

    def _previous(self, state: SessionState) -> int | None:
        for index in range(state.index - 1, -1, -1):
            area = self.steps[index].area
            if not (area and area in state.avoid):
                return index
        return None

    def _closing_index(self) -> int:
        sections = self.routine.sections
        if len(sections) > 1:
            return len(self.steps) - len(sections[-1].steps)
        return len(self.steps) - 1

    # -- pause, resume, restore ---------------------------------------------------

    def _pause(self, state: SessionState, command: Command, now: float, out: _Out) -> SessionState:
        out.add(CancelSpeech())
        out.add(Earcon("paused"))
        out.add(CancelTimer())
        frozen = replace(
            state,
            phase=Phase.PAUSED,
            anchor_elapsed=state.elapsed(now),
            anchor_time=now,
            paused_from=state.paused_from or state.phase,
        )
        out.add(Log("pause", {"reason": command.value, "elapsed": frozen.anchor_elapsed}))
        if command is Command.PAIN:
            frozen = self._ease_off(frozen, out)
            out.say(
                "Are you all right? Say continue when you are ready, or end session to finish.",
                "question",
            )
            return frozen
        out.say("Paused. Say continue when you are ready.", "ack")
        return frozen

    def _ease_off(self, state: SessionState, out: _Out) -> SessionState:
        scale = self.routine.pressure
        if scale is None or state.pressure is None:
            out.say("Sorry. I have paused. Ease off and let your hands rest.", "ack")
            return state
        level = max(1, state.pressure - 1)
        out.say(f"Sorry. I have paused. Ease off to {scale.name(level)} pressure.", "ack")
        return self._set_pressure(state, level, out, "pain")

    def _resume(self, state: SessionState, now: float, out: _Out) -> SessionState:
        phase = state.paused_from or Phase.RUNNING
        state = replace(state, phase=phase, paused_from=None, anchor_time=now)
        out.add(Log("resume", {"elapsed": state.anchor_elapsed}))
        out.say(f"Continuing. {self._recap(state, now)}", "ack")
        if phase is Phase.ASKING:
            deadline = now + ASK_TIMEOUT
            out.say(self._step(state).offer.ask if self._step(state).offer else None, "question")
            out.add(StartTimer(deadline))
            return replace(state, ask_deadline=deadline)
        if phase is Phase.RUNNING:
            out.add(StartTimer(self.wake_time(state) or now))
        return state

    def _restore(self, state: SessionState, now: float, out: _Out) -> SessionState:
        state = replace(state, anchor_time=now)
        out.add(Log("restore", {"index": state.index}))
        out.say(f"Welcome back. {self._recap(state, now)}", "ack")
        if state.phase is Phase.PAUSED:
            out.say("We are paused. Say continue when you are ready.", "ack")
        elif state.phase is Phase.ASKING:
            deadline = now + ASK_TIMEOUT
            out.say(self._step(state).offer.ask if self._step(state).offer else None, "question")
            out.add(StartTimer(deadline))
            return replace(state, ask_deadline=deadline)
        elif state.phase is Phase.RUNNING:
            out.add(StartTimer(self.wake_time(state) or now))
        return state

    def _recap(self, state: SessionState, now: float) -> str:
        step = self._step(state)
        text = f"{step.name}."
        if step.duration is not None:
            left = max(0.0, step.duration - state.elapsed(now))
            text += f" {spoken_duration(left).capitalize()} left."
        if state.pressure is not None and self.routine.pressure:
            text += f" {self.routine.pressure.name(state.pressure).capitalize()} pressure."
        return text

    # -- in-place commands --------------------------------------------------------

    def _in_place(
        self, state: SessionState, command: Command, now: float, out: _Out
    ) -> SessionState:
        step = self._step(state)
        if command is Command.REPEAT:
            out.add(CancelSpeech())
            if state.phase is Phase.ASKING and step.offer:
                out.say(step.offer.ask, "question")
            else:
                out.say(step.repeat or step.say, "instruction")
        elif command in (Command.LIGHTER, Command.STRONGER):
            state = self._adjust(state, step, command, out)
        elif command is Command.GREAT:
            state = self._remember(state, step, out)
        elif command is Command.TIME:
            out.say(self._time_left(state, now), "info")
        elif command is Command.HELP:
            out.say(HELP_TEXT, "info")
            out.say(step.help or self.routine.help, "info")
        return state

    def _time_left(self, state: SessionState, now: float) -> str:
        step = self._step(state)
        total = spoken_duration(self.remaining(state, now))
        if step.duration is None:
            return f"This step lasts until you say next. {total.capitalize()} in the session."
        left = spoken_duration(max(0.0, step.duration - state.elapsed(now)))
        return f"{left.capitalize()} left in this step, {total} in the session."

    # -- pressure -----------------------------------------------------------------

    def _limits(self, step: Step) -> tuple[int, int]:
        top = self.routine.pressure.top if self.routine.pressure else 1
        limits = step.pressure
        low = limits.min if limits and limits.min else 1
        high = limits.max if limits and limits.max else top
        return low, high

    def _settle_pressure(self, state: SessionState, step: Step, out: _Out) -> SessionState:
        """Choose the level a step starts at: remembered for the area, else the step's own."""
        if state.pressure is None:
            return state
        low, high = self._limits(step)
        wanted = state.preferred.get(step.area) if step.area else None
        if wanted is None and step.pressure and step.pressure.start:
            wanted = step.pressure.start
        level = min(high, max(low, wanted if wanted is not None else state.pressure))
        if level != state.pressure:
            state = self._set_pressure(state, level, out, "step")
            out.say(self._technique(step, level), "technique")
        elif level in step.techniques:
            out.say(step.techniques[level], "technique")
        return state

    def _adjust(self, state: SessionState, step: Step, command: Command, out: _Out) -> SessionState:
        scale = self.routine.pressure
        if scale is None or state.pressure is None:
            out.say("This routine has no pressure levels.", "ack")
            return state
        low, high = self._limits(step)
        lighter = command is Command.LIGHTER
        level = state.pressure + (-1 if lighter else 1)
        if level < low or level > high:
            limit = "lightest" if lighter else "deepest"
            out.say(f"This is already the {limit} pressure for this step.", "ack")
            return state
        state = self._set_pressure(state, level, out, command.value)
        advice = step.lighter if lighter else step.stronger
        out.say(f"{scale.name(level).capitalize()}. {self._technique(step, level)}", "technique")
        out.say(advice, "technique")
        return state

    def _remember(self, state: SessionState, step: Step, out: _Out) -> SessionState:
        if state.pressure is None or not self.routine.pressure:
            out.say("Glad that feels good.", "ack")
            return state
        name = self.routine.pressure.name(state.pressure)
        if not step.area:
            out.say(f"Glad that feels good. Staying at {name}.", "ack")
            return state
        out.say(f"Glad that feels good. I'll remember {name} for the {_area(step.area)}.", "ack")
        out.add(Log("pressure", {"level": state.pressure, "area": step.area, "reason": "great"}))
        return replace(state, preferred={**state.preferred, step.area: state.pressure})

    def _set_pressure(
        self, state: SessionState, level: int, out: _Out, reason: str
    ) -> SessionState:
        """Move to `level`; `reason` says whether the person asked ('lighter', 'stronger',
        'pain') or the step did ('step'): only the person's wishes go into a profile."""
        area = self._step(state).area
        out.add(Log("pressure", {"level": level, "area": area, "reason": reason}))
        return replace(state, pressure=level)

    def _technique(self, step: Step, level: int) -> str:
        if level in step.techniques:
            return step.techniques[level]
        assert self.routine.pressure is not None
        return self.routine.pressure.levels[level].technique or ""

    def _intro(self) -> str:
        return (
            f"Welcome. Today: {self.routine.title}. Say help at any time to hear what you can say."
        )

    def _step(self, state: SessionState) -> Step:
        return self.steps[min(state.index, len(self.steps) - 1)]


def _acknowledge(effects: list[Effect]) -> None:
    """Confirm a command with the 'heard' earcon, after any speech it cut off."""
    position = 1 if effects and isinstance(effects[0], CancelSpeech) else 0
    effects.insert(position, Earcon("heard"))


def _area(area: str) -> str:
    return area.replace("-", " ").replace("_", " ")
