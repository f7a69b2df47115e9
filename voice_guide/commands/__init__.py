"""The spoken commands: their names (shared by the state machine and the recognizers)
and, per language, the phrases people naturally say for each one (data, not code)."""

from __future__ import annotations

import enum
from functools import cache
from importlib import resources

import yaml

__all__ = ["Command", "PhraseTable", "languages", "normalize", "parse_command", "phrase_table"]


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


@cache
def phrase_table(language: str = "en") -> PhraseTable:
    """Return {spoken phrase: command} for a language (lower-case, words separated by spaces)."""
    name = f"{language}.yaml"
    files = resources.files(__package__)
    if not files.joinpath(name).is_file():
        raise LookupError(
            f"no command phrases for language {language!r}; available: {', '.join(languages())}"
        )
    data = yaml.safe_load(files.joinpath(name).read_text(encoding="utf-8"))
    table: PhraseTable = {}
    for command_name, phrases in data.items():
        command = Command(command_name)
        for phrase in phrases:
            table[normalize(str(phrase))] = command
    return table


def normalize(text: str) -> str:
    """Lower-case words separated by single spaces, without punctuation at word edges."""
    words = (word.strip('.,!?;:"') for word in text.lower().split())
    return " ".join(word for word in words if word)


def parse_command(text: str, language: str = "en") -> Command | None:
    """The command a typed or recognized phrase means: a phrase of the table or a command name."""
    phrase = normalize(text)
    table = phrase_table(language)
    if phrase in table:
        return table[phrase]
    try:
        return Command(phrase)
    except ValueError:
        return None


def languages() -> list[str]:
    """Languages that have a phrase table."""
    files = resources.files(__package__)
    return sorted(p.name.removesuffix(".yaml") for p in files.iterdir() if p.name.endswith(".yaml"))
