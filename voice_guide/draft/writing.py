"""Writing a drafted routine as a routine YAML file, each inferred value followed by a
comment saying where in the guide it came from, each guess marked TODO.

Every text is written as a double-quoted YAML scalar (JSON string syntax is valid YAML),
so words like 'no' or a colon inside a sentence can never change its meaning.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import yaml

from voice_guide.draft.document import DraftRoutine, DraftStep, Source, Value
from voice_guide.routine.durations import format_duration

__all__ = ["Todo", "render_yaml"]

_QUOTE_WORDS = 8
_QUOTE_CHARS = 80


@dataclass(frozen=True)
class Todo:
    """Something the author has to fill in: the line of the routine file, and what."""

    line: int
    message: str


@dataclass
class _Writer:
    lines: list[str] = field(default_factory=list)
    todos: list[Todo] = field(default_factory=list)

    def put(self, text: str, value: Value[object] | None = None, *, extra: str = "") -> None:
        comment = _comment(value, extra) if value is not None else ""
        if value is not None and value.todo:
            self.todos.append(Todo(len(self.lines) + 1, value.todo))
        self.lines.append(f"{text}  # {comment}" if comment else text)


def render_yaml(routine: DraftRoutine, target: str) -> tuple[str, list[Todo]]:
    """The routine file's text, and its TODOs (with their lines in that text)."""
    out = _Writer()
    out.put(f"# Drafted by `voice-guide draft` from {_one_line(routine.guide)}. Check each value")
    out.put('# against the guide ("from line N" says where it came from; TODO marks what the')
    out.put(f"# guide did not say), then run: voice-guide check {_one_line(target)}")
    out.put(f"title: {_q(routine.title.value)}", routine.title)
    out.put("language: en  # drafting reads English guides")
    if routine.levels:
        out.put("pressure:  # the drafted scale, lightest first; the guide's words per level")
        out.put("  levels:")
        for number, level in enumerate(routine.levels, 1):
            out.put(f"    {number}: {{name: {_q(level.value)}}}", level)
        out.put(f"  start: {routine.start.value}", routine.start, extra="the first step's")
    if routine.safety:
        out.put("safety:  # said once, at the start")
        for note in routine.safety:
            out.put(f"  - {_q(note.value)}", note)
    if routine.phrases:
        out.put("phrases:  # more ways to say a command, quoted in the guide")
        for command, phrases in routine.phrases:
            out.put(f"  {command}:")
            for phrase in phrases:
                out.put(f"    - {_q(phrase.value)}", phrase)
    if routine.sections and routine.sections[0].title is None:
        out.put("steps:")
        for step in routine.sections[0].steps:
            _step(out, step, "  ")
    else:
        out.put("sections:")
        for section in routine.sections:
            assert section.title is not None
            out.put(f"  - title: {_q(section.title.value)}", section.title)
            out.put("    steps:")
            for step in section.steps:
                _step(out, step, "      ")
    if routine.left_out:
        out.put("")
        out.put(
            "# Left out of the routine (not instructions: benefits, marketing, page furniture):"
        )
        for source in routine.left_out:
            out.put(f"#   line {source.line}: {_excerpt(source.quote)}")
    return "\n".join(out.lines) + "\n", out.todos


def _step(out: _Writer, step: DraftStep, indent: str) -> None:
    out.put(f"{indent}- id: {_plain(step.id)}")
    inner = indent + "  "
    out.put(f"{inner}title: {_q(step.title.value)}", step.title)
    out.put(f"{inner}say: {_q(step.say.value)}", step.say)
    if step.duration.value is None:
        out.put(f"{inner}duration: wait for next", step.duration)
    else:
        out.put(f"{inner}duration: {format_duration(step.duration.value)}", step.duration)
    if len(step.areas) == 1:
        out.put(f"{inner}area: {step.areas[0].value}", step.areas[0])
    elif step.areas:
        out.put(f"{inner}areas:  # avoiding any of them leaves the step out")
        for area in step.areas:
            out.put(f"{inner}  - {area.value}", area)
    if step.pressure:
        level = step.pressure.value
        out.put(
            f"{inner}pressure: {{min: {level.low}, max: {level.high}, start: {level.start}}}",
            step.pressure,
        )
    if step.offer:
        out.put(f"{inner}offer:")
        out.put(f"{inner}  ask: {_q(step.offer.value)}", step.offer)
    if step.cues:
        out.put(f"{inner}cues:")
        for cue in step.cues:
            out.put(f"{inner}  - at: {format_duration(cue.at)}")
            out.put(f"{inner}    say: {_q(cue.say.value)}", cue.say)
    if step.safety:
        out.put(f"{inner}safety:")
        for note in step.safety:
            out.put(f"{inner}  - {_q(note.value)}", note)


def _comment(value: Value[object], extra: str) -> str:
    parts = []
    if value.source:
        parts.append(_from(value.source))
    if value.todo:
        parts.append(f"TODO: {value.todo}")
    if extra:
        parts.append(extra)
    return "; ".join(parts)


def _from(source: Source) -> str:
    text = f"from line {source.line}: {_excerpt(source.quote)}"
    return f"{text} ({source.note})" if source.note else text


def _excerpt(text: str) -> str:
    words = _one_line(text).replace('"', "'").split()
    cut = " ".join(words[:_QUOTE_WORDS])[:_QUOTE_CHARS]
    return f'"{cut}..."' if len(cut) < len(" ".join(words)) else f'"{cut}"'


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _plain(word: str) -> str:
    """`word` unquoted when YAML reads it back as the same text ('warm-up'), else quoted
    ('0', '1e3', 'no')."""
    return word if isinstance(yaml.safe_load(word), str) else _q(word)


def _q(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)
