"""The recognizer protocol: what an engine must do to be driven by the Listener.

The Listener cuts the stream into utterances with the VAD and hands each one to the
recognizer: `begin()`, then `accept()` for every chunk (an engine may decide early, from
partial results), then `finish()` at the end of the utterance. An engine answers with a
Hypothesis only when it heard one complete command phrase and believes it; anything else
(conversation, near-misses, noise) is None.

An engine is given its Vocabulary (phrases -> commands, with the filler rule) when it is
created (see engines.py); it does not read the phrase tables itself. Its Hypothesis names the
command, and the wording only when the engine has a transcript.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from voice_guide.commands import Command
from voice_guide.errors import VoiceGuideError

__all__ = ["Hypothesis", "Recognizer", "RecognizerError"]


class RecognizerError(VoiceGuideError, RuntimeError):
    """An engine cannot be started; the message says why and how to fix it."""


@dataclass(frozen=True)
class Hypothesis:
    """One command heard in an utterance."""

    command: Command
    phrase: str | None
    """The wording heard ("okay a little lighter"), or None from an engine that gives no
    transcript (it judges the sound as a whole)."""
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

    @property
    def missing_phrases(self) -> list[str]:
        """Phrases of its vocabulary the engine cannot hear (words it does not know)."""
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
