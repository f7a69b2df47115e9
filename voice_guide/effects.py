"""What the session state machine asks the outside world to do, and what it reports.

The state machine never acts itself: it returns these values and the runner carries
them out (speaker, earcons, timers) and records the reports (transcript, store, profile).
Reports are typed records: consumers match on their type, never on a string.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

SayKind = Literal[
    "intro",
    "instruction",
    "transition",
    "cue",
    "safety",
    "technique",
    "ack",
    "info",
    "question",
    "closing",
]
EarconName = Literal["heard", "step", "paused", "end"]
PressureReason = Literal["lighter", "stronger", "great", "pain", "step", "cue"]
"""Why the pressure moved: the person asked ('lighter', 'stronger', 'great', 'pain') or
the routine did ('step': a step's own level, 'cue': a cue that adds pressure)."""
ASKED: frozenset[str] = frozenset({"lighter", "stronger", "great", "pain"})
"""Reasons that are the person's own wish (only these go into a recipient's profile)."""


@dataclass(frozen=True)
class Say:
    """Speak this text (queued after anything already being said)."""

    text: str
    kind: SayKind = "info"


@dataclass(frozen=True)
class CancelSpeech:
    """Stop speaking now and drop queued speech."""


@dataclass(frozen=True)
class Earcon:
    """Play a short tone."""

    name: EarconName


@dataclass(frozen=True)
class StartTimer:
    """Deliver a Tick event at session time `at` (replaces any earlier timer)."""

    at: float


@dataclass(frozen=True)
class CancelTimer:
    """Forget the pending timer."""


# -- reports: what happened (the transcript's event names are the `event` class constants) --


@dataclass(frozen=True)
class StepEntered:
    """A step began (index into the routine's steps)."""

    event: ClassVar[str] = "step"
    index: int
    id: str
    title: str


@dataclass(frozen=True)
class PressureChanged:
    """The pressure moved to `level`, for the body areas of the current step."""

    event: ClassVar[str] = "pressure"
    level: int
    areas: tuple[str, ...]
    reason: PressureReason

    @property
    def asked(self) -> bool:
        """True when the person asked for it (a wish worth keeping in their profile)."""
        return self.reason in ASKED


@dataclass(frozen=True)
class Paused:
    """The session paused: `reason` is the command ('pause', 'pain') that did it."""

    event: ClassVar[str] = "pause"
    reason: str
    elapsed: float
    """Seconds of the step worked before the pause."""


@dataclass(frozen=True)
class Resumed:
    """The session carries on after a pause."""

    event: ClassVar[str] = "resume"
    elapsed: float


@dataclass(frozen=True)
class Restored:
    """A checkpointed session continues (a new process)."""

    event: ClassVar[str] = "restore"
    index: int


@dataclass(frozen=True)
class Skipped:
    """Steps left out in a row: their ids and why (avoided areas, an offer not due)."""

    event: ClassVar[str] = "skipped"
    ids: tuple[str, ...]
    areas: tuple[str, ...]
    """Avoided areas that caused it (empty when only offers were left out)."""


@dataclass(frozen=True)
class Unused:
    """A command that means nothing in this phase (e.g. 'yes' with no question asked)."""

    event: ClassVar[str] = "unused"
    trigger: str
    phase: str


@dataclass(frozen=True)
class Summary:
    """What a session did: the transcript's end event and the history row."""

    duration: float
    steps_done: int
    steps_total: int
    pressure: int | None
    pressure_by_area: dict[str, int]
    early: bool

    def to_dict(self) -> dict[str, object]:
        """The documented `summary` fields of the transcript's end event."""
        return {
            "duration": round(self.duration, 1),
            "steps_done": self.steps_done,
            "steps_total": self.steps_total,
            "pressure": self.pressure,
            "pressure_by_area": dict(self.pressure_by_area),
            "ended": "ended early" if self.early else "completed",
        }


@dataclass(frozen=True)
class Ended:
    """The session is over."""

    event: ClassVar[str] = "end"
    summary: Summary


Report = StepEntered | PressureChanged | Paused | Resumed | Restored | Skipped | Unused | Ended
Effect = Say | CancelSpeech | Earcon | StartTimer | CancelTimer | Report


class Effects:
    """Collects the effects of one event, in order."""

    def __init__(self) -> None:
        self.items: list[Effect] = []

    def say(self, text: str | None, kind: SayKind = "info") -> None:
        """Speak `text` (nothing when it is empty)."""
        if text:
            self.items.append(Say(text, kind))

    def add(self, effect: Effect) -> None:
        """Any other effect or report."""
        self.items.append(effect)
