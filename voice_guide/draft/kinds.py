"""What a sentence of a how-to text is: an instruction, a safety note, marketing to leave
out, or something else (kept only beside an instruction).

The rules, in order:
- a label before the sentence ('Step 2:', 'Tip:', '3.') is dropped; a safety label
  ('Warning:', 'Caution:') makes it a safety note;
- a marketing or benefit word ('improves', 'subscribe', 'our readers') leaves it out;
- 'never', 'careful', 'avoid', 'make sure', 'do not' make it a safety note;
- a first word (after openers like 'Now,' or 'With your thumbs,') that is an instruction
  verb, a start like 'You can/should', or 'If your partner is comfortable with X, ...'
  make it an instruction.
"""

from __future__ import annotations

import enum
import re

from voice_guide.draft.lexicon import Lexicon

__all__ = ["Kind", "kind_of", "unlabelled"]

_WORDS = re.compile(r"[a-z][a-z'-]*")


class Kind(str, enum.Enum):
    """What a sentence is."""

    INSTRUCTION = "instruction"
    SAFETY = "safety"
    LEFT_OUT = "left out"
    OTHER = "other"


def unlabelled(text: str, lexicon: Lexicon) -> tuple[str, bool]:
    """The sentence without a leading label, and whether the label was a safety label."""
    match = lexicon.label.match(text)
    if match is None or not text[match.end() :].strip():
        return text, False
    word = (match.group("word") or "").lower()
    rest = text[match.end() :].strip()
    return rest[0].upper() + rest[1:], word in lexicon.safety_labels


def kind_of(sentence: str, lexicon: Lexicon, *, safety_label: bool = False) -> Kind:
    """The kind of one (unlabelled) sentence."""
    if lexicon.marketing.search(sentence):
        return Kind.LEFT_OUT
    if safety_label or lexicon.safety.search(sentence):
        return Kind.SAFETY
    if lexicon.offer.match(sentence) or _imperative(sentence, lexicon):
        return Kind.INSTRUCTION
    return Kind.OTHER


def _imperative(sentence: str, lexicon: Lexicon) -> bool:
    lowered = sentence.lower()
    if lowered.startswith(lexicon.modal_openers):
        return True
    words = _WORDS.findall(lowered[:200])
    if words and words[0] in lexicon.preposition_openers and "," in lowered:
        words = _WORDS.findall(lowered.split(",", 1)[1][:200])
    while words and (words[0] in lexicon.openers or words[0].endswith("ly")):
        words = words[1:]
    return bool(words) and words[0] in lexicon.verbs
