"""The pressure feature of a session: levels, techniques, pressure remembered per body
area, and easing off after pain. Pure, like the session core that uses it.

A routine without a pressure scale carries none of this: its session has no
`PressureCare` and its state no `PressureState`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from voice_guide.commands.prompts import Prompts
from voice_guide.effects import Effects, PressureChanged, PressureReason
from voice_guide.routine.model import Cue, PressureScale, Step


@dataclass(frozen=True)
class PressureState:
    """The pressure part of a session's state (JSON-able through to_dict / from_dict)."""

    level: int
    remembered: Mapping[str, int] = field(default_factory=dict)
    """Per body area: the level the person last chose there (or their profile's)."""
    ceiling: Mapping[str, int] = field(default_factory=dict)
    """Per body area, after pain: the level is never raised above this by the routine (a
    step's own level or minimum, a cue), only by the person asking for more."""
    firmest: int = 0
    """The highest level the person has asked for (this session or in their profile)."""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able checkpoint part."""
        return {
            "level": self.level,
            "remembered": dict(self.remembered),
            "ceiling": dict(self.ceiling),
            "firmest": self.firmest,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PressureState:
        """Inverse of to_dict."""
        return cls(
            level=int(data["level"]),
            remembered=dict(data.get("remembered", {})),
            ceiling=dict(data.get("ceiling", {})),
            firmest=int(data.get("firmest", 0)),
        )


class PressureCare:
    """The rules of pressure for one routine's scale. Holds no mutable state."""

    def __init__(self, scale: PressureScale, prompts: Prompts) -> None:
        self.scale = scale
        self.prompts = prompts

    def initial(self, profile: Mapping[str, int]) -> PressureState:
        """The pressure before the first step: the scale's start, the profile's levels."""
        levels = {area: min(self.scale.top, max(1, level)) for area, level in profile.items()}
        return PressureState(self.scale.start, levels, firmest=max(levels.values(), default=0))

    def reached(self, care: PressureState, level: int) -> bool:
        """True when the person has chosen at least `level` (now, earlier, or in a profile)."""
        return max(care.level, care.firmest) >= level

    # -- the routine moves it --------------------------------------------------------

    def begin(self, care: PressureState, step: Step, out: Effects) -> PressureState:
        """Choose the level a step starts at: remembered for its areas, else the step's
        own start, clamped to the step's limits, never above a ceiling set after pain."""
        if not step.touches:
            return care
        low, high = self.limits(care, step)
        remembered = [care.remembered[a] for a in step.all_areas if a in care.remembered]
        if remembered:
            wanted = min(remembered)
        elif step.pressure and step.pressure.start:
            wanted = step.pressure.start
        else:
            wanted = care.level
        level = min(high, max(low, wanted))
        changed = level != care.level
        if changed:
            care = self._set(care, step, level, out, "step")
        if changed or remembered or level in step.techniques:
            out.say(self.technique(step, level), "technique")
        return care

    def cue(self, care: PressureState, step: Step, cue: Cue, out: Effects) -> PressureState:
        """A cue that adds pressure: said (with the new technique) only when it moves the
        level up; unsaid when the person has chosen a level for the area (their wish wins)
        or a ceiling after pain holds it."""
        if cue.pressure is None:
            out.say(cue.say, "cue")
            return care
        low, high = self.limits(care, step)
        level = min(high, max(low, cue.pressure))
        chosen = any(area in care.remembered for area in step.all_areas)
        if chosen or level <= care.level:
            return care
        care = self._set(care, step, level, out, "cue")
        out.say(f"{cue.say} {self.technique(step, level)}".strip(), "cue")
        return care

    # -- the person moves it ---------------------------------------------------------

    def adjust(self, care: PressureState, step: Step, lighter: bool, out: Effects) -> PressureState:
        """'lighter' or 'stronger': one level, within the step's limits."""
        if not step.touches:
            out.say(self.prompts.text("no_pressure_step"), "ack")
            return care
        low, high = self._step_limits(step)
        level = care.level + (-1 if lighter else 1)
        if level < min(low, care.level) or level > high:
            out.say(self.prompts.text("lightest" if lighter else "deepest"), "ack")
            return care
        care = self._set(care, step, level, out, "lighter" if lighter else "stronger")
        if not lighter:  # asking for more lifts a ceiling set after pain to there
            lifted = {a: level for a in step.all_areas if a in care.ceiling}
            care = replace(care, ceiling={**care.ceiling, **lifted})
        name = self.scale.name(level).capitalize()
        technique = self.technique(step, level)
        said = self.prompts.text("pressure_now", level=name, technique=technique)
        out.say(said.strip(), "technique")
        out.say(step.lighter if lighter else step.stronger, "technique")
        return care

    def great(self, care: PressureState, step: Step, out: Effects) -> PressureState:
        """'that feels great': remember this level for the step's areas."""
        if not step.touches:
            out.say(self.prompts.text("no_pressure_step"), "ack")
            return care
        name = self.scale.name(care.level)
        if not step.all_areas:
            out.say(self.prompts.text("great_stay", level=name), "ack")
            return care
        areas = self.prompts.join([readable_area(a) for a in step.all_areas])
        out.say(self.prompts.text("great_remember", level=name, areas=areas), "ack")
        return self._set(care, step, care.level, out, "great")

    def ease_off(self, care: PressureState, step: Step, out: Effects) -> PressureState:
        """After pain: one level lighter, remembered for the step's areas as a ceiling."""
        if not step.touches:
            out.say(self.prompts.text("pain_no_scale"), "ack")
            return care
        level = max(1, care.level - 1)
        out.say(self.prompts.text("pain", level=self.scale.name(level)), "ack")
        care = self._set(care, step, level, out, "pain")
        ceiling = {**care.ceiling, **{area: level for area in step.all_areas}}
        return replace(care, ceiling=ceiling)

    # -- words -----------------------------------------------------------------------

    def recap(self, care: PressureState) -> str:
        """'Light pressure.'"""
        level = self.scale.name(care.level)
        text = self.prompts.text("recap_pressure", level=level)
        return text[0].upper() + text[1:]

    def level_name(self, care: PressureState) -> str:
        """The current level's name."""
        return self.scale.name(care.level)

    def technique(self, step: Step, level: int) -> str:
        """What to do at `level` in `step` (the step's own words, else the scale's)."""
        if level in step.techniques:
            return step.techniques[level]
        return self.scale.levels[level].technique or ""

    def limits(self, care: PressureState, step: Step) -> tuple[int, int]:
        """Lightest and deepest level allowed now: the step's limits, and no deeper than
        a ceiling on its areas (which may go below the step's own minimum)."""
        low, high = self._step_limits(step)
        ceilings = [care.ceiling[a] for a in step.all_areas if a in care.ceiling]
        if ceilings:
            high = min(high, min(ceilings))
            low = min(low, high)
        return low, high

    def _step_limits(self, step: Step) -> tuple[int, int]:
        limits = step.pressure
        low = limits.min if limits and limits.min else 1
        high = limits.max if limits and limits.max else self.scale.top
        return low, high

    def _set(
        self, care: PressureState, step: Step, level: int, out: Effects, reason: PressureReason
    ) -> PressureState:
        change = PressureChanged(level, step.all_areas, reason)
        out.add(change)
        care = replace(care, level=level)
        if change.asked:
            remembered = {**care.remembered, **{area: level for area in step.all_areas}}
            care = replace(care, remembered=remembered, firmest=max(care.firmest, level))
        return care


def readable_area(area: str) -> str:
    """'lower-back' -> 'lower back', as it is spoken."""
    return area.replace("-", " ").replace("_", " ")
