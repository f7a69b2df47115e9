"""Sentences: a block's text split into sentences (each with its line in the guide), and a
long sentence split into parts short enough to say in one breath."""

from __future__ import annotations

import bisect
import itertools
import re
from dataclasses import dataclass

__all__ = ["MAX_WORDS", "Sentence", "SourceText", "speakable_parts", "split_sentences"]

MAX_WORDS = 25
"""Longest part spoken as one sentence; longer ones are split at commas and 'then'."""
MAX_CHARS = 300
"""Longest part in characters (a run of letters with no space is cut too)."""
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
_WORD = re.compile(r"\S+")
_ASIDE = re.compile(r"\([^()]{0,200}\)|\[[^\[\]]{0,200}\]|\bhttps?://\S+|\bwww\.\S+")
_REACH = 20_000
"""How far ahead a sentence is looked for (a web page has markup between sentences)."""


@dataclass(frozen=True)
class Sentence:
    """A sentence of the guide, the line it starts on and where that is in the guide."""

    text: str
    line: int
    offset: int = 0
    """Character offset in the guide where the search for its words starts."""


class SourceText:
    """The guide as given, to find the line a sentence or a word is written on.

    Searches go forward from a known place and look only a bounded distance ahead, so a
    guide of any size is read in linear time.
    """

    def __init__(self, text: str) -> None:
        self._text = text
        self._starts = [0, *(match.end() for match in re.finditer("\n", text))]

    def offset(self, line: int) -> int:
        """Where 1-based `line` starts."""
        return self._starts[min(max(line, 1), len(self._starts)) - 1]

    def line(self, offset: int) -> int:
        """The 1-based line holding character `offset`."""
        return bisect.bisect_right(self._starts, offset)

    def find(self, words: str, start: int, reach: int = _REACH) -> int | None:
        """The offset of the first three words of `words` at or after `start` (at most
        `reach` characters on), or None: markup may split them."""
        found = re.findall(r"\w+", words[:200])[:3]
        if not found:
            return None
        pattern = re.compile(r"\W+".join(re.escape(word) for word in found), re.IGNORECASE)
        match = pattern.search(self._text, start, start + reach + len(words))
        return None if match is None else match.start()

    def line_at(self, sentence: Sentence, offset: int) -> int:
        """The line of the words at `offset` in `sentence`."""
        if offset <= 0:
            return sentence.line
        found = self.find(sentence.text[offset:], sentence.offset, 2 * len(sentence.text))
        return sentence.line if found is None else self.line(found)


def split_sentences(text: str, line: int, source: SourceText) -> list[Sentence]:
    """The sentences of one block that starts on `line`, each located in `source`."""
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
    cursor = source.offset(line)
    for piece in pieces:
        if piece:
            at = source.find(piece, cursor)
            if at is not None:
                cursor = at
                line = source.line(at)
            found.append(Sentence(piece, line, cursor))
    return found


def speakable_parts(text: str) -> list[str]:
    """`text` as sentences of at most MAX_WORDS words, split after a comma or semicolon (where
    a speaker would breathe); a run of words with no such place is cut every MAX_WORDS, and
    a part longer than MAX_CHARS characters every MAX_CHARS. Asides in brackets and web
    addresses are not spoken."""
    spoken = " ".join(_ASIDE.sub(" ", text).split()).replace(" ,", ",").replace(" .", ".")
    text = spoken if spoken.strip(" ,;.:") else text.strip()
    parts: list[str] = []
    position = 0
    while position < len(text):
        words = list(itertools.islice(_WORD.finditer(text, position), MAX_WORDS + 1))
        if len(words) <= MAX_WORDS:
            parts.append(text[position:])
            break
        limit = words[MAX_WORDS].start()
        breaks = [m.end() for m in _BREAK.finditer(text, words[2].end(), limit)]
        cut = breaks[-1] if breaks else limit
        parts.append(text[position:cut])
        position = cut
    pieces = [part[n : n + MAX_CHARS] for part in parts for n in range(0, len(part), MAX_CHARS)]
    return [_sentence_case(piece) for piece in pieces if piece.strip(" ,;.:")]


def _sentence_case(text: str) -> str:
    text = text.strip().rstrip(",;:").strip()
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."
