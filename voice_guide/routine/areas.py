"""Body area names as people type them ('Lower back', 'lower_back') and as routines
write them ('lower-back'): one spelling, checked against the areas a routine knows."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable

from voice_guide.routine.model import Routine

__all__ = ["UnknownArea", "canonical_area", "resolve_areas", "routine_areas"]


class UnknownArea(ValueError):
    """An area name no routine knows (the message has a did-you-mean and the fix)."""


def canonical_area(name: str) -> str:
    """'  Lower  back ' and 'lower_back' -> 'lower-back' (how routines write areas)."""
    return re.sub(r"[\s_-]+", "-", name.strip().lower()).strip("-")


def routine_areas(routine: Routine) -> set[str]:
    """Every body area a routine's steps work or mention."""
    areas: set[str] = set()
    for step in routine.all_steps:
        areas.update(step.all_areas)
        areas.update(step.say_if_avoided)
    return areas


def resolve_areas(names: Iterable[str], known: Iterable[str], where: str) -> list[str]:
    """The canonical spelling of each name; UnknownArea for the first one `known` lacks
    (`where` names what was searched, e.g. "the routine 'Back massage'")."""
    spelled = {canonical_area(area): area for area in known}
    resolved = []
    for name in names:
        area = canonical_area(name)
        if area not in spelled:
            raise UnknownArea(_unknown(name, sorted(spelled), where))
        resolved.append(spelled[area])
    return resolved


def _unknown(name: str, known: list[str], where: str) -> str:
    close = difflib.get_close_matches(canonical_area(name), known, n=1, cutoff=0.5)
    hint = f"did you mean {close[0]!r}? " if close else ""
    listed = ", ".join(known) if known else "none"
    return f"{name!r} is not a body area of {where} — {hint}Known areas: {listed}."
