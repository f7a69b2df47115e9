"""The recognizer protocol: what an engine must do to be driven by the Listener.

The Listener cuts the stream into utterances with the VAD and hands each one to the
recognizer: `begin()`, then `accept()` for every chunk (an engine may decide early, from
partial results), then `finish()` at the end of the utterance. An engine answers with a
Hypothesis only when it heard one complete command phrase and believes it; anything else
(conversation, near-misses, noise) is None.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

__all__ = ["Hypothesis", "Recognizer", "RecognizerError"]


class RecognizerError(RuntimeError):
    """An engine cannot be started; the message says why and how to fix it."""


@dataclass(frozen=True)
class Hypothesis:
    """One command phrase heard in an utterance."""

    phrase: str
    """The phrase exactly as in the language's phrase table."""
    start: float
    """Start of the phrase, seconds from the first sample of the utterance."""
    end: float
    """End of the phrase, seconds from the first sample of the utterance."""
    confidence: float
    """Engine's belief, 0..1 (comparable within one engine only)."""


class Recognizer(Protocol):
    """A speech engine restricted to one language's command phrases."""

    @property
    def language(self) -> str:
        """Language code of the phrase table it listens for."""
        ...

    @property
    def description(self) -> str:
        """Engine and model in a few words, for the start-up line."""
        ...

    def begin(self) -> None:
        """A new utterance starts."""
        ...

    def accept(self, samples: np.ndarray) -> Hypothesis | None:
        """More 16 kHz float32 audio of the utterance; a Hypothesis when decided early."""
        ...

    def finish(self) -> Hypothesis | None:
        """The utterance ended: the command heard in it, or None."""
        ...

    def cancel(self) -> None:
        """Abandon the utterance in progress (too long, or already decided)."""
        ...
