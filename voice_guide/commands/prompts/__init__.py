"""Language packs: every sentence the session itself speaks, per language (data).

The routine supplies its own instructions; these are the session's words around them
(help, check-ins, pressure confirmations, notes, transitions, time left). The help text is
generated from the language's phrase table, so it always names phrases the listener knows.
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from functools import cache
from importlib import resources

import yaml

from voice_guide.commands import Command, phrase_table

__all__ = ["HELP_COMMANDS", "Prompts", "prompt_languages", "prompts"]

HELP_COMMANDS = (
    Command.NEXT,
    Command.BACK,
    Command.REPEAT,
    Command.LIGHTER,
    Command.STRONGER,
    Command.GREAT,
    Command.PAUSE,
    Command.RESUME,
    Command.PAIN,
    Command.TIME,
    Command.END,
)
"""Commands the help text names, in this order (yes/no are answers, help is being used)."""


class Prompts:
    """One language's sentences; `text(key, **fields)` fills one in."""

    def __init__(self, language: str, texts: dict[str, str]) -> None:
        self.language = language
        self._texts = texts

    @property
    def keys(self) -> frozenset[str]:
        """Every sentence key this pack defines."""
        return frozenset(self._texts)

    def fields(self, key: str) -> frozenset[str]:
        """The {fields} sentence `key` takes (the same in every language)."""
        parsed = string.Formatter().parse(self._texts[key])
        return frozenset(name for _, name, _, _ in parsed if name)

    def text(self, key: str, **fields: object) -> str:
        """The sentence `key` with its {fields} filled in."""
        return self._texts[key].format(**fields)

    def join(self, items: Sequence[str], last: str = "and") -> str:
        """'a, b and c' in this language ('or' for alternatives)."""
        if len(items) <= 1:
            return "".join(items)
        return self._texts["list"].join(items[:-1]) + self._texts[last] + items[-1]

    def duration(self, seconds: float) -> str:
        """A duration as a person would say it: '40 seconds', 'about 2 minutes'."""
        whole = round(seconds)
        if whole < 60:
            return self.text("seconds", n=whole)
        minutes = round(whole / 60)
        return (
            self.text("about_one_minute") if minutes == 1 else self.text("about_minutes", n=minutes)
        )

    def help(self) -> str:
        """'You can say: next, go back, ...': the first phrase of each command in the table."""
        first: dict[Command, str] = {}
        for phrase, command in phrase_table(self.language).items():
            first.setdefault(command, phrase)
        said = [first[command] for command in HELP_COMMANDS if command in first]
        return self.text("help", phrases=self.join(said, last="or"))


def prompt_languages() -> list[str]:
    """Languages that have a language pack."""
    files = resources.files(__package__)
    return sorted(p.name.removesuffix(".yaml") for p in files.iterdir() if p.name.endswith(".yaml"))


@cache
def prompts(language: str = "en") -> Prompts:
    """The language pack of `language` (LookupError naming the available ones)."""
    file = resources.files(__package__).joinpath(f"{language}.yaml")
    if not file.is_file():
        raise LookupError(
            f"no session sentences for language {language!r}; "
            f"available: {', '.join(prompt_languages())}"
        )
    data = yaml.safe_load(file.read_text(encoding="utf-8"))
    return Prompts(language, {str(key): str(value) for key, value in data.items()})
