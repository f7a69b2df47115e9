"""How long a sentence takes to say: used by lints, the timeline and `preview`."""

from __future__ import annotations

DEFAULT_RATE = 175
"""espeak-ng's default speaking rate, words per minute."""
_SENTENCE_PAUSE = 0.35
"""Seconds a synthesizer pauses at each sentence end (measured order of magnitude for espeak-ng)."""


def estimate_speech_seconds(text: str, rate: int | None = None) -> float:
    """Seconds to speak `text` at `rate` words per minute."""
    words = len(text.split())
    sentences = max(1, sum(text.count(mark) for mark in ".!?"))
    return words * 60.0 / (rate or DEFAULT_RATE) + sentences * _SENTENCE_PAUSE
