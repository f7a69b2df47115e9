"""The words a how-to text is read with, per language (data in `<language>.yaml`)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml

from voice_guide.commands import Command

__all__ = ["Lexicon", "lexicon", "phrase_pattern"]


@dataclass(frozen=True)
class Lexicon:
    """Word lists for one language; every entry lower-case."""

    verbs: frozenset[str]
    label: re.Pattern[str]
    """A label before a sentence ('Step 2:', 'Tip:', '3.'); group 'word' is the label word."""
    safety_labels: frozenset[str]
    title_stops: frozenset[str]
    title_trailing: frozenset[str]
    openers: frozenset[str]
    preposition_openers: frozenset[str]
    modal_openers: tuple[str, ...]
    marketing: re.Pattern[str]
    safety: re.Pattern[str]
    offer: re.Pattern[str]
    """Matches 'If <who> <condition> <what>,' at a sentence start; groups 'who', 'what'."""
    partner: re.Pattern[str]
    givers: re.Pattern[str]
    """Matches at the end of the words before a giver's tool: 'your ', 'your thumbs and '."""
    giver_tools: frozenset[str]
    tool_use: re.Pattern[str]
    """Matches at the end of the words before a tool in use: 'with both ', 'using your '."""
    back_before: frozenset[str]
    """Words after which 'back' is the body area."""
    areas: tuple[tuple[str, re.Pattern[str]], ...]
    """(area name, pattern of its words), in the order written."""
    pressure_names: tuple[str, ...]
    """Level names, lightest first (level = index + 1)."""
    pressure_words: dict[str, int]
    pressure_nouns: frozenset[str]
    pressure_phrases: tuple[str, ...]
    feedback: tuple[tuple[Command, re.Pattern[str]], ...]
    numbers: dict[str, int]
    total: re.Pattern[str]
    each_side: re.Pattern[str]


def phrase_pattern(phrases: list[str] | tuple[str, ...]) -> re.Pattern[str]:
    """Any of `phrases` as whole words, longest first, any case."""
    ordered = sorted(set(phrases), key=lambda phrase: (-len(phrase), phrase))
    body = "|".join(re.escape(phrase).replace(r"\ ", r"\s+") for phrase in ordered)
    return re.compile(rf"(?<![\w'-])(?:{body})(?![\w'-])", re.IGNORECASE)


@cache
def lexicon(language: str = "en") -> Lexicon:
    """The lexicon for `language`; LookupError when there is none."""
    entry = resources.files(__package__).joinpath(f"{language}.yaml")
    if not entry.is_file():
        raise LookupError(f"drafting reads English how-to texts only, not {language!r}")
    # BaseLoader: every value is text (YAML 1.1 would turn 'on' and 'no' into booleans).
    data: dict[str, Any] = yaml.load(entry.read_text("utf-8"), Loader=yaml.BaseLoader)
    offer = data["offer"]
    levels = data["pressure_levels"]
    return Lexicon(
        verbs=frozenset(data["verbs"]),
        label=re.compile(
            r"^\s*(?:(?P<word>"
            + "|".join(re.escape(w) for w in [*data["labels"], *data["safety_labels"]])
            + r")\b\s*\d*|\d+)\s*[:.)\-–—]\s+",
            re.IGNORECASE,
        ),
        safety_labels=frozenset(data["safety_labels"]),
        title_stops=frozenset(data["title_stops"]),
        title_trailing=frozenset(data["title_trailing"]),
        openers=frozenset(data["openers"]),
        preposition_openers=frozenset(data["preposition_openers"]),
        modal_openers=tuple(data["modal_openers"]),
        marketing=phrase_pattern(data["marketing"]),
        safety=phrase_pattern(data["safety"]),
        offer=re.compile(
            r"^if\s+(?P<who>"
            + phrase_pattern(offer["who"]).pattern
            + r")\s+(?:"
            + phrase_pattern(offer["condition"]).pattern
            + r")\s+(?P<what>[^,;]+?)\s*[,;]\s*",
            re.IGNORECASE,
        ),
        partner=phrase_pattern(data["partner_words"]),
        givers=re.compile(
            r"(?<![\w'])(?:"
            + "|".join(re.escape(w).replace(r"\ ", r"\s+") for w in data["giver_words"])
            + r")\s+(?:[\w'-]+\s+(?:and|or)\s+)?$",
            re.IGNORECASE,
        ),
        giver_tools=frozenset(data["giver_tools"]),
        tool_use=re.compile(
            r"(?<![\w'])(?:"
            + "|".join(re.escape(w) for w in data["tool_words"])
            + r")\s+(?:(?:your|both|the|a|one|my)\s+)*(?:[\w'-]+\s+(?:and|or)\s+)?$",
            re.IGNORECASE,
        ),
        back_before=frozenset(data["back_before"]),
        areas=tuple((name, phrase_pattern(words)) for name, words in data["areas"].items()),
        pressure_names=tuple(level["name"] for level in levels),
        pressure_words={
            word: number for number, level in enumerate(levels, 1) for word in level["words"]
        },
        pressure_nouns=frozenset(data["pressure_nouns"]),
        pressure_phrases=tuple(data["pressure_phrases"]),
        feedback=tuple(
            (Command(name), phrase_pattern(words)) for name, words in data["feedback"].items()
        ),
        numbers={word: int(value) for word, value in data["numbers"].items()},
        total=phrase_pattern(data["total_words"]),
        each_side=phrase_pattern(data["each_side_words"]),
    )
