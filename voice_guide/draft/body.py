"""Body words and pressure words in an instruction: the areas a step works and the
pressure levels it names."""

from __future__ import annotations

import re
from collections.abc import Iterator

from voice_guide.draft.document import Range
from voice_guide.draft.lexicon import Lexicon

__all__ = ["area_words", "pressure_range", "pressure_words"]

_WORDS = re.compile(r"[a-z][a-z'-]*")


def area_words(text: str, lexicon: Lexicon, *, partner: bool) -> Iterator[tuple[str, int, str]]:
    """(area, offset, words) for each body word in `text`, in order of appearance.

    Tools in use ('with both hands') are not areas, nor, with `partner` (the text tells a
    giver what to do to a partner), the giver's own ('your thumbs', 'your thumbs and fingers').
    """
    matches = []
    for name, pattern in lexicon.areas:
        for match in pattern.finditer(text):
            matches.append((match.end() - match.start(), match.start(), match.end(), name))
    # Longest words first: 'lower back' is the lower back, not also the back.
    covered = bytearray(len(text))
    kept = []
    for _, start, end, name in sorted(matches, key=lambda m: (-m[0], m[1])):
        if any(covered[start:end]):
            continue
        covered[start:end] = b"\x01" * (end - start)
        words = text[start:end]
        before = text[max(0, start - 24) : start]
        if words.lower() in lexicon.giver_tools and (
            lexicon.tool_use.search(before) or (partner and lexicon.givers.search(before))
        ):
            continue  # the hands or thumbs doing the work, not the area worked
        if words.lower() == "back" and not _names_the_back(text, start, end, lexicon):
            continue
        kept.append((start, name, words))
    for start, name, words in sorted(kept):
        yield name, start, words


def _names_the_back(text: str, start: int, end: int, lexicon: Lexicon) -> bool:
    """'the back', 'their back' are the body; 'lie back' and 'the back of the chair' not."""
    if text[end : end + 4].lower() == " of ":
        return False
    before = _WORDS.findall(text[max(0, start - 20) : start].lower())
    return bool(before) and before[-1] in lexicon.back_before


def pressure_words(text: str, lexicon: Lexicon) -> list[tuple[int, str, int]]:
    """(level, word, offset) for each pressure word: one followed within three words by a
    touch word ('firm pressure', 'light strokes'), or a range ('light to firm')."""
    words = list(_WORDS.finditer(text.lower()))
    found = []
    for index, match in enumerate(words):
        level = lexicon.pressure_words.get(match.group(0))
        if level is None:
            continue
        following = [w.group(0) for w in words[index + 1 : index + 4]]
        ranged = len(following) >= 2 and following[0] == "to"
        if ranged or any(word in lexicon.pressure_nouns for word in following):
            found.append((level, match.group(0), match.start()))
    return found


def pressure_range(levels: list[int], top: int) -> Range:
    """A step's pressure limits from the levels its words name, on a scale up to `top`."""
    low, high = min(levels), max(levels)
    if low == high:
        # One pressure word: room to ask for one level either way, but the deepest level
        # only where the guide says so.
        ceiling = top if low == top else max(low, top - 1)
        return Range(max(1, low - 1), min(ceiling, low + 1), low)
    return Range(low, high, low)
