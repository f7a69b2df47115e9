"""The spoken shape of a step: an opening `say` of about SAY_WORDS words, then cues spread
over the step's time; what does not fit goes into further steps that wait for 'next'."""

from __future__ import annotations

from voice_guide.draft.document import Cue, Source, Value
from voice_guide.draft.sentences import Sentence

__all__ = ["MAX_SAY_CHARS", "TOO_MUCH", "Parts", "say_and_cues", "step_groups"]

SAY_WORDS = 32
"""A step's `say` holds about this many words; the rest of its sentences become cues."""
MAX_SAY_CHARS = 1800
"""Below the routine model's 2000 characters per text, with room to spare."""
MAX_CUES = 40
"""Most cues drafted in one step (the loader allows more; a guide never needs that many)."""
CUE_SPACING = 5
"""Seconds at least between drafted cues."""
TOO_MUCH = (
    "the guide says more here than fits in the step's time: give it a duration, "
    "or keep 'wait for next'"
)

Parts = list[tuple[Sentence, str]]
"""Spoken parts, each with the sentence it comes from."""


def step_groups(
    parts: Parts, duration: Value[float | None]
) -> list[tuple[Parts, Value[float | None]]]:
    """The parts as steps: a timed step says its opening and then cues (as many as its
    time has room for); what does not fit, and an untimed step's text, goes into steps
    short enough to say that wait for 'next'."""
    groups: list[tuple[Parts, Value[float | None]]] = []
    rest = parts
    if duration.value is not None:
        opening = _opening(parts)
        room = max(0, min(MAX_CUES, int(duration.value // CUE_SPACING) - 1))
        groups.append((parts[: opening + room], duration))
        rest = parts[opening + room :]
        duration = Value(None, todo=TOO_MUCH)
    chunk: Parts = []
    size = 0
    for part in rest:
        if chunk and size + len(part[1]) > MAX_SAY_CHARS:
            groups.append((chunk, duration))
            chunk, size = [], 0
        chunk.append(part)
        size += len(part[1]) + 1
    if chunk:
        groups.append((chunk, duration))
    return groups


def say_and_cues(group: Parts, duration: float | None) -> tuple[Value[str], tuple[Cue, ...]]:
    """The step's `say` and its cues (whole seconds, spread evenly, never at 0)."""
    opening = _opening(group) if duration is not None else len(group)
    first = group[0][0]
    say = Value(" ".join(part for _, part in group[:opening]), Source(first.line, first.text))
    rest = group[opening:]
    if not rest or duration is None:
        return say, ()
    slots = len(rest) + 1
    cues = tuple(
        Cue(max(1, int(duration * n / slots)), Value(part, Source(sentence.line, sentence.text)))
        for n, (sentence, part) in enumerate(rest, 1)
    )
    return say, cues


def _opening(parts: Parts) -> int:
    """How many parts a timed step says as it starts: about SAY_WORDS words, at least one."""
    count, words = 0, 0
    while count < len(parts) and (count == 0 or words + len(parts[count][1].split()) <= SAY_WORDS):
        words += len(parts[count][1].split())
        count += 1
    return count
