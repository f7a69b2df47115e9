"""The drafted routine: typed records of every value and where in the guide it came from
(the YAML writer turns them into a routine file with a comment on each value)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, TypeVar

__all__ = ["Cue", "DraftRoutine", "DraftSection", "DraftStep", "Range", "Source", "Value"]

T = TypeVar("T")


@dataclass(frozen=True)
class Source:
    """Where a value was read: the guide's line and the words there."""

    line: int
    quote: str
    note: str = ""
    """How the value follows from the words, when that is not plain (e.g. 'middle of the range')."""


@dataclass(frozen=True)
class Value(Generic[T]):
    """A drafted value: inferred from `source`, or a placeholder with a `todo` for the author."""

    value: T
    source: Source | None = None
    todo: str | None = None


@dataclass(frozen=True)
class Range:
    """A step's pressure levels (1 lightest): the lowest, highest and starting one."""

    low: int
    high: int
    start: int


@dataclass(frozen=True)
class Cue:
    """A sentence said `at` seconds into a timed step."""

    at: int
    say: Value[str]


@dataclass(frozen=True)
class DraftStep:
    """One drafted step."""

    id: str
    title: Value[str]
    say: Value[str]
    duration: Value[float | None]
    """Seconds, or None: the step waits for 'next'."""
    areas: tuple[Value[str], ...] = ()
    pressure: Value[Range] | None = None
    cues: tuple[Cue, ...] = ()
    safety: tuple[Value[str], ...] = ()
    offer: Value[str] | None = None
    """The question asked before an offered step."""


@dataclass(frozen=True)
class DraftSection:
    """A heading of the guide and the steps under it; `title` None: steps without sections."""

    title: Value[str] | None
    steps: tuple[DraftStep, ...]


@dataclass(frozen=True)
class DraftRoutine:
    """Everything drafted from one guide."""

    guide: str
    title: Value[str]
    sections: tuple[DraftSection, ...]
    levels: tuple[Value[str], ...] = ()
    """The pressure scale, lightest first (empty: no pressure words in the guide)."""
    start: Value[int] = Value(1)
    """The level a session starts at: the first step's."""
    safety: tuple[Value[str], ...] = ()
    phrases: tuple[tuple[str, tuple[Value[str], ...]], ...] = ()
    """(command, extra phrases heard as it), in command order."""
    left_out: tuple[Source, ...] = field(default=())
    """Sentences that are not instructions (benefits, marketing, page furniture)."""

    @property
    def steps(self) -> list[DraftStep]:
        """Every step in order."""
        return [step for section in self.sections for step in section.steps]
