"""The built-in routines: valid, timed from start to end, faithful to the source guide, and
free of command phrases the listener could mistake for a command."""

from __future__ import annotations

import re
from importlib import resources

import pytest
import yaml

from voice_guide.commands import phrase_table
from voice_guide.routine.model import Routine, Step

# The speaking rate the lint assumes when a routine sets none (words per minute).
WPM = 175
# Seconds of silence kept between one spoken block and the next cue, so they never overlap.
MARGIN = 5.0
NAMES = ["back-massage", "neck-and-shoulders"]


def load(name: str) -> Routine:
    """A built-in routine, validated by the typed model."""
    text = resources.files("voice_guide.routine").joinpath(f"builtin/{name}.yaml").read_text()
    return Routine.model_validate(yaml.safe_load(text))


def seconds_to_say(*texts: str | None) -> float:
    """How long the texts take to speak at the default rate."""
    words = sum(len(text.split()) for text in texts if text)
    return words / WPM * 60


def level_text(routine: Routine, step: Step, level: int) -> str | None:
    """What is said about the technique at `level` in this step."""
    if level in step.techniques:
        return step.techniques[level]
    return routine.pressure.levels[level].technique if routine.pressure else None


def opening(routine: Routine, step: Step) -> list[str | None]:
    """Everything spoken as a step starts (after the previous one ended by itself)."""
    technique = level_text(routine, step, step.pressure.start) if step.pressure else None
    ask = step.offer.ask if step.offer else None
    return [step.transition, step.title, ask, step.say, *step.safety, technique]


def spoken_texts(routine: Routine) -> list[str]:
    """Every sentence the guide can speak unprompted or as a reaction (not the help text,
    which exists to name the command words)."""
    texts = [*routine.safety, *(s.title for s in routine.sections)]
    if routine.pressure:
        for level in routine.pressure.levels.values():
            texts += [level.name, level.technique or ""]
    for step in routine.all_steps:
        texts += [t for t in opening(routine, step) if t]
        texts += [cue.say for cue in step.cues]
        texts += [*step.techniques.values()]
        texts += [t for t in (step.lighter, step.stronger, step.repeat) if t]
        if step.offer:
            texts.append(step.offer.declined)
    return texts


def words_of(text: str) -> str:
    """Lower-case words separated by single spaces, padded, for whole-phrase search."""
    plain = text.lower().replace("\u2019", "'")
    return " " + " ".join(re.findall(r"[a-z0-9']+", plain)) + " "


@pytest.mark.parametrize("name", NAMES)
def test_loads_and_every_step_is_timed(name: str) -> None:
    routine = load(name)
    assert routine.pressure is not None
    assert [lvl.name for lvl in routine.pressure.levels.values()] == [
        "feather",
        "light",
        "medium",
        "firm",
        "deep",
    ]
    assert routine.pressure.start == 2
    untimed = [step.id for step in routine.all_steps if not step.timed]
    assert untimed == [], "a session must run start to end with nobody speaking"


def test_back_massage_total_between_20_and_35_minutes() -> None:
    total = sum(step.duration or 0 for step in load("back-massage").all_steps)
    assert 20 * 60 <= total <= 35 * 60, total


def test_neck_and_shoulders_is_about_five_minutes() -> None:
    routine = load("neck-and-shoulders")
    total = sum(step.duration or 0 for step in routine.all_steps)
    assert 4 * 60 <= total <= 6 * 60, total
    assert {step.area for step in routine.all_steps} <= {None, "neck", "shoulders"}


@pytest.mark.parametrize("name", NAMES)
def test_no_command_phrase_in_spoken_text(name: str) -> None:
    routine = load(name)
    phrases = phrase_table(routine.language)
    found = [
        (phrase, text)
        for text in spoken_texts(routine)
        for phrase in phrases
        if f" {phrase} " in words_of(text)
    ]
    assert found == []


def test_help_names_the_words_the_recipient_can_say() -> None:
    help_text = words_of(load("back-massage").help or "")
    for phrase in ("lighter", "stronger", "that feels great"):
        assert f" {phrase} " in help_text


@pytest.mark.parametrize("name", NAMES)
def test_speech_fits_its_step_and_cues_never_overlap(name: str) -> None:
    routine = load(name)
    for step in routine.all_steps:
        duration = step.duration or 0
        moments = sorted((cue.at.offset(duration), cue.say) for cue in step.cues)
        start = seconds_to_say(*opening(routine, step))
        assert start <= duration * 0.6, (step.id, start, duration)
        ends = [when for when, _ in moments] + [duration]
        assert start + MARGIN <= ends[0], (step.id, "opening runs into the first cue")
        for (when, say), until in zip(moments, ends[1:], strict=True):
            assert when + seconds_to_say(say) + MARGIN <= until, (step.id, say)


@pytest.mark.parametrize("name", NAMES)
def test_firm_and_deep_steps_have_a_spoken_safety_note(name: str) -> None:
    routine = load(name)
    for step in routine.all_steps:
        reach = max(
            step.pressure.max or 0 if step.pressure else 0,
            step.offer.min_pressure or 0 if step.offer else 0,
        )
        if reach >= 4:
            assert step.safety, step.id


def test_deep_tissue_is_offered_only_at_firm_pressure() -> None:
    routine = load("back-massage")
    offered = [step for step in routine.all_steps if step.offer]
    assert [step.id for step in offered] == ["knots"]
    assert offered[0].offer and offered[0].offer.min_pressure == 4
    # Unattended, no step moves the pressure to firm on its own, so the offer never comes up.
    before = routine.all_steps[: routine.all_steps.index(offered[0])]
    assert all(not step.pressure or (step.pressure.start or 0) < 4 for step in before)


# Each part of the source guide: the section that holds it and words its text must contain.
GUIDE = {
    "Preparing the room": [
        "quiet",
        "warm",
        "soft light",
        "towels",
        "firm surface",
        "oil",
        "lotion",
        "coconut",
        "jojoba",
        "sweet almond",
        "cushion",
        "ankles",
        "chest",
    ],
    "Communication and consent": [
        "health concerns",
        "injuries",
        "areas to avoid",
        "pressure they prefer",
        "ease the pressure",
        "increase it",
        "feels wonderful",
    ],
    "Warm-up strokes": [
        "palms flat on the lower back",
        "up to the shoulders",
        "slowly add pressure",
        "hands in contact",
    ],
    "Upper back and shoulders": [
        "thumbs in small circles",
        "tops of the shoulders",
        "beside the neck",
        "outward",
        "where the neck meets the shoulders",
        "knuckles in slow circles",
        "deep pressure",
    ],
    "Mid-back": [
        "steady circles",
        "between the shoulder blades",
        "prayer position",
        "beside the spine",
    ],
    "Lower back": [
        "forearms",
        "sweeping strokes",
        "either side of the spine",
        "never press on the spine",
    ],
    "Deep tissue for stubborn knots": [
        "forearm",
        "elbow",
        "slowly and steadily",
        "muscle release",
        "never force",
    ],
    "Stretching and mobility": [
        "support your partner's shoulder",
        "lift their arm",
        "rotate it slowly",
        "gentle pull",
        "stretches the lower back",
    ],
    "Closing": ["slow everything down", "thank your partner", "rest"],
}


def section_text(routine: Routine, title: str) -> str:
    (section,) = [s for s in routine.sections if s.title == title]
    texts: list[str] = []
    for step in section.steps:
        texts += [t for t in opening(routine, step) if t]
        texts += [cue.say for cue in step.cues] + [*step.techniques.values()]
    return words_of(" ".join(texts))


@pytest.mark.parametrize("title", GUIDE)
def test_every_part_of_the_guide_is_covered(title: str) -> None:
    text = section_text(load("back-massage"), title)
    missing = [word for word in GUIDE[title] if words_of(word) not in text]
    assert missing == [], title


def test_sections_follow_the_guide_and_closing_comes_last() -> None:
    assert [s.title for s in load("back-massage").sections] == list(GUIDE)


def test_deep_steps_say_how_to_protect_the_spine() -> None:
    routine = load("back-massage")
    spine_steps = [s for s in routine.all_steps if s.area in {"back", "mid-back", "lower-back"}]
    deep = [s for s in spine_steps if s.pressure and (s.pressure.max or 0) >= 4]
    assert deep
    for step in deep:
        assert any("spine" in note for note in step.safety), step.id
