"""The timeline of a routine: what is said when, if nobody speaks.

Built by running the session state machine itself (no audio), so `preview`, `render`
and the live session cannot disagree about timing.
"""

from __future__ import annotations

from dataclasses import dataclass

from voice_guide.commands import Command
from voice_guide.effects import Say, SayKind
from voice_guide.routine.model import Routine
from voice_guide.routine.speech_time import estimate_speech_seconds
from voice_guide.session import Heard, Phase, Profile, Session, Start, Tick

WAIT_ESTIMATE = 30.0
"""Seconds a 'wait for next' step is assumed to take after its instruction is spoken."""


@dataclass(frozen=True)
class Entry:
    """One thing said: at `t` seconds (it starts when the speech before it has ended)."""

    t: float
    kind: SayKind
    text: str
    step_id: str
    section: str | None
    speech: float
    """Estimated seconds to say it."""


@dataclass(frozen=True)
class StepSpan:
    """When a step starts and how long it lasts."""

    index: int
    step_id: str
    title: str
    section: str | None
    start: float
    duration: float
    timed: bool


@dataclass(frozen=True)
class Timeline:
    """The whole session, as it runs with nobody speaking."""

    entries: list[Entry]
    steps: list[StepSpan]
    total: float


def build_timeline(routine: Routine, profile: Profile | None = None) -> Timeline:
    """Run the routine with nobody speaking (for a recipient with `profile`: areas to
    avoid, pressure per area) and record what is said when."""
    session = Session(routine)
    rate = routine.voice.rate
    state, effects = session.handle(session.initial(profile), Start(), 0.0)
    entries: list[Entry] = []
    starts: dict[int, float] = {}
    speech_end = 0.0
    now = 0.0
    while True:
        starts.setdefault(state.index, now)
        for effect in effects:
            if isinstance(effect, Say):
                begin = max(now, speech_end)
                length = estimate_speech_seconds(effect.text, rate)
                step = session.steps[state.index]
                section = routine.section_of(state.index)
                entries.append(Entry(begin, effect.kind, effect.text, step.id, section, length))
                speech_end = begin + length
        if state.phase is Phase.ENDED:
            break
        wake = session.wake_time(state)
        if wake is None:
            # A step that waits for "next": assume the person says it once the work is done.
            now = max(now, speech_end) + WAIT_ESTIMATE
            state, effects = session.handle(state, Heard(Command.NEXT), now)
        else:
            now = wake
            state, effects = session.handle(state, Tick(), now)
    total = max(now, speech_end)
    return Timeline(entries, _spans(session, starts, total), total)


def _spans(session: Session, starts: dict[int, float], total: float) -> list[StepSpan]:
    ordered = sorted(starts.items())
    spans = []
    for n, (index, start) in enumerate(ordered):
        end = ordered[n + 1][1] if n + 1 < len(ordered) else total
        step = session.steps[index]
        section = session.routine.section_of(index)
        spans.append(StepSpan(index, step.id, step.name, section, start, end - start, step.timed))
    return spans
