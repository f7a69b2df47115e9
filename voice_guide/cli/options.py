"""Click parameter types shared by the commands: values checked before a command starts."""

from __future__ import annotations

import math
from typing import Any

import click

__all__ = ["FiniteRange", "Utf8Text"]


class FiniteRange(click.FloatRange):
    """A FloatRange that also refuses nan and inf (click's range lets nan through, since
    every comparison with nan is false)."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a number in {self._describe_range()}.", param, ctx)
        return number


class Utf8Text(click.ParamType):
    """Text that can be stored and shown: refuses bytes that are not UTF-8 (they reach Python
    as lone surrogates, which SQLite and JSON cannot encode)."""

    name = "text"

    def __init__(self, fix: str = "type it again as plain text") -> None:
        self.fix = fix

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        text = str(value)
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            shown = text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
            self.fail(f"'{shown}' is not UTF-8 text; {self.fix}.", param, ctx)
        return text
