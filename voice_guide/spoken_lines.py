"""Every sentence a session of a routine can say: what `voice-guide record` asks the giver to
read, and what `check` compares the recordings with.

Found by running the session state machine itself (as the timeline does), not by listing the
routine's fields: the session's own prompts, the sentences it composes ("Firm. Use your
thumbs.") and whatever a language pack words differently are then exactly what is said.
The walk follows the session with nobody speaking (once per body area left out, for the
"leaving out" notes) and, on entering each step, tries every command up to PROBE_DEPTH deep
without leaving the step. A sentence that changes with the time (time left, a recap) cannot
be recorded: each step is probed at two times and only sentences said at both are kept.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

from voice_guide.commands import Command
from voice_guide.effects import Effect, Say, SayKind
from voice_guide.routine.lint import written_texts
from voice_guide.routine.loader import LoadedRoutine
from voice_guide.routine.model import Routine
from voice_guide.routine.timeline import WAIT_ESTIMATE
from voice_guide.session import Heard, Phase, Profile, Session, SessionState, Start, Tick

PROBE_DEPTH: Final = 3
"""Commands tried in a row inside one step (lighter, lighter, stronger reaches every level
of a four-level scale from the middle)."""
_MAX_EVENTS: Final = 100_000
"""A walk this long means the session never ends: stop rather than hang `check`."""

Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class Line:
    """One sentence the session can say."""

    text: str
    kind: SayKind
    step_id: str
    """The step during which it is first said."""
    key: str | None = None
    """Where the author wrote it, stable across edits ('step neck.say', 'safety.0'); None for
    the session's own prompts and composed sentences."""
    loc: Loc | None = None
    """Its path in the routine's source (for file:line:column), when `key` is set."""


def normalized(text: str) -> str:
    """`text` with runs of whitespace made one space: how recordings are matched to lines."""
    return " ".join(text.split())


def spoken_lines(loaded: LoadedRoutine) -> list[Line]:
    """Every sentence a session of the routine can say (see the module docstring), once
    each, in the order a session first says them."""
    routine = loaded.routine
    session = Session(routine)
    found: dict[str, tuple[SayKind, str]] = {}
    entries: list[tuple[SessionState, float]] = []
    profiles = [Profile()] + [Profile(avoid=frozenset({a})) for a in _areas(routine)]
    for n, profile in enumerate(profiles):
        for state, now, effects in _walk(session, profile):
            _collect(found, effects, session, state)
            entered = not entries or entries[-1][0].index != state.index
            if n == 0 and entered and state.phase is not Phase.ENDED:
                entries.append((state, now))
    for state, now in entries:
        step = session.steps[state.index]
        later = now + (step.duration / 2 if step.duration else WAIT_ESTIMATE / 2)
        early, late = _probe(session, state, now + 0.5), _probe(session, state, later)
        for text, (kind, step_id) in early.items():
            if text in late:
                found.setdefault(text, (kind, step_id))
    sources = _sources(loaded)
    lines = []
    for text, (kind, step_id) in found.items():
        key, loc = sources.get(text, (None, None))
        lines.append(Line(text, kind, step_id, key, loc))
    return lines


def _areas(routine: Routine) -> list[str]:
    return sorted({area for step in routine.all_steps for area in step.all_areas})


def _walk(session: Session, profile: Profile) -> Iterator[tuple[SessionState, float, list[Effect]]]:
    """The session with nobody speaking (a waiting step gets its "next" after a while)."""
    state, effects = session.handle(session.initial(profile), Start(), 0.0)
    now = 0.0
    yield state, now, effects
    for _ in range(_MAX_EVENTS):
        if state.phase is Phase.ENDED:
            return
        wake = session.wake_time(state)
        if wake is None:
            now += WAIT_ESTIMATE
            state, effects = session.handle(state, Heard(Command.NEXT), now)
        else:
            now = max(now, wake)
            state, effects = session.handle(state, Tick(), now)
        yield state, now, effects


def _probe(session: Session, state: SessionState, now: float) -> dict[str, tuple[SayKind, str]]:
    """What every sequence of up to PROBE_DEPTH commands says inside the step of `state`."""
    found: dict[str, tuple[SayKind, str]] = {}
    frontier, seen = [state], {repr(state)}
    for _ in range(PROBE_DEPTH):
        following = []
        for current in frontier:
            for command in Command:
                after, effects = session.handle(current, Heard(command), now)
                _collect(found, effects, session, current)
                same_step = after.index == current.index and after.phase is not Phase.ENDED
                if same_step and repr(after) not in seen:
                    seen.add(repr(after))
                    following.append(after)
        frontier = following
    return found


def _collect(
    found: dict[str, tuple[SayKind, str]],
    effects: list[Effect],
    session: Session,
    state: SessionState,
) -> None:
    step_id = session.steps[min(state.index, len(session.steps) - 1)].id
    for effect in effects:
        if isinstance(effect, Say) and effect.text.strip():
            found.setdefault(normalized(effect.text), (effect.kind, step_id))


def _sources(loaded: LoadedRoutine) -> dict[str, tuple[str, Loc]]:
    """Text -> (stable key, source path) for the texts the author wrote."""
    routine = loaded.routine
    ids = _step_ids(routine)
    sources: dict[str, tuple[str, Loc]] = {}
    for loc, text in written_texts(routine):
        sources.setdefault(normalized(text), (_stable_key(loc, ids), loc))
    return sources


def _step_ids(routine: Routine) -> dict[Loc, str]:
    if routine.steps:
        return {("steps", n): step.id for n, step in enumerate(routine.steps)}
    return {
        ("sections", s, "steps", n): step.id
        for s, section in enumerate(routine.sections)
        for n, step in enumerate(section.steps)
    }


def _stable_key(loc: Loc, ids: dict[Loc, str]) -> str:
    """`loc` with its step position replaced by the step's id: inserting a step above does
    not make every recording below it look stale."""
    for prefix, step_id in ids.items():
        if loc[: len(prefix)] == prefix:
            return ".".join([f"step {step_id}", *map(str, loc[len(prefix) :])])
    return ".".join(map(str, loc))
