"""The typed routine model: what a spoken script (YAML) may say, validated by pydantic.

Field descriptions double as the JSON Schema editors use to autocomplete routines.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from voice_guide.commands import Command, normalize
from voice_guide.routine.durations import HOW_TO_WRITE, parse_duration
from voice_guide.safe_text import describe_unsafe, unsafe_character, visible

WAIT_WORDS = frozenset({"wait", "wait for next", "until next", "until you say next"})

Duration = Annotated[
    float,
    BeforeValidator(parse_duration),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number", "exclusiveMinimum": 0},
                {"type": "string", "examples": ["45s", "2m", "1m30s", "2 minutes"]},
            ]
        }
    ),
]


def _speakable(text: str) -> str:
    char = unsafe_character(text)
    if char is not None:
        raise ValueError(
            f"the text contains {describe_unsafe(char)}, that would garble the screen — remove it"
        )
    if not visible(text):
        raise ValueError("the text is only invisible characters — write what to say, or remove it")
    return text


Text = Annotated[str, Field(min_length=1, max_length=2000), AfterValidator(_speakable)]


def _not_bool(value: object) -> object:
    # pydantic would read true/false as 1/0; a level is a number a person wrote.
    if isinstance(value, bool):
        raise ValueError(f"{str(value).lower()} is not a pressure level — write a number like 2")
    return value


MIN_LEVEL = 1
MAX_LEVEL = 10
"""Pressure levels a scale may have: 1 (lightest) to 10."""
Level = Annotated[int, BeforeValidator(_not_bool), Field(ge=MIN_LEVEL, le=MAX_LEVEL)]
StepId = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=64)]
AreaName = Annotated[str, Field(min_length=1, max_length=64)]
# Lets editors (yaml-language-server) check mapping keys that are pressure levels.
_LEVEL_KEYS = {"propertyNames": {"pattern": "^([1-9]|10)$"}}


class LocatedValueError(ValueError):
    """A validation error about a part *inside* the value being validated.

    `where` is the path below the validated value (field names, list indexes, mapping keys;
    "[key]" last when the key itself is wrong), so the loader can point at the exact line.
    """

    def __init__(self, message: str, *where: str | int) -> None:
        super().__init__(message)
        self.where = where


def _step_duration(value: object) -> float | None:
    if isinstance(value, str) and " ".join(value.lower().split()) in WAIT_WORDS:
        return None
    return parse_duration(value)


StepDuration = Annotated[
    float | None,
    BeforeValidator(_step_duration),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number", "exclusiveMinimum": 0},
                {"type": "string", "examples": ["2m", "90s", "wait for next"]},
            ],
            "description": f"How long the step lasts ({HOW_TO_WRITE}), or 'wait for next'.",
        }
    ),
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


@dataclass(frozen=True)
class CueTime:
    """When a cue is spoken, relative to the step's start or end."""

    seconds: float
    from_end: bool = False
    halfway: bool = False

    def offset(self, duration: float) -> float:
        """Seconds after the step starts."""
        if self.halfway:
            return duration / 2
        return duration - self.seconds if self.from_end else self.seconds


_LEFT = re.compile(r"^(.*?)\s*(left|remaining|before the end)$")


def parse_cue_time(value: object) -> CueTime:
    """'1m', '90s', 'halfway', '30s left' -> CueTime."""
    if isinstance(value, CueTime):
        return value
    if isinstance(value, str):
        text = " ".join(value.lower().split())
        if text in ("halfway", "half way", "half-way", "middle"):
            return CueTime(0, halfway=True)
        match = _LEFT.match(text)
        if match:
            return CueTime(parse_duration(match.group(1)), from_end=True)
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value == 0:
        return CueTime(0.0)
    return CueTime(parse_duration(value))


CueAt = Annotated[
    CueTime,
    BeforeValidator(parse_cue_time),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number", "minimum": 0},
                {"type": "string", "examples": ["1m", "halfway", "30s left"]},
            ]
        }
    ),
]


class Voice(_Strict):
    """How the guide sounds."""

    name: str | None = Field(None, description="Voice name or id (see `voice-guide voices`).")
    rate: int | None = Field(None, ge=60, le=400, description="Speaking rate, words per minute.")
    volume: float | None = Field(None, ge=0.0, le=1.0, description="Volume, 0.0 to 1.0.")


class PressureLevel(_Strict):
    """One step of the pressure scale."""

    name: Text = Field(description="What the level is called, e.g. 'feather' or 'firm'.")
    technique: Text | None = Field(
        None, description="What to say when the pressure moves to this level (the technique)."
    )


class PressureScale(_Strict):
    """The pressure scale used throughout the routine."""

    levels: dict[Level, PressureLevel] = Field(
        description="Levels numbered from 1 (lightest) upward, e.g. 1: feather .. 5: deep.",
        json_schema_extra=_LEVEL_KEYS,
    )
    start: Level = Field(description="The level a session starts at.")

    @field_validator("levels")
    @classmethod
    def _consecutive(cls, levels: dict[int, PressureLevel]) -> dict[int, PressureLevel]:
        if not levels:
            raise ValueError(
                "the scale has no levels — add levels 1, 2, ... each with a 'name', "
                "or remove 'pressure:'"
            )
        expected = list(range(1, len(levels) + 1))
        if sorted(levels) != expected:
            wrong = next(level for n, level in enumerate(sorted(levels), 1) if level != n)
            raise LocatedValueError(
                f"pressure levels must be numbered 1 to {len(levels)} without gaps, "
                f"got {sorted(levels)} — renumber them 1, 2, 3, ...",
                wrong,
                "[key]",
            )
        return dict(sorted(levels.items()))

    @model_validator(mode="after")
    def _start_on_scale(self) -> PressureScale:
        if self.start not in self.levels:
            raise LocatedValueError(
                f"start level {self.start} is not on the scale 1..{self.top} — "
                f"choose a level from 1 to {self.top}",
                "start",
            )
        return self

    @property
    def top(self) -> int:
        """The deepest level."""
        return max(self.levels)

    def name(self, level: int) -> str:
        """The level's name."""
        return self.levels[level].name


class Cue(_Strict):
    """Something said at a moment inside a timed step."""

    at: CueAt = Field(description="When: '1m' after the start, 'halfway', or '30s left'.")
    say: Text = Field(description="What to say.")
    pressure: Level | None = Field(
        None,
        description="Move to this pressure level as the cue is said (e.g. 'slowly add "
        "pressure'); never above a level the recipient lowered after pain.",
    )


class StepPressure(_Strict):
    """Pressure limits inside one step."""

    min: Level | None = Field(None, description="Lightest level allowed in this step.")
    max: Level | None = Field(None, description="Deepest level allowed in this step.")
    start: Level | None = Field(None, description="Level to move to when the step starts.")

    @model_validator(mode="after")
    def _ordered(self) -> StepPressure:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise LocatedValueError(
                f"min ({self.min}) is greater than max ({self.max}) — swap them", "min"
            )
        if self.start is not None:
            if self.min is not None and self.start < self.min:
                raise LocatedValueError(
                    f"start ({self.start}) is below min ({self.min}) — raise start or lower min",
                    "start",
                )
            if self.max is not None and self.start > self.max:
                raise LocatedValueError(
                    f"start ({self.start}) is above max ({self.max}) — lower start or raise max",
                    "start",
                )
        return self


class Offer(_Strict):
    """A step that is only offered: asked first, done only on 'yes'."""

    min_pressure: Level | None = Field(
        None, description="Only offer when the pressure has reached at least this level."
    )
    ask: Text = Field(description="The question; the person answers 'yes' or 'no'.")
    declined: Text | None = Field(
        None, description="Said on 'no' (default: the language's 'we will leave it out')."
    )


class Step(_Strict):
    """One instruction of the routine."""

    id: StepId = Field(description="Unique id: lower-case letters, digits, - and _.")
    title: Text | None = Field(None, description="Short name, spoken on transitions.")
    say: Text = Field(description="The instruction, spoken when the step starts.")
    duration: StepDuration = Field(description="How long, e.g. '2m', or 'wait for next'.")
    area: AreaName | None = Field(
        None, description="Body area worked (a recipient may ask to avoid it)."
    )
    areas: list[AreaName] = Field(
        default_factory=list,
        description="Body areas worked or stretched, when more than one: avoiding any of "
        "them leaves the step out.",
    )
    say_if_avoided: dict[AreaName, Text] = Field(
        default_factory=dict,
        description="The instruction to say instead when the recipient avoids an area it "
        "mentions in passing, e.g. {lower-back: Place your palms on the middle of the back.}",
    )
    safety: list[Text] = Field(default_factory=list, description="Safety notes, always spoken.")
    cues: list[Cue] = Field(default_factory=list, description="Timed cues inside the step.")
    pressure: StepPressure | None = Field(None, description="Pressure limits in this step.")
    techniques: dict[Level, Text] = Field(
        default_factory=dict,
        description="What to say at each pressure level in this step.",
        json_schema_extra=_LEVEL_KEYS,
    )
    lighter: Text | None = Field(None, description="Extra advice said on 'lighter' here.")
    stronger: Text | None = Field(None, description="Extra advice said on 'stronger' here.")
    repeat: Text | None = Field(None, description="Said on 'repeat' (default: the instruction).")
    help: Text | None = Field(None, description="Said on 'help' in this step.")
    transition: Text | None = Field(
        None, description="Said when this step starts after the previous one ends by itself."
    )
    offer: Offer | None = Field(None, description="Ask before doing this step.")

    @property
    def timed(self) -> bool:
        """True when the step advances by itself."""
        return self.duration is not None

    @property
    def all_areas(self) -> tuple[str, ...]:
        """Every body area the step works: `area` first, then `areas`."""
        return tuple(dict.fromkeys([*([self.area] if self.area else []), *self.areas]))

    @property
    def touches(self) -> bool:
        """True when the step works the body (an area or pressure of its own)."""
        return bool(self.all_areas or self.pressure or self.techniques)

    def instruction(self, avoid: frozenset[str]) -> str:
        """What to say: the wording for the first avoided area it mentions, else `say`."""
        for area, text in self.say_if_avoided.items():
            if area in avoid:
                return text
        return self.say

    @property
    def name(self) -> str:
        """The title, or the id made readable."""
        return self.title or self.id.replace("-", " ").replace("_", " ").capitalize()

    @model_validator(mode="after")
    def _cues_inside(self) -> Step:
        if self.cues and self.duration is None:
            raise LocatedValueError(
                "timed cues need a step duration, but this step waits for next — "
                "give the step a duration like '2m', or remove the cues",
                "cues",
                "[key]",
            )
        for number, cue in enumerate(self.cues):
            offset = cue.at.offset(self.duration or 0)
            if not 0 <= offset < (self.duration or 0):
                where = "before the step starts" if offset < 0 else "after the step ends"
                fix = "use a shorter time" if offset < 0 else "move it earlier"
                raise LocatedValueError(
                    f"cue at {offset:g}s comes {where} (the step is {self.duration:g}s long) — "
                    f"{fix} or make the step longer",
                    "cues",
                    number,
                    "at",
                )
        return self


class Section(_Strict):
    """A group of steps, e.g. 'Upper back and shoulders'."""

    title: Text
    steps: list[Step] = Field(min_length=1)


class Routine(_Strict):
    """A spoken script: what the guide says, step by step."""

    title: Text = Field(description="The routine's name.")
    language: str = Field("en", pattern=r"^[a-z]{2,3}(-[A-Za-z]{2,4})?$")
    description: str | None = None
    voice: Voice = Field(default_factory=Voice)
    pressure: PressureScale | None = Field(None, description="The pressure scale, if any.")
    safety: list[Text] = Field(default_factory=list, description="Spoken once at the start.")
    help: Text | None = Field(None, description="Said on 'help' (after the list of commands).")
    phrases: dict[str, list[Annotated[str, Field(min_length=1, max_length=80)]]] = Field(
        default_factory=dict,
        description="More ways to say a command, heard by the listener in this routine: "
        "command name -> phrases, e.g. lighter: [easy there].",
    )
    sections: list[Section] = Field(default_factory=list)
    steps: list[Step] = Field(default_factory=list, description="Steps without sections.")

    @field_validator("phrases")
    @classmethod
    def _phrases_name_commands(cls, phrases: dict[str, list[str]]) -> dict[str, list[str]]:
        names = [command.value for command in Command]
        for name, said in phrases.items():
            if name not in names:
                close = difflib.get_close_matches(name, names, n=1)
                hint = f"did you mean {close[0]!r}?" if close else "commands: " + ", ".join(names)
                raise LocatedValueError(f"{name!r} is not a command — {hint}", name, "[key]")
            for number, phrase in enumerate(said):
                if not normalize(phrase):
                    raise LocatedValueError(
                        "this phrase has no words — write what a person says, e.g. 'easy there'",
                        name,
                        number,
                    )
        return phrases

    def extra_phrases(self) -> dict[str, Command]:
        """The routine's own phrases (normalized) -> the command each means."""
        return {
            normalize(phrase): Command(name)
            for name, said in self.phrases.items()
            for phrase in said
        }

    @model_validator(mode="after")
    def _shape(self) -> Routine:
        if self.sections and self.steps:
            raise LocatedValueError(
                "the routine has both 'sections' and 'steps' — put every step inside a "
                "section, or remove 'sections'",
                "steps",
                "[key]",
            )
        if not self.sections and not self.steps:
            given = [name for name in ("steps", "sections") if name in self.model_fields_set]
            raise LocatedValueError(
                "the routine has no steps — add 'steps:' (a list of steps) or 'sections:'",
                *given[:1],
            )
        seen: set[str] = set()
        for where, step in self.located_steps():
            if step.id in seen:
                raise LocatedValueError(
                    f"step id {step.id!r} is used twice — give each step its own id",
                    *where,
                    "id",
                )
            seen.add(step.id)
            self._check_levels(step, where)
        return self

    def located_steps(self) -> list[tuple[tuple[str | int, ...], Step]]:
        """Every step with its path in the routine, e.g. ('sections', 0, 'steps', 2)."""
        if self.steps:
            return [(("steps", n), step) for n, step in enumerate(self.steps)]
        return [
            (("sections", s, "steps", n), step)
            for s, section in enumerate(self.sections)
            for n, step in enumerate(section.steps)
        ]

    def _check_levels(self, step: Step, where: tuple[str | int, ...]) -> None:
        used: list[tuple[int, tuple[str | int, ...]]] = [
            (level, ("techniques", level, "[key]")) for level in step.techniques
        ]
        if step.pressure:
            for name in ("min", "max", "start"):
                level = getattr(step.pressure, name)
                if level:
                    used.append((level, ("pressure", name)))
        if step.offer and step.offer.min_pressure:
            used.append((step.offer.min_pressure, ("offer", "min_pressure")))
        used += [
            (c.pressure, ("cues", n, "pressure")) for n, c in enumerate(step.cues) if c.pressure
        ]
        if used and self.pressure is None:
            level, inner = used[0]
            raise LocatedValueError(
                f"step {step.id!r} uses pressure level {level} but the routine has no "
                "pressure scale — add 'pressure:' with 'levels' and 'start' at the top",
                *where,
                *inner,
            )
        top = self.pressure.top if self.pressure else 0
        for level, inner in used:
            if level > top:
                raise LocatedValueError(
                    f"step {step.id!r} uses pressure level {level} but the scale goes to "
                    f"{top} — add the level to 'pressure.levels' or lower it",
                    *where,
                    *inner,
                )

    @property
    def all_steps(self) -> list[Step]:
        """Every step in order."""
        if self.steps:
            return list(self.steps)
        return [step for section in self.sections for step in section.steps]

    def section_of(self, index: int) -> str | None:
        """The title of the section holding step number `index`."""
        if self.steps:
            return None
        for section in self.sections:
            if index < len(section.steps):
                return section.title
            index -= len(section.steps)
        return None
