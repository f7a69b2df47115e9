"""Sentences: a block's text split into sentences (each with its line in the guide), and a
long sentence split into parts short enough to say in one breath."""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["MAX_WORDS", "Sentence", "SourceText", "speakable_parts", "split_sentences"]

MAX_WORDS = 25
"""Longest part spoken as one sentence; longer ones are split at commas and 'then'."""
_ABBREVIATIONS = frozenset(
    [
        "e.g",
        "i.e",
        "etc",
        "approx",
        "min",
        "mins",
        "sec",
        "secs",
        "vs",
        "mr",
        "mrs",
        "ms",
        "dr",
        "st",
        "no",
    ]
)
_END = re.compile(r"(?<=[.!?])[\"'”’)\]]*\s+(?=[\"'“‘(\[]?[A-Z0-9])")
_BREAK = re.compile(r"[,;:]\s+")


@dataclass(frozen=True)
class Sentence:
    """A sentence of the guide and the line it starts on."""

    text: str
    line: int


class SourceText:
    """The guide as given, to find the line a sentence starts on."""

    def __init__(self, text: str) -> None:
        self._lines = text.split("\n")

    def line_of(self, sentence: str, start: int) -> int:
        """The first line from `start` (1-based) holding the sentence's first words, else
        `start` (the words may be split by markup)."""
        words = re.findall(r"\w+", sentence)[:3]
        if not words:
            return start
        pattern = re.compile(r"\W+".join(re.escape(word) for word in words), re.IGNORECASE)
        first = max(start - 1, 0)
        window = "\n".join(self._lines[first : first + 60])
        match = pattern.search(window)
        return start if match is None else first + window.count("\n", 0, match.start()) + 1

    def line_at(self, sentence: str, offset: int, line: int) -> int:
        """The line of the words at `offset` in a sentence that starts on `line`."""
        return self.line_of(sentence[offset:], line) if offset else line


def split_sentences(text: str, line: int, source: SourceText) -> list[Sentence]:
    """The sentences of one block; each sentence's line is looked up in `source`."""
    pieces: list[str] = []
    position = 0
    for match in _END.finditer(text):
        candidate = text[position : match.start()].strip()
        last_word = candidate.rsplit(None, 1)[-1].strip("([.").lower() if candidate else ""
        if last_word in _ABBREVIATIONS:
            continue
        pieces.append(candidate)
        position = match.end()
    pieces.append(text[position:].strip())
    found: list[Sentence] = []
    for piece in pieces:
        if piece:
            line = source.line_of(piece, found[-1].line if found else line)
            found.append(Sentence(piece, line))
    return found


def speakable_parts(text: str) -> list[str]:
    """`text` as sentences of at most MAX_WORDS words, split after a comma or semicolon (where
    a speaker would breathe); a run of words with no such place is cut every MAX_WORDS."""
    parts: list[str] = []
    rest = text.strip()
    while len(rest.split()) > MAX_WORDS:
        breaks = [m.end() for m in _BREAK.finditer(rest) if len(rest[: m.end()].split()) > 2]
        fitting = [end for end in breaks if len(rest[:end].split()) <= MAX_WORDS]
        if fitting:
            cut = fitting[-1]
        else:
            words = rest.split()
            cut = len(" ".join(words[:MAX_WORDS]))
        parts.append(rest[:cut])
        rest = rest[cut:].strip()
    parts.append(rest)
    return [_sentence_case(part) for part in parts if part.strip(" ,;.")]


def _sentence_case(text: str) -> str:
    text = text.strip().rstrip(",;:").strip()
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."
