"""The spoken commands: their names (shared by the state machine and the recognizers)
and, per language, the phrases people naturally say for each one (data, not code).

A language file (`en.yaml`) maps each command to its phrases and may hold a `fillers` entry:
the words people put around a command ("okay", "um", "please") and the degree words that say
how much ("a touch lighter"). Fillers are a rule applied by `Vocabulary`, not a list of every
combination. In a phrase, `~` marks where a degree word may go ("press ~ harder": "press
harder", "press a bit harder"); it is never said.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from itertools import product
from typing import Any, Final

import yaml

__all__ = [
    "Command",
    "PhraseTable",
    "Vocabulary",
    "languages",
    "normalize",
    "parse_command",
    "phrase_table",
    "vocabulary",
    "wordings",
]

DEGREE_MARK: Final = "~"
"""Where a degree word ("a bit") goes inside a phrase of a degree command."""


class Command(str, enum.Enum):
    """A command the session understands. Values are stable: they appear in transcripts."""

    NEXT = "next"
    BACK = "back"
    REPEAT = "repeat"
    LIGHTER = "lighter"
    STRONGER = "stronger"
    GREAT = "great"
    PAUSE = "pause"
    RESUME = "resume"
    PAIN = "pain"
    TIME = "time"
    HELP = "help"
    END = "end"
    YES = "yes"
    NO = "no"

    @property
    def is_safety(self) -> bool:
        """Safety commands act even while the guide is speaking (barge-in)."""
        return self in (Command.PAUSE, Command.PAIN)


PhraseTable = dict[str, Command]


@dataclass(frozen=True)
class Vocabulary:
    """What an engine listens for in one language: the core phrases (each one command) and
    the optional fillers a person may say before or after any of them.

    A *wording* is `[before] phrase [after]`: "okay a little lighter please". A phrase that is
    itself a filler ("okay") is only heard alone: "just okay" or "okay okay" mean nothing sure.
    """

    language: str
    phrases: Mapping[str, Command]
    """Core phrase -> command: the table's phrases, with degree words where they fit."""
    before: tuple[str, ...] = ()
    """Fillers said before a phrase ("okay", "can you"); at most one is heard."""
    after: tuple[str, ...] = ()
    """Fillers said after a phrase ("please", "now"); at most one is heard."""
    _index: dict[str, Command] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", dict(self.phrases))

    @property
    def bare(self) -> list[str]:
        """Phrases that are also fillers: never framed by fillers."""
        fillers = {*self.before, *self.after}
        return [p for p in self.phrases if p in fillers]

    def command(self, wording: str) -> Command | None:
        """The command a wording means, or None when it is not `[before] phrase [after]`."""
        phrase = self.core(wording)
        return None if phrase is None else self._index[phrase]

    def core(self, wording: str) -> str | None:
        """The phrase inside a wording ("okay next please" -> "next"), or None."""
        text = normalize(wording)
        if text in self._index:  # a phrase that starts or ends like a filler stays whole
            return text
        bare = set(self.bare)
        for lead, tail in product(("", *self.before), ("", *self.after)):
            inner = _strip(text, lead, tail)
            if inner is not None and inner in self._index and inner not in bare:
                return inner
        return None

    def words(self) -> set[str]:
        """Every word an engine must know to hear all of this vocabulary."""
        return {w for text in (*self.phrases, *self.before, *self.after) for w in text.split()}

    def wordings(self) -> list[tuple[str, Command]]:
        """Every phrase alone, with each filler before and after it, and one before+after
        pair per phrase (rotating through the fillers): what a trainer synthesizes.

        Deterministic: the same vocabulary gives the same list in the same order.
        """
        out: list[tuple[str, Command]] = []
        seen: set[str] = set()
        bare = set(self.bare)
        for i, (phrase, command) in enumerate(self.phrases.items()):
            if phrase in bare:
                seen.add(phrase)
                out.append((phrase, command))
                continue
            pair = (
                (self.before[i % len(self.before)], self.after[i % len(self.after)])
                if self.before and self.after
                else None
            )
            for text in _framed(phrase, self.before, self.after, pair):
                if text not in seen:
                    seen.add(text)
                    out.append((text, command))
        return out


def _strip(text: str, lead: str, tail: str) -> str | None:
    """`text` without the filler `lead` in front and `tail` behind, or None if absent."""
    if lead:
        if not text.startswith(lead + " "):
            return None
        text = text[len(lead) + 1 :]
    if tail:
        if not text.endswith(" " + tail):
            return None
        text = text[: -len(tail) - 1]
    return text


def _framed(
    phrase: str, before: tuple[str, ...], after: tuple[str, ...], pair: tuple[str, str] | None
) -> Iterator[str]:
    yield phrase
    for lead in before:
        yield f"{lead} {phrase}"
    for tail in after:
        yield f"{phrase} {tail}"
    if pair is not None:
        yield f"{pair[0]} {phrase} {pair[1]}"


@cache
def _language_file(language: str) -> dict[str, Any]:
    name = f"{language}.yaml"
    files = resources.files(__package__)
    if not files.joinpath(name).is_file():
        raise LookupError(
            f"no command phrases for language {language!r}; available: {', '.join(languages())}"
        )
    return yaml.safe_load(files.joinpath(name).read_text(encoding="utf-8"))


def _marked_phrases(language: str) -> Iterator[tuple[str, Command]]:
    """(phrase as written, possibly with the degree mark, command) in file order."""
    for key, phrases in _language_file(language).items():
        if key == "fillers":
            continue
        command = Command(key)
        for phrase in phrases:
            yield " ".join(normalize(part) for part in str(phrase).split()), command


@cache
def phrase_table(language: str = "en") -> PhraseTable:
    """Return {spoken phrase: command} for a language (lower-case, words separated by spaces)."""
    return {_unmarked(phrase): command for phrase, command in _marked_phrases(language)}


def _unmarked(phrase: str) -> str:
    return " ".join(w for w in phrase.split() if w != DEGREE_MARK)


@cache
def vocabulary(language: str = "en") -> Vocabulary:
    """The language's phrases with its filler rule: what every engine is given to hear."""
    fillers = _language_file(language).get("fillers") or {}
    degrees = [normalize(str(w)) for w in fillers.get("degree", ())]
    phrases: dict[str, Command] = {}
    for marked, command in _marked_phrases(language):
        phrases.setdefault(_unmarked(marked), command)
        if DEGREE_MARK in marked.split():
            for degree in degrees:
                phrases.setdefault(_with_degree(marked, degree), command)
    return Vocabulary(
        language,
        phrases,
        before=tuple(normalize(str(w)) for w in fillers.get("before", ())),
        after=tuple(normalize(str(w)) for w in fillers.get("after", ())),
    )


def _with_degree(marked: str, degree: str) -> str:
    """The phrase with a degree word at its mark."""
    return " ".join(degree if w == DEGREE_MARK else w for w in marked.split())


def wordings(language: str = "en") -> list[tuple[str, Command]]:
    """Every table phrase and its sensible filler combinations, with its command
    (deterministic): the input of a command-model trainer."""
    return vocabulary(language).wordings()


def normalize(text: str) -> str:
    """Lower-case words separated by single spaces, without punctuation at word edges."""
    words = (word.strip('.,!?;:"') for word in text.lower().split())
    return " ".join(word for word in words if word)


def parse_command(text: str, language: str = "en") -> Command | None:
    """The command a typed or recognized wording means: a phrase of the language (with its
    fillers) or a command name."""
    found = vocabulary(language).command(text)
    if found is not None:
        return found
    try:
        return Command(normalize(text))
    except ValueError:
        return None


def languages() -> list[str]:
    """Languages that have a phrase table."""
    files = resources.files(__package__)
    return sorted(p.name.removesuffix(".yaml") for p in files.iterdir() if p.name.endswith(".yaml"))
