"""What the session state machine asks the outside world to do.

The state machine never acts itself: it returns these values and the runner carries
them out (speaker, earcons, timers, transcript, store).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

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


@dataclass(frozen=True)
class Log:
    """Something worth recording (transcript, history, profile)."""

    event: str
    data: dict[str, Any] = field(default_factory=dict)


Effect = Say | CancelSpeech | Earcon | StartTimer | CancelTimer | Log
