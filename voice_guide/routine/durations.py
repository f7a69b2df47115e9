"""Spoken-script time expressions: '90s', '2m', '1m30s', '2 min', plain seconds, and cue
times such as 'halfway' or '30s left'."""

from __future__ import annotations

import difflib
import math
import re

_UNIT_SECONDS = {
    "s": 1,
    "sec": 1,
    "secs": 1,
    "second": 1,
    "seconds": 1,
    "m": 60,
    "min": 60,
    "mins": 60,
    "minute": 60,
    "minutes": 60,
    "h": 3600,
    "hr": 3600,
    "hour": 3600,
    "hours": 3600,
}
_PART = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([a-z]+)\s*")
MAX_SECONDS = 3 * 3600
HOW_TO_WRITE = "write it like 45s, 2m, 1m30s or '2 minutes'"


def parse_duration(value: object) -> float:
    """Seconds for a duration written by a person; raises ValueError with how to fix it."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a duration — {HOW_TO_WRITE}")
    if isinstance(value, (int, float)):
        # An integer of hundreds of digits does not convert to float: it is out of range.
        seconds = float(value) if abs(value) <= MAX_SECONDS else math.inf
    elif isinstance(value, str):
        seconds = _parse_text(value)
    else:
        raise ValueError(f"expected a duration, got {_kind(value)} — {HOW_TO_WRITE}")
    if not 0 < seconds <= MAX_SECONDS:
        raise ValueError(
            f"duration {_short(value)} is out of range — make it more than 0 and at most 3 hours"
        )
    return seconds


def _parse_text(text: str) -> float:
    raw = text.strip().lower()
    if re.fullmatch(r"\d+(?:\.\d+)?", raw):
        return float(raw)
    total, pos = 0.0, 0
    while pos < len(raw):
        match = _PART.match(raw, pos)
        if not match or match.group(2) not in _UNIT_SECONDS:
            raise ValueError(f"cannot read {_short(text)} as a duration — {_suggest(raw, match)}")
        total += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        pos = match.end()
    if not raw:
        raise ValueError(f"empty duration — {HOW_TO_WRITE}")
    return total


def _suggest(raw: str, match: re.Match[str] | None) -> str:
    """How to fix an unreadable duration: the closest unit when only the unit is misspelled."""
    if match:
        close = difflib.get_close_matches(match.group(2), _UNIT_SECONDS, n=1, cutoff=0.6)
        if close:
            fixed = raw[: match.start(2)] + close[0] + raw[match.end(2) :]
            return f"did you mean {fixed!r}? ({HOW_TO_WRITE})"
    return HOW_TO_WRITE


def _short(value: object, limit: int = 40) -> str:
    """A value as quoted in a message, cut short (a duration may be hundreds of digits)."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _kind(value: object) -> str:
    """A reader's name for a YAML value's type."""
    if value is None:
        return "nothing"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def format_duration(seconds: float) -> str:
    """Compact human form: 45s, 2m, 1m30s, 1h05m."""
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes and secs:
        return f"{minutes}m{secs:02d}s"
    if minutes:
        return f"{minutes}m"
    return f"{secs}s"
