"""Times written in a how-to text, in words or digits: 'for 30 seconds', 'two to three
minutes', 'a minute or so', 'half a minute', '90s'."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from voice_guide.draft.lexicon import Lexicon, phrase_pattern
from voice_guide.routine.durations import MAX_SECONDS

__all__ = ["Found", "find_durations"]

_UNITS = {"second": 1, "sec": 1, "s": 1, "minute": 60, "min": 60, "m": 60, "hour": 3600, "hr": 3600}
_FOLLOWING = 40
"""Characters after a time searched for 'in all' or 'each side'."""


@dataclass(frozen=True)
class Found:
    """A time written in a sentence."""

    seconds: float
    phrase: str
    """The words as written, e.g. 'for two to three minutes'."""
    total: bool = False
    """Followed by 'in all' or 'in total': the whole step, not one part of it."""
    each_side: bool = False
    """Followed by 'each side' or 'for each leg': counted twice."""
    ranged: bool = False
    """Written as a range ('two to three minutes'): the middle is taken."""
    start: int = 0
    """Where the words start in the text (character offset)."""


@cache
def _pattern(numbers: tuple[str, ...]) -> re.Pattern[str]:
    number = rf"(?:\d+(?:\.\d+)?|{phrase_pattern(numbers).pattern})"
    unit = r"(?:seconds?|secs?|minutes?|mins?|hours?|hrs?)"
    return re.compile(
        rf"(?:\b(?:for|about|around|roughly|approximately|another|at\s+least|up\s+to)\s+)*"
        rf"(?:(?P<half>half\s+an?)\s+(?P<half_unit>{unit})"
        rf"|(?P<digits>\d+(?:\.\d+)?)(?P<short>s|m|min)\b"
        rf"|(?P<low>{number})(?:\s*(?:-|–|to|or)\s*(?P<high>{number}))?"
        rf"(?P<and_half>\s+and\s+a\s+half)?\s*(?P<unit>{unit})\b(?P<half_after>\s+and\s+a\s+half)?)"
        rf"(?:\s+or\s+so)?",
        re.IGNORECASE,
    )


def find_durations(text: str, lexicon: Lexicon) -> list[Found]:
    """Every time written in `text`, in order."""
    found = []
    for match in _pattern(tuple(lexicon.numbers)).finditer(text):
        seconds = _seconds(match, lexicon)
        if seconds is None or not 0 < seconds <= MAX_SECONDS:
            continue
        after = text[match.end() : match.end() + _FOLLOWING]
        each_side = bool(lexicon.each_side.match(after.lstrip(" ,")))
        total = bool(lexicon.total.match(after.lstrip(" ,")))
        seconds = min(seconds * 2 if each_side else seconds, MAX_SECONDS)
        phrase = " ".join(match.group(0).split())
        ranged = bool(match.group("high"))
        found.append(Found(seconds, phrase, total, each_side, ranged, match.start()))
    return found


def _seconds(match: re.Match[str], lexicon: Lexicon) -> float | None:
    if match.group("half"):
        return _UNITS[_unit(match.group("half_unit"))] / 2
    if match.group("digits"):
        return float(match.group("digits")) * _UNITS[match.group("short").lower()]
    low = _number(match.group("low"), lexicon)
    high = _number(match.group("high"), lexicon) if match.group("high") else low
    if low is None or high is None:
        return None
    value = (low + high) / 2  # 'two to three minutes': the middle of the range
    if match.group("and_half") or match.group("half_after"):
        value += 0.5
    return value * _UNITS[_unit(match.group("unit"))]


def _unit(word: str) -> str:
    word = word.lower()
    return word[:-1] if word.endswith("s") and word[:-1] in _UNITS else word


def _number(text: str, lexicon: Lexicon) -> float | None:
    words = " ".join(text.lower().split())
    if re.fullmatch(r"\d+(?:\.\d+)?", words):
        return float(words)
    value = lexicon.numbers.get(words)
    return None if value is None else float(value)
