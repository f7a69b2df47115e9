"""Lints: warnings about routines that are valid but will not work well when spoken.

- a sentence the listener could take for a command (the guide hears its own voice);
- speech that takes longer than the time it has (before the next cue, or the step's end);
- a step at the deepest pressure levels without a safety note;
- parts that can never be reached: an offered step whose minimum pressure cannot have been
  reached when it comes up, a technique or a cue's level outside the step's limits, a
  `say_if_avoided` wording for an area the step itself works, and sections with the same
  title.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Iterator
from dataclasses import dataclass

from voice_guide.commands import Command, normalize, phrase_table
from voice_guide.commands.prompts import prompt_languages, prompts
from voice_guide.routine.loader import LoadedRoutine, Problem
from voice_guide.routine.model import Routine, Step
from voice_guide.routine.speech_time import DEFAULT_RATE, estimate_speech_seconds

__all__ = ["BARGE_IN", "lint", "written_texts"]

BARGE_IN = frozenset({Command.PAUSE, Command.PAIN, Command.NEXT})
"""Commands that act even while the guide is speaking: if the guide's own sentence holds
one, its echo can pause the session, lower the pressure or skip ahead."""
_ANSWERS = frozenset({Command.YES, Command.NO})
"""Heard only as the answer to a question the guide has just asked."""
_FILLER = frozenset({"now", "please", "and", "then", "so", "ok", "okay"})
"""Words around a bare command that still leave it sounding like the command."""
_REPHRASE = {
    "next": "'then', 'after that' or 'the following'",
    "skip": "'leave out'",
    "skip this": "'leave this out'",
    "stop": "'finish', 'end' or 'come to rest'",
    "wait": "'give it a moment' or 'let it settle'",
    "hold on": "'keep holding'",
    "too much": "'more than needed'",
    "it hurts": "'there is pain' or 'anything is painful'",
    "go ahead": "'begin'",
    "move on": "'go to'",
}
Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class _Spoken:
    """A text the guide may say, and where it is written."""

    loc: Loc
    text: str
    default: str | None = None
    """The key to set when the text is a default the author never wrote."""


def lint(loaded: LoadedRoutine, unheard: Collection[str] = ()) -> list[Problem]:
    """Warnings for a routine that loaded without errors, in source order.

    `unheard`: the routine's own phrases (normalized) that the listener's engine cannot
    hear (words missing from its vocabulary), found by whoever started the engine.
    """
    found: list[tuple[Loc, str, re.Pattern[str] | None]] = []
    found += _extra_phrases(loaded.routine, unheard)
    found += _command_phrases(loaded.routine)
    found += _speech_fit(loaded.routine)
    found += _deep_without_safety(loaded.routine)
    found += _unreachable(loaded.routine)
    problems = set()
    for loc, message, pattern in found:
        line, column = loaded.marks.find(loc, pattern) if pattern else loaded.marks.locate(loc)
        problems.add(Problem(loaded.source, line, column, message, warning=True))
    return sorted(problems, key=lambda p: (p.line or 0, p.column or 0, p.message))


# -- the routine's own phrases -------------------------------------------------------------


def _extra_phrases(routine: Routine, unheard: Collection[str]) -> Iterator[tuple[Loc, str, None]]:
    try:
        table = phrase_table(routine.language)
    except LookupError:
        return  # said once, by the command-word lint
    seen: dict[str, str] = {}
    for name, said in routine.phrases.items():
        for number, phrase in enumerate(said):
            words = normalize(phrase)
            meant = table.get(words)
            if meant is not None:
                same = meant.value == name
                yield (
                    ("phrases", name, number),
                    f"{phrase!r} "
                    + ("is already" if same else f"already means '{meant.value}'")
                    + " in the phrase table (`voice-guide phrases`) — remove it here"
                    + ("" if same else "; the table's meaning wins"),
                    None,
                )
            elif words in seen:
                yield (
                    ("phrases", name, number),
                    f"{phrase!r} is given twice (also for '{seen[words]}') — keep one",
                    None,
                )
            elif words in unheard:
                yield (
                    ("phrases", name, number),
                    f"{phrase!r} has words the speech engine does not know, so it is never "
                    "heard — choose other words",
                    None,
                )
            seen.setdefault(words, name)


# -- command words -----------------------------------------------------------------------


def _command_phrases(routine: Routine) -> Iterator[tuple[Loc, str, re.Pattern[str] | None]]:
    table = phrase_table(routine.language)  # the loader refuses a language without one
    patterns = {phrase: _phrase_pattern(phrase) for phrase in table}
    for spoken in _spoken_texts(routine):
        text = spoken.text.replace("\u2019", "'")
        quoted = _quoted_spans(text)
        clauses = _clause_spans(text)
        for phrase, command in table.items():
            if command in _ANSWERS:
                continue
            for match in patterns[phrase].finditer(text):
                if any(a <= match.start() and match.end() <= b for a, b in quoted):
                    continue
                if command in BARGE_IN:
                    why = (
                        f"the listener takes it for '{command.value}' even while the guide "
                        "is speaking, so the guide's own voice can " + _EFFECT[command]
                    )
                elif _alone_in_clause(text, match, clauses):
                    why = f"said on its own like this it sounds exactly like '{command.value}'"
                else:
                    continue
                fix = _REPHRASE.get(phrase)
                if spoken.default:
                    yield (
                        spoken.loc,
                        f"the default {spoken.default!r} text {spoken.text!r} says "
                        f"{match.group(0)!r}: {why} — set {spoken.default!r} to your own words",
                        None,
                    )
                else:
                    yield (
                        spoken.loc,
                        f"{match.group(0)!r} is a command phrase: {why} — rephrase it"
                        + (f" (e.g. {fix})" if fix else "")
                        + ', or put it in quotes ("...") if you are naming the command',
                        patterns[phrase],
                    )
                break


_EFFECT = {
    Command.PAUSE: "pause the session",
    Command.PAIN: "pause it and lower the pressure",
    Command.NEXT: "skip ahead",
}


def _phrase_pattern(phrase: str) -> re.Pattern[str]:
    """Whole words, any punctuation or line breaks between them, any case."""
    words = [re.escape(word) for word in phrase.split()]
    return re.compile(r"(?<![\w'])" + r"[^\w']+".join(words) + r"(?![\w'])", re.IGNORECASE)


def _quoted_spans(text: str) -> list[tuple[int, int]]:
    """Character ranges inside "double", “curly” or 'single' quotes (not apostrophes)."""
    pattern = r"\"[^\"]*\"|“[^”]*”|‘[^’]*’|(?<!\w)'[^']*'(?!\w)"
    return [match.span() for match in re.finditer(pattern, text)]


def _clause_spans(text: str) -> list[tuple[int, int]]:
    return [match.span() for match in re.finditer(r"[^.,;:!?()\n—–]+", text)]


def _alone_in_clause(text: str, match: re.Match[str], clauses: list[tuple[int, int]]) -> bool:
    """True when the clause holding the match is the phrase, give or take filler words."""
    for start, end in clauses:
        if start <= match.start() and match.end() <= end:
            rest = (text[start : match.start()] + " " + text[match.end() : end]).lower()
            return all(word in _FILLER for word in re.findall(r"[\w']+", rest))
    return False


def _spoken_texts(routine: Routine) -> Iterator[_Spoken]:
    """Everything the guide may say, except help texts (they exist to name the commands)."""
    for n, note in enumerate(routine.safety):
        yield _Spoken(("safety", n), note)
    if routine.pressure:
        for level, entry in routine.pressure.levels.items():
            yield _Spoken(("pressure", "levels", level, "name"), entry.name)
            if entry.technique:
                yield _Spoken(("pressure", "levels", level, "technique"), entry.technique)
    for s, section in enumerate(routine.sections):
        yield _Spoken(("sections", s, "title"), section.title)
    for loc, step in routine.located_steps():
        # The step's name is spoken in the default transition ("Now, <name>.").
        yield _Spoken((*loc, "title" if step.title else "id"), step.name)
        for name in ("say", "transition", "lighter", "stronger", "repeat"):
            text = getattr(step, name)
            if text:
                yield _Spoken((*loc, name), text)
        for n, note in enumerate(step.safety):
            yield _Spoken((*loc, "safety", n), note)
        for area, text in step.say_if_avoided.items():
            yield _Spoken((*loc, "say_if_avoided", area), text)
        for n, cue in enumerate(step.cues):
            yield _Spoken((*loc, "cues", n, "say"), cue.say)
        for level, text in step.techniques.items():
            yield _Spoken((*loc, "techniques", level), text)
        if step.offer:
            yield _Spoken((*loc, "offer", "ask"), step.offer.ask)
            if step.offer.declined:
                yield _Spoken((*loc, "offer", "declined"), step.offer.declined)
            elif routine.language in prompt_languages():
                default = prompts(routine.language).text("offer_declined")
                yield _Spoken((*loc, "offer"), default, default="declined")


def written_texts(routine: Routine) -> Iterator[tuple[Loc, str]]:
    """(where, text) of every text the author wrote for the guide to say, help included."""
    for spoken in _spoken_texts(routine):
        yield spoken.loc, spoken.text
    if routine.help:
        yield ("help",), routine.help
    for loc, step in routine.located_steps():
        if step.help:
            yield (*loc, "help"), step.help


# -- speech that does not fit ---------------------------------------------------------------


def _speech_fit(routine: Routine) -> Iterator[tuple[Loc, str, None]]:
    rate = routine.voice.rate or DEFAULT_RATE
    for loc, step in routine.located_steps():
        if step.duration is None:
            continue
        cues = sorted(
            ((cue.at.offset(step.duration), n, cue.say) for n, cue in enumerate(step.cues)),
        )
        texts = _opening(routine, step)
        if len(loc) == 4 and loc[3] == 0:  # the first step of a section: its title first
            texts.insert(0, routine.sections[int(loc[1])].title)
        opening = sum(estimate_speech_seconds(text, rate) for text in texts)
        limit = cues[0][0] if cues else step.duration
        if opening > limit:
            until = f"the first cue at {limit:g}s" if cues else f"the step ({limit:g}s)"
            fix = (
                "move the cue later or shorten the text"
                if cues
                else f"shorten the text or make the step at least {math.ceil(opening)}s"
            )
            yield (
                (*loc, "say"),
                f"the step's opening takes about {opening:.0f}s to say at {rate} words a "
                f"minute, longer than {until} — {fix}",
                None,
            )
        for position, (at, n, say) in enumerate(cues):
            after = cues[position + 1][0] if position + 1 < len(cues) else step.duration
            length = estimate_speech_seconds(say, rate)
            if at + length > after:
                what = "the next cue" if after < step.duration else "the end of the step"
                yield (
                    (*loc, "cues", n, "say"),
                    f"this cue takes about {length:.0f}s to say (from {at:g}s) and runs past "
                    f"{what} at {after:g}s — shorten it or move it earlier",
                    None,
                )


def _opening(routine: Routine, step: Step) -> list[str]:
    """What is said as a step starts after the previous one ended by itself."""
    texts = [step.transition or f"Now, {step.name.lower()}."]
    if step.offer:
        texts.append(step.offer.ask)
    texts += [step.say, *step.safety]
    level = step.pressure.start if step.pressure else None
    if level:
        technique = step.techniques.get(level)
        if technique is None and routine.pressure:
            technique = routine.pressure.levels[level].technique
        texts += [technique] if technique else []
    return texts


# -- deep pressure ---------------------------------------------------------------------------


def _deep_without_safety(routine: Routine) -> Iterator[tuple[Loc, str, None]]:
    scale = routine.pressure
    if scale is None:
        return
    deep = scale.top - 1 if scale.top >= 3 else scale.top
    for loc, step in routine.located_steps():
        if step.safety:
            continue
        reach: list[tuple[int, Loc]] = []
        if step.pressure:
            for name in ("start", "max"):
                level = getattr(step.pressure, name)
                if level:
                    reach.append((level, ("pressure", name)))
        if step.offer and step.offer.min_pressure:
            reach.append((step.offer.min_pressure, ("offer", "min_pressure")))
        deepest = max(reach, default=None)
        if deepest and deepest[0] >= deep:
            level, inner = deepest
            yield (
                (*loc, *inner),
                f"step {step.id!r} goes to {scale.name(level)} pressure (level {level} of "
                f"{scale.top}) but has no safety note — add 'safety:' with what to avoid, "
                "e.g. '- Never press on the spine.'",
                None,
            )


# -- unreachable parts -----------------------------------------------------------------------


def _unreachable(routine: Routine) -> Iterator[tuple[Loc, str, None]]:
    scale = routine.pressure
    steps = routine.located_steps()
    for index, (loc, step) in enumerate(steps):
        low, high = _limits(routine, step)
        for level in step.techniques:
            if not low <= level <= high:
                yield (
                    (*loc, "techniques", level, "[key]"),
                    f"the technique for level {level} is never said: this step keeps the "
                    f"pressure between {low} and {high} — remove it or widen the step's limits",
                    None,
                )
        for n, cue in enumerate(step.cues):
            if cue.pressure and scale and not low <= cue.pressure <= high:
                yield (
                    (*loc, "cues", n, "pressure"),
                    f"this cue moves to level {cue.pressure}, outside the step's limits "
                    f"({low} to {high}): it can only go to {min(high, max(low, cue.pressure))} "
                    "— choose a level inside the limits",
                    None,
                )
        for area in step.say_if_avoided:
            if area in step.all_areas:
                yield (
                    (*loc, "say_if_avoided", area, "[key]"),
                    f"this wording is never said: the step works {area!r}, so avoiding it "
                    "leaves the whole step out — use it for an area only mentioned in passing",
                    None,
                )
        wanted = step.offer.min_pressure if step.offer else None
        if scale and wanted and _highest_on_arrival(routine, steps, index) < wanted:
            yield (
                (*loc, "offer", "min_pressure"),
                f"step {step.id!r} is offered only from level {wanted}, but the pressure "
                f"cannot be that high when it comes up (the steps before it allow at most "
                f"{_highest_on_arrival(routine, steps, index)}) — raise 'max' in an earlier "
                "step or lower 'min_pressure'",
                None,
            )
    seen: dict[str, int] = {}
    for n, section in enumerate(routine.sections):
        if section.title.lower() in seen:
            yield (
                ("sections", n, "title"),
                f"two sections are called {section.title!r} (the other is section "
                f"{seen[section.title.lower()] + 1}) — give each section its own title",
                None,
            )
        seen.setdefault(section.title.lower(), n)


def _limits(routine: Routine, step: Step) -> tuple[int, int]:
    top = routine.pressure.top if routine.pressure else 0
    low = step.pressure.min if step.pressure and step.pressure.min else 1
    high = step.pressure.max if step.pressure and step.pressure.max else top
    return low, high


def _highest_on_arrival(routine: Routine, steps: list[tuple[Loc, Step]], index: int) -> int:
    """The highest pressure the recipient can have asked for before step `index`: an offer
    comes up once they have chosen its level in any earlier step (the session's one rule,
    `Session.left_out`), so any earlier step's deepest level counts."""
    assert routine.pressure is not None
    earlier = [_limits(routine, step)[1] for _, step in steps[:index]]
    return max([routine.pressure.start, *earlier])
