"""From the blocks of a how-to text to a drafted routine.

Headings are sections. Every list item, and every paragraph with an instruction (see
`kinds`), is a step; a paragraph without a time after a timed step goes on that step, as
its cues. A step's time, body areas and pressure come from its instructions; its safety
notes from the safety sentences beside them; 'If your partner is comfortable with X, ...'
opening a step makes it an offer. Safety notes standing alone before the first steps are
the routine's; quoted feedback phrases become the routine's `phrases:`.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field, replace

from voice_guide.commands import Command, normalize, vocabulary
from voice_guide.draft.body import area_words, pressure_range, pressure_words
from voice_guide.draft.document import (
    DraftRoutine,
    DraftSection,
    DraftStep,
    Range,
    Source,
    Value,
)
from voice_guide.draft.durations import Found, find_durations
from voice_guide.draft.kinds import Kind, kind_of, unlabelled
from voice_guide.draft.lexicon import Lexicon
from voice_guide.draft.reading import Block, GuideError
from voice_guide.draft.sentences import Sentence, SourceText, speakable_parts, split_sentences
from voice_guide.draft.speech import MAX_SAY_CHARS, say_and_cues, step_groups
from voice_guide.routine.durations import format_duration

__all__ = ["infer"]

_SENTENCE_WORDS = 4
"""A line of a plain text this long that reads as an instruction is no heading."""
_QUOTED = re.compile(r"\"([^\"]{1,80})\"|“([^”]{1,80})”|(?<!\w)'([^']{1,80})'(?!\w)")


@dataclass
class _Step:
    """A step being collected: its sentences by kind."""

    section: int
    """How many headings came before it (0: none)."""
    instructions: list[Sentence] = field(default_factory=list)
    safety: list[Sentence] = field(default_factory=list)
    timed: bool = False
    """Its first block gives a time."""
    title: Value[str] | None = None
    """The name the guide gives it (bold words leading its block)."""

    def durations(self, lexicon: Lexicon) -> list[tuple[Sentence, Found]]:
        return [(s, f) for s in self.instructions for f in find_durations(s.text, lexicon)]


@dataclass
class _Reading:
    """What has been read so far."""

    lexicon: Lexicon
    source: SourceText
    partner: bool
    """The text addresses a giver about a partner ('your hands' are the giver's)."""
    sections: list[Value[str]] = field(default_factory=list)
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
    blocks = [
        replace(block, kind="paragraph", level=0)
        if block.guessed and _reads_as_instruction(block.text, lexicon)
        else block
        for block in blocks
    ]
    routine_title = Value(title, todo="write the routine's name")
    if blocks and blocks[0].kind == "heading":
        routine_title = _heading(blocks[0], lexicon)
        blocks = blocks[1:]
    for block in blocks:
        if block.kind == "heading":
            reading.sections.append(_heading(block, lexicon))
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


def _heading(block: Block, lexicon: Lexicon) -> Value[str]:
    """A heading as a title, without a label ('Step 2: Soles' -> 'Soles')."""
    text, _ = unlabelled(block.text, lexicon)
    return Value(text[:120], Source(block.line, block.text))


def _reads_as_instruction(text: str, lexicon: Lexicon) -> bool:
    """A short line that still is an instruction: it gives a time, or is a whole imperative
    sentence (headings such as 'Warm up' or 'Rest' are verbs too, but short)."""
    words, _ = unlabelled(text, lexicon)
    if find_durations(words, lexicon):
        return True
    return len(words.split()) >= _SENTENCE_WORDS and kind_of(words, lexicon) is not Kind.OTHER


def _read_block(reading: _Reading, block: Block) -> None:
    sentences, kinds = [], []
    for sentence in split_sentences(block.text, block.line, reading.source):
        text, safety_label = unlabelled(sentence.text, reading.lexicon)
        sentences.append(replace(sentence, text=text))
        kinds.append(kind_of(text, reading.lexicon, safety_label=safety_label))
    reading.quotes += [s for s in sentences if _QUOTED.search(s.text)]
    of_kind = list(zip(sentences, kinds, strict=True))
    safety = [s for s, kind in of_kind if kind is Kind.SAFETY]
    if Kind.INSTRUCTION not in kinds:
        reading.left_out += [s for s, kind in of_kind if kind is not Kind.SAFETY]
        _place_safety(reading, safety)
        return
    instructions = [s for s, kind in of_kind if kind in (Kind.INSTRUCTION, Kind.OTHER)]
    reading.left_out += [s for s, kind in of_kind if kind is Kind.LEFT_OUT]
    title = None
    if block.lead and len(instructions) > 1:
        name = block.lead.rstrip(".:!")
        title = Value(name[:120], Source(block.line, block.lead))
        if instructions[0].text.rstrip(".:!") == name:
            instructions = instructions[1:]  # the name is the title, not said twice
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
    step = _Step(section, instructions, reading.pending_safety + safety, timed, title)
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
    # The whole scale as soon as the guide names any pressure: the same four levels in
    # every drafted routine; a step reaches the deepest only where the guide says so.
    used = any(levels_used)
    top = len(lexicon.pressure_names) if used else 0
    drafted: list[tuple[int, DraftStep]] = []
    ids: dict[str, int] = {}
    counts = Counter(step.section for step in reading.steps)
    for step, named in zip(reading.steps, levels_used, strict=True):
        pressure = _step_pressure(named, top)
        heading = reading.sections[step.section - 1] if step.section else None
        for part in _drafted_steps(reading, step, heading, counts[step.section] == 1, ids):
            if pressure:
                part = replace(part, pressure=pressure)
            drafted.append((step.section, part))
    sections = _sections(reading, drafted)
    first_pressure = next(
        (Value(s.pressure.value.start, s.pressure.source) for _, s in drafted if s.pressure),
        Value(1),
    )
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
    if not parts:
        return []
    areas = _areas(reading, step, heading, alone)
    drafted = []
    groups = step_groups(parts, duration)
    for number, (group, group_duration) in enumerate(groups):
        say, cue_parts = say_and_cues(group, group_duration.value)
        first = group[0][0]
        title = step.title if number == 0 else None
        if title is None and alone and heading and len(groups) == 1:
            title = heading
        title = title or Value(_short_title(first.text, lexicon), Source(first.line, first.text))
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
        for name, start, words in area_words(
            sentence.text, reading.lexicon, partner=reading.partner
        ):
            line = reading.source.line_at(sentence, start)
            found.setdefault(name, Source(line, words))
    if heading is None or heading.source is None:
        return tuple(Value(name, source) for name, source in found.items())
    labelled: dict[str, Source] = {}
    for name, _, words in area_words(heading.value, reading.lexicon, partner=reading.partner):
        if name in found or alone:
            labelled.setdefault(
                name, found.get(name) or Source(heading.source.line, words, "the heading")
            )
    ordered = {**labelled, **found}
    return tuple(Value(name, source) for name, source in ordered.items())


_Levels = list[tuple[int, Source]]
"""Pressure levels a step names, each with the word that names it."""


def _pressure_levels(step: _Step, lexicon: Lexicon, source: SourceText) -> _Levels:
    """The pressure levels a step's instructions name, each where its word is written."""
    return [
        (level, Source(source.line_at(sentence, offset), word))
        for sentence in step.instructions
        for level, word, offset in pressure_words(sentence.text, lexicon)
    ]


def _step_pressure(named: _Levels, top: int) -> Value[Range] | None:
    """The step's limits, sourced at its first pressure words ('light firm')."""
    if not named:
        return None
    first = named[0][1]
    words = " ".join(dict.fromkeys(s.quote for _, s in named if s.line == first.line))
    return Value(pressure_range([level for level, _ in named], top), replace(first, quote=words))


def _scale(reading: _Reading, levels_used: list[_Levels], top: int) -> tuple[Value[str], ...]:
    """The scale's levels, each sourced at the first word in the guide that names it."""
    names = reading.lexicon.pressure_names
    sources: dict[int, Source] = {}
    for named in levels_used:
        for level, source in named:
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


def _short_title(text: str, lexicon: Lexicon) -> str:
    """The start of an instruction, as a step title: 'Knead the tops of the shoulders'."""
    clause, _, rest = text.partition(",")
    if rest and clause.split()[0].lower() in lexicon.preposition_openers:
        clause, _, rest = rest.strip().partition(",")  # 'With your thumbs, make circles'
    words = re.findall(r"[\w'-]+", clause if len(clause.split()) >= 2 else text)
    if not words:
        return "Step"
    kept: list[str] = []
    for word in words:
        if len(kept) >= 2 and word.lower() in lexicon.title_stops:
            break
        kept.append(word)
        if len(kept) == 6:
            break
    while len(kept) > 1 and kept[-1].lower() in lexicon.title_trailing:
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
