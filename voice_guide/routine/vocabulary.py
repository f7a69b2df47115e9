"""What the listener hears in a routine: the language's vocabulary plus the routine's own
`phrases:` (a phrase the table already has keeps the table's meaning)."""

from __future__ import annotations

from dataclasses import replace

from voice_guide.commands import Vocabulary, vocabulary
from voice_guide.routine.model import Routine

__all__ = ["routine_vocabulary"]


def routine_vocabulary(routine: Routine) -> Vocabulary:
    """The vocabulary engines get for `routine`; LookupError for a language without one."""
    base = vocabulary(routine.language)
    added = {p: c for p, c in routine.extra_phrases().items() if p not in base.phrases}
    return replace(base, phrases={**base.phrases, **added}) if added else base
