"""From the blocks of a how-to text to a drafted routine: which sentences are instructions,
safety notes, offers or marketing; and each step's duration, body areas and pressure.

The rules, in the order they apply to each sentence:
- a sentence holding a marketing or benefit word ('improves', 'subscribe', 'our readers') is
  left out;
- a sentence with 'never', 'careful', 'avoid', 'make sure' is a safety note;
- a sentence whose first word (after openers like 'Now,' or 'With your thumbs,') is an
  instruction verb, or that starts 'You can/should', is an instruction; 'If your partner is
  comfortable with X, ...' opening a step makes the step an offer;
- anything else is kept inside a block that has an instruction, and left out otherwise.
Headings are sections; every list item, and every paragraph with an instruction, is a step
(a paragraph without a time after a timed step goes on that step, as its cues).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from voice_guide.commands import Command, normalize, vocabulary
from voice_guide.draft.document import (
    Cue,
    DraftRoutine,
    DraftSection,
    DraftStep,
    Range,
    Source,
    Value,
)
from voice_guide.draft.durations import Found, find_durations
from voice_guide.draft.lexicon import Lexicon
from voice_guide.draft.reading import Block, GuideError
from voice_guide.draft.sentences import Sentence, SourceText, speakable_parts, split_sentences
from voice_guide.routine.durations import format_duration

__all__ = ["infer"]

SAY_WORDS = 32
"""A step's `say` holds about this many words; the rest of its sentences become cues."""
MAX_SAY_CHARS = 1800
"""Below the routine model's 2000 characters per text, with room to spare."""
MAX_CUES = 40
"""Most cues drafted in one step (the loader allows more; a guide never needs that many)."""
CUE_SPACING = 5
"""Seconds at least between drafted cues."""
_TOO_MUCH = (
    "the guide says more here than fits in the step's time: give it a duration, "
    "or keep 'wait for next'"
)
_QUOTE_WORDS = 7
_QUOTED = re.compile(r"\"([^\"]{1,80})\"|“([^”]{1,80})”|(?<!\w)'([^']{1,80})'(?!\w)")
_TITLE_STOPS = frozenset(
    [
        "across",
        "from",
        "between",
        "for",
        "with",
        "along",
        "into",
        "to",
        "toward",
        "towards",
        "around",
        "on",
        "in",
        "at",
        "behind",
        "away",
        "using",
        "until",
        "while",
        "then",
        "and",
    ]
)
_GIVERS = re.compile(r"\b(?:your|both|my|your own)\s+(?:[\w'-]+\s+(?:and|or)\s+)?$")
"""Before a giver's tool: 'your thumbs', 'your thumbs and fingers'."""
_TRAILING = frozenset(["the", "a", "an", "of", "your", "their", "and", "or", "to"])


@dataclass
class _Step:
    """A step being collected: its sentences by kind."""

    section: int
    line: int
    instructions: list[Sentence] = field(default_factory=list)
    safety: list[Sentence] = field(default_factory=list)
    timed: bool = False
    """Its first block gives a time."""

    def durations(self, lexicon: Lexicon) -> list[tuple[Sentence, Found]]:
        return [(s, f) for s in self.instructions for f in find_durations(s.text, lexicon)]


@dataclass
class _Reading:
    """What has been read so far."""

    lexicon: Lexicon
    source: SourceText
    partner: bool
    """The text addresses a giver about a partner ('your hands' are the giver's)."""
    sections: list[Value[str] | None] = field(default_factory=list)
    steps: list[_Step] = field(default_factory=list)
    safety: list[Sentence] = field(default_factory=list)
    pending_safety: list[Sentence] = field(default_factory=list)
    quotes: list[Sentence] = field(default_factory=list)
    left_out: list[Sentence] = field(default_factory=list)


def infer(
    blocks: list[Block], text: str, guide: str, title: str, lexicon: Lexicon, max_steps: int
) -> DraftRoutine:
    """The routine drafted from `blocks` of the guide `text`; `title` is used when the guide
    has none. An empty routine (no steps) when nothing in it is an instruction.

    Raises GuideError as soon as the guide gives more than `max_steps` steps.
    """
    reading = _Reading(lexicon, SourceText(text), bool(lexicon.partner.search(text)))
    routine_title = Value(title, todo="write the routine's name")
    if blocks and blocks[0].kind == "heading":
        routine_title = Value(blocks[0].text[:120], Source(blocks[0].line, blocks[0].text))
        blocks = blocks[1:]
    for block in blocks:
        if block.kind == "heading":
            reading.sections.append(Value(block.text[:120], Source(block.line, block.text)))
        else:
            _read_block(reading, block)
        if len(reading.steps) > max_steps:
            raise GuideError(
                f"{guide}: it gives more than {max_steps} steps, the most a routine may have "
                "— split the guide into parts and draft one routine from each"
            )
    reading.safety += reading.pending_safety
    return _routine(reading, guide, routine_title)


# -- sentences and blocks ------------------------------------------------------------------


def _kind(sentence: str, lexicon: Lexicon) -> str:
    if lexicon.marketing.search(sentence):
        return "left out"
    if lexicon.safety.search(sentence):
        return "safety"
    if lexicon.offer.match(sentence) or _imperative(sentence, lexicon):
        return "instruction"
    return "other"


def _imperative(sentence: str, lexicon: Lexicon) -> bool:
    lowered = sentence.lower()
    if lowered.startswith(lexicon.modal_openers):
        return True
    words = re.findall(r"[a-z][a-z'-]*", lowered)
    if words and words[0] in lexicon.preposition_openers and "," in lowered:
        words = re.findall(r"[a-z][a-z'-]*", lowered.split(",", 1)[1])
    while words and (words[0] in lexicon.openers or words[0].endswith("ly")):
        words = words[1:]
    return bool(words) and words[0] in lexicon.verbs


def _read_block(reading: _Reading, block: Block) -> None:
    sentences = split_sentences(block.text, block.line, reading.source)
    kinds = [_kind(sentence.text, reading.lexicon) for sentence in sentences]
    reading.quotes += [s for s in sentences if _QUOTED.search(s.text)]
    safety = [s for s, kind in zip(sentences, kinds, strict=True) if kind == "safety"]
    if "instruction" not in kinds:
        reading.left_out += [
            s for s, kind in zip(sentences, kinds, strict=True) if kind != "safety"
        ]
        _place_safety(reading, safety)
        return
    instructions = [
        s for s, kind in zip(sentences, kinds, strict=True) if kind in ("instruction", "other")
    ]
    reading.left_out += [s for s, kind in zip(sentences, kinds, strict=True) if kind == "left out"]
    section = len(reading.sections)
    previous = reading.steps[-1] if reading.steps else None
    timed = any(find_durations(s.text, reading.lexicon) for s in instructions)
    if (
        block.kind == "paragraph"
        and previous is not None
        and previous.section == section
        and not timed
        and previous.timed
    ):
        previous.instructions += instructions
        previous.safety += safety
        return
    step = _Step(section, block.line, instructions, reading.pending_safety + safety, timed)
    reading.pending_safety = []
    reading.steps.append(step)


def _place_safety(reading: _Reading, safety: list[Sentence]) -> None:
    """A block of safety notes alone: the routine's notes before the first section with steps
    is done, else the previous step's in the same section, else the next step's."""
    if not safety:
        return
    section = len(reading.sections)
    first_section = reading.steps[0].section if reading.steps else section
    if section <= first_section:
        reading.safety += safety
    elif reading.steps and reading.steps[-1].section == section:
        reading.steps[-1].safety += safety
    else:
        reading.pending_safety += safety


# -- the routine -----------------------------------------------------------------------------


def _routine(reading: _Reading, guide: str, title: Value[str]) -> DraftRoutine:
    lexicon = reading.lexicon
    levels_used = [_pressure_levels(step, lexicon, reading.source) for step in reading.steps]
    top = max((level for levels, _ in levels_used for level in levels), default=0)
    drafted: list[tuple[int, DraftStep]] = []
    ids: dict[str, int] = {}
    counts = Counter(step.section for step in reading.steps)
    for step, (levels, pressure_source) in zip(reading.steps, levels_used, strict=True):
        heading = reading.sections[step.section - 1] if step.section else None
        for part in _drafted_steps(reading, step, heading, counts[step.section] == 1, ids):
            if levels and pressure_source:
                part = replace(part, pressure=Value(_range(levels, top), pressure_source))
            drafted.append((step.section, part))
    sections = _sections(reading, drafted)
    first_pressure = next((s.pressure.value.start for _, s in drafted if s.pressure), 1)
    return DraftRoutine(
        guide=guide,
        title=title,
        sections=sections,
        levels=_scale(reading, levels_used, top),
        start=first_pressure,
        safety=tuple(_note(s) for s in reading.safety),
        phrases=_phrases(reading),
        left_out=tuple(Source(s.line, s.text) for s in reading.left_out),
    )


def _sections(reading: _Reading, drafted: list[tuple[int, DraftStep]]) -> tuple[DraftSection, ...]:
    grouped: dict[int, list[DraftStep]] = {}
    for number, step in drafted:
        grouped.setdefault(number, []).append(step)
    if not any(grouped):
        return (DraftSection(None, tuple(step for _, step in drafted)),) if drafted else ()
    sections = []
    for number, steps in sorted(grouped.items()):
        title = reading.sections[number - 1] if number else None
        if title is None:
            title = Value(
                "Getting started", todo="name this section (the guide has no heading here)"
            )
        sections.append(DraftSection(title, tuple(steps)))
    return tuple(sections)


def _drafted_steps(
    reading: _Reading, step: _Step, heading: Value[str] | None, alone: bool, ids: dict[str, int]
) -> list[DraftStep]:
    """The step, or several when its text is too long for one `say` and it has no time."""
    lexicon = reading.lexicon
    sentences = list(step.instructions)
    offer = None
    match = lexicon.offer.match(sentences[0].text)
    if match:
        offer = _offer(match, sentences[0])
        rest = sentences[0].text[match.end() :]
        if rest.strip(" .,;"):
            sentences[0] = replace(sentences[0], text=rest[0].upper() + rest[1:])
        else:
            sentences = sentences[1:] or [replace(sentences[0], text="Carry on as before.")]
    duration = _duration(step, lexicon, reading.source)
    parts = [(s, part) for s in sentences for part in speakable_parts(s.text)]
    areas = _areas(reading, step, heading, alone)
    drafted = []
    groups = _groups(parts, duration)
    for number, (group, group_duration) in enumerate(groups):
        say, cue_parts = _say_and_cues(group, group_duration.value)
        first = group[0][0]
        title = heading if alone and heading and len(groups) == 1 else None
        title = title or Value(
            _short_title(first.text, lexicon.preposition_openers), Source(first.line, first.text)
        )
        drafted.append(
            DraftStep(
                id=_unique_id(title.value, ids),
                title=title,
                say=say,
                duration=group_duration,
                areas=areas,
                cues=cue_parts,
                safety=tuple(_note(s) for s in step.safety) if number == 0 else (),
                offer=offer if number == 0 else None,
            )
        )
    return drafted


_Parts = list[tuple[Sentence, str]]


def _groups(
    parts: _Parts, duration: Value[float | None]
) -> list[tuple[_Parts, Value[float | None]]]:
    """The step's spoken parts as steps: a timed step says its opening and then cues (as
    many as its time has room for); what does not fit, and an untimed step's text, goes
    into steps short enough to say, that wait for 'next'."""
    groups: list[tuple[_Parts, Value[float | None]]] = []
    rest = parts
    if duration.value is not None:
        opening = _opening(parts)
        room = max(0, min(MAX_CUES, int(duration.value // CUE_SPACING) - 1))
        groups.append((parts[: opening + room], duration))
        rest = parts[opening + room :]
        duration = Value(None, todo=_TOO_MUCH)
    chunk: _Parts = []
    for part in rest:
        if chunk and _chars(chunk) + len(part[1]) > MAX_SAY_CHARS:
            groups.append((chunk, duration))
            chunk = []
        chunk.append(part)
    if chunk:
        groups.append((chunk, duration))
    return groups


def _opening(parts: _Parts) -> int:
    """How many parts a timed step says as it starts: about SAY_WORDS words, at least one."""
    count, words = 0, 0
    while count < len(parts) and (count == 0 or words + len(parts[count][1].split()) <= SAY_WORDS):
        words += len(parts[count][1].split())
        count += 1
    return count


def _chars(group: _Parts) -> int:
    return sum(len(part) + 1 for _, part in group)


def _say_and_cues(group: _Parts, duration: float | None) -> tuple[Value[str], tuple[Cue, ...]]:
    opening = _opening(group) if duration is not None else len(group)
    first = group[0][0]
    say = Value(" ".join(part for _, part in group[:opening]), Source(first.line, first.text))
    rest = group[opening:]
    if not rest or duration is None:
        return say, ()
    # Cues spread evenly over the step, whole seconds, never at 0 or at the end.
    slots = len(rest) + 1
    cues = tuple(
        Cue(max(1, int(duration * n / slots)), Value(part, Source(sentence.line, sentence.text)))
        for n, (sentence, part) in enumerate(rest, 1)
    )
    return say, cues


def _offer(match: re.Match[str], sentence: Sentence) -> Value[str]:
    who = " ".join(match.group("who").lower().split())
    what = " ".join(match.group("what").split()).rstrip(".")
    person = "you" if who == "you" else "your partner"
    return Value(f"Would {person} like {what}?", Source(sentence.line, match.group(0).strip(" ,;")))


def _duration(step: _Step, lexicon: Lexicon, source: SourceText) -> Value[float | None]:
    found = step.durations(lexicon)
    if not found:
        return Value(
            None, todo="no time in the guide: give a duration like 1m, or keep 'wait for next'"
        )
    totals = [(s, f) for s, f in found if f.total]
    used = totals[:1] or found
    seconds = sum(f.seconds for _, f in used)
    notes = []
    if any(f.ranged for _, f in used):
        notes.append("the middle of the range")
    if any(f.each_side for _, f in used):
        notes.append("twice: once for each side")
    if len(used) > 1:
        notes.append("added up: " + " + ".join(format_duration(f.seconds) for _, f in used))
    quote = ", ".join(f.phrase for _, f in used)
    line = source.line_at(used[0][0], used[0][1].start)
    return Value(seconds, Source(line, quote, "; ".join(notes)))


def _areas(
    reading: _Reading, step: _Step, heading: Value[str] | None, alone: bool
) -> tuple[Value[str], ...]:
    """Body areas the step's instructions name, in order; the heading's first when it
    names them too (or labels this step alone)."""
    found: dict[str, Source] = {}
    for sentence in step.instructions:
        for name, start, words in _area_words(reading, sentence.text):
            line = reading.source.line_at(sentence, start)
            found.setdefault(name, Source(line, words))
    if heading is None or heading.source is None:
        return tuple(Value(name, source) for name, source in found.items())
    labelled: dict[str, Source] = {}
    for name, _, words in _area_words(reading, heading.value):
        if name in found or alone:
            labelled.setdefault(
                name, found.get(name) or Source(heading.source.line, words, "the heading")
            )
    ordered = {**labelled, **found}
    return tuple(Value(name, source) for name, source in ordered.items())


def _area_words(reading: _Reading, text: str) -> Iterable[tuple[str, int, str]]:
    """(area, offset, words) for each body word in `text`, in order of appearance."""
    matches = []
    for name, pattern in reading.lexicon.areas:
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
        before = text[max(0, start - 24) : start].lower()
        if (
            reading.partner
            and words.lower() in reading.lexicon.giver_tools
            and _GIVERS.search(before)
        ):
            continue  # the giver's own hands, thumbs, forearm: a tool, not the area
        if name == "back" and text[end : end + 4].lower() == " of ":
            continue  # 'the back of the chair'
        kept.append((start, name, words))
    for start, name, words in sorted(kept):
        yield name, start, words


def _pressure_levels(
    step: _Step, lexicon: Lexicon, text: SourceText
) -> tuple[list[int], Source | None]:
    levels: list[int] = []
    source = None
    for sentence in step.instructions:
        lowered = sentence.text.lower()
        words = re.findall(r"[a-z][a-z'-]*", lowered)
        found = []
        for index, word in enumerate(words):
            level = lexicon.pressure_words.get(word)
            if level is None:
                continue
            following = words[index + 1 : index + 4]
            ranged = index + 2 < len(words) and words[index + 1] == "to"
            if any(w in lexicon.pressure_nouns for w in following) or ranged:
                found.append((level, word))
        if found:
            levels += [level for level, _ in found]
            words_used = " ".join(dict.fromkeys(word for _, word in found))
            first = re.search(rf"\b{re.escape(found[0][1])}\b", lowered)
            line = text.line_at(sentence, first.start() if first else 0)
            source = source or Source(line, words_used)
    return levels, source


def _range(levels: list[int], top: int) -> Range:
    low, high = min(levels), max(levels)
    if low == high:
        # One pressure word: room to ask for one level either way, but the deepest level
        # only where the guide says so.
        ceiling = top if low == top else max(low, top - 1)
        return Range(max(1, low - 1), min(ceiling, low + 1), low)
    return Range(low, high, low)


def _scale(
    reading: _Reading, levels_used: list[tuple[list[int], Source | None]], top: int
) -> tuple[Value[str], ...]:
    names = reading.lexicon.pressure_names
    sources: dict[int, Source] = {}
    for levels, source in levels_used:
        for level in levels:
            if source:
                sources.setdefault(level, source)
    return tuple(Value(names[level - 1], sources.get(level)) for level in range(1, top + 1))


def _note(sentence: Sentence) -> Value[str]:
    text = " ".join(speakable_parts(sentence.text))[:MAX_SAY_CHARS]
    return Value(text, Source(sentence.line, sentence.text))


def _phrases(reading: _Reading) -> tuple[tuple[str, tuple[Value[str], ...]], ...]:
    known = vocabulary("en")
    found: dict[Command, list[Value[str]]] = {}
    seen: set[str] = set()
    for sentence in reading.quotes:
        for match in _QUOTED.finditer(sentence.text):
            quoted = next(group for group in match.groups() if group)
            phrase = normalize(quoted)
            if not phrase or len(phrase.split()) > 6 or phrase in seen:
                continue
            if known.command(phrase) is not None:
                continue  # heard already, as a phrase of the table or with a filler
            command = next(
                (cmd for cmd, pattern in reading.lexicon.feedback if pattern.search(phrase)), None
            )
            if command is None:
                continue
            seen.add(phrase)
            found.setdefault(command, []).append(
                Value(phrase, Source(sentence.line, f'"{quoted}"'))
            )
    return tuple((cmd.value, tuple(found[cmd])) for cmd in Command if cmd in found)


def _short_title(text: str, openers: frozenset[str]) -> str:
    """The start of an instruction, as a step title: 'Knead the tops of the shoulders'."""
    clause, _, rest = text.partition(",")
    if rest and clause.split()[0].lower() in openers:
        clause, _, rest = rest.strip().partition(",")  # 'With your thumbs, make circles'
    words = re.findall(r"[\w'-]+", clause if len(clause.split()) >= 2 else text)
    if not words:
        return "Step"
    kept: list[str] = []
    for word in words:
        if len(kept) >= 2 and word.lower() in _TITLE_STOPS:
            break
        kept.append(word)
        if len(kept) == 6:
            break
    while len(kept) > 1 and kept[-1].lower() in _TRAILING:
        kept.pop()
    title = " ".join(kept)[:60] or "Step"
    return title[0].upper() + title[1:]


def _unique_id(title: str, ids: dict[str, int]) -> str:
    """A step id from `title`, unique among `ids` (id -> the next number to try after it)."""
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:40].strip("-") or "step"
    candidate, number = slug, ids.get(slug, 2)
    while candidate in ids:
        candidate, number = f"{slug}-{number}", number + 1
    ids[slug] = number
    ids.setdefault(candidate, 2)
    return candidate
