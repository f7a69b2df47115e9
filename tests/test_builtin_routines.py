"""The built-in routines: valid, timed from start to end, faithful to the source guide, and
free of command phrases the listener could mistake for a command."""

from __future__ import annotations

import itertools
import re
from importlib import resources

import pytest
import yaml
from click.testing import CliRunner

import voice_guide.cli.routines  # noqa: F401  (registers check and preview)
from voice_guide.cli import cli
from voice_guide.commands import Command, parse_command, phrase_table
from voice_guide.effects import Say
from voice_guide.routine.lint import lint
from voice_guide.routine.loader import builtin_names, load_routine, read_routine
from voice_guide.routine.model import Routine, Step
from voice_guide.routine.speech_time import estimate_speech_seconds
from voice_guide.routine.timeline import build_timeline
from voice_guide.session import Heard, Phase, Profile, Session, Start, Tick

# Seconds of quiet kept between one spoken block and the next cue or step.
MARGIN = 5.0
NAMES = ["back-massage", "neck-and-shoulders"]
"""The massages (with a pressure scale)."""
ALL = [*NAMES, "stretch-break", "neck-and-shoulders-ko"]
"""Every built-in routine."""


def load(name: str) -> Routine:
    """A built-in routine, read by the routine loader and validated by the typed model."""
    return load_routine(name)


def step_texts(step: Step) -> list[str]:
    """Every sentence the guide can say in a step, except its help."""
    texts = [step.name, step.say, *step.say_if_avoided.values(), *step.safety]
    texts += [*step.techniques.values(), *(cue.say for cue in step.cues)]
    texts += [t for t in (step.transition, step.lighter, step.stronger, step.repeat) if t]
    if step.offer:
        texts += [step.offer.ask, step.offer.declined or ""]
    return texts


def spoken_texts(routine: Routine) -> list[str]:
    """Every sentence of the routine the guide can speak (not the help text, which exists
    to name the command words)."""
    texts = [*routine.safety, *(s.title for s in routine.sections)]
    if routine.pressure:
        for level in routine.pressure.levels.values():
            texts += [level.name, level.technique or ""]
    for step in routine.all_steps:
        texts += step_texts(step)
    return texts


def unquoted(text: str) -> str:
    """The text without its "quoted" phrases (they teach the recipient what to say)."""
    return re.sub(r'"[^"]*"', " ", text)


def words_of(text: str) -> str:
    """Lower-case words separated by single spaces, padded, for whole-phrase search."""
    plain = text.lower().replace("\u2019", "'")
    return " " + " ".join(re.findall(r"[a-z0-9']+", plain)) + " "


def test_both_are_listed_as_builtin() -> None:
    assert set(ALL) <= set(builtin_names())


@pytest.mark.parametrize("name", ALL)
def test_plain_safe_load_gives_the_same_routine(name: str) -> None:
    # Nothing in the built-ins depends on the loader keeping yes/no/on/off as text.
    text = resources.files("voice_guide.routine").joinpath(f"builtin/{name}.yaml").read_text()
    assert Routine.model_validate(yaml.safe_load(text)) == load(name)


@pytest.mark.parametrize("name", ALL)
def test_lint_finds_nothing(name: str) -> None:
    assert [str(problem) for problem in lint(read_routine(name))] == []


def test_voice_guide_check_passes_with_no_warning() -> None:
    result = CliRunner().invoke(cli, ["check", "--strict", *ALL])
    assert result.exit_code == 0, result.output
    assert "warning" not in result.output
    assert result.output.count(": ok") == len(ALL)


def test_preview_shows_a_total_between_15_and_40_minutes() -> None:
    result = CliRunner().invoke(cli, ["preview", "back-massage"])
    assert result.exit_code == 0, result.output
    # Each step's areas, and how offers come up.
    assert re.search(r"Leg stretch +legs, lower-back ", result.output), result.output
    assert "asked first, done on yes (no answer in 20s is a no)" in result.output
    assert "offered once firm pressure is asked for" in result.output
    match = re.search(r"^Total: (\d+)m", result.output, re.MULTILINE)
    assert match, result.output
    assert 15 <= int(match.group(1)) < 40


@pytest.mark.parametrize("name", NAMES)
def test_loads_with_the_five_level_scale(name: str) -> None:
    routine = load(name)
    assert routine.pressure is not None
    names = [level.name for level in routine.pressure.levels.values()]
    assert names == ["feather", "light", "medium", "firm", "deep"]
    assert routine.pressure.start == 2


WAITING = {"back-massage": ["consent"], "neck-and-shoulders": []}
"""Steps that last until "next": only the talk before touching waits for the people."""


@pytest.mark.parametrize("name", ALL)
def test_runs_start_to_end_with_nobody_speaking(name: str) -> None:
    routine = load(name)
    assert [step.id for step in routine.all_steps if not step.timed] == WAITING.get(name, [])
    timeline = build_timeline(routine)
    assert timeline.entries[-1].kind == "closing"
    worked = [span.step_id for span in timeline.steps]
    # Offers are asked (no answer is a no); offers waiting for firm pressure never come up.
    assert worked == [s.id for s in routine.all_steps if not (s.offer and s.offer.min_pressure)]


def test_back_massage_total_between_20_and_35_minutes() -> None:
    routine = load("back-massage")
    total = sum(step.duration or 0 for step in routine.all_steps)
    assert 20 * 60 <= total <= 35 * 60, total
    # Unattended (no deep work on knots) it is still longer than 20 minutes.
    assert 20 * 60 <= build_timeline(routine).total <= total


def test_neck_and_shoulders_is_about_five_minutes() -> None:
    routine = load("neck-and-shoulders")
    total = sum(step.duration or 0 for step in routine.all_steps)
    assert 4.5 * 60 <= total <= 5.5 * 60, total
    assert {step.area for step in routine.all_steps} <= {None, "neck", "shoulders"}


@pytest.mark.parametrize("name", ALL)
def test_no_command_phrase_in_spoken_text(name: str) -> None:
    routine = load(name)
    phrases = phrase_table(routine.language)
    found = [
        (phrase, text)
        for text in spoken_texts(routine)
        for phrase in phrases
        if f" {phrase} " in words_of(unquoted(text))
    ]
    assert found == []


@pytest.mark.parametrize("name", NAMES)
def test_help_names_the_words_the_recipient_can_say(name: str) -> None:
    help_text = words_of(load(name).help or "")
    for phrase in ("lighter", "stronger", "that feels great", "ouch"):
        assert f" {phrase} " in help_text


@pytest.mark.parametrize("name", ALL)
def test_speech_never_runs_into_a_cue_or_the_next_step(name: str) -> None:
    routine = load(name)
    timeline = build_timeline(routine)
    for before, after in itertools.pairwise(timeline.entries):
        if after.kind in ("cue", "closing") or after.step_id != before.step_id:
            assert before.t + before.speech + MARGIN <= after.t, (before.text, after.text)
    durations = {step.id: step.duration or 0 for step in routine.all_steps}
    for span in timeline.steps:
        if durations[span.step_id] == 0:
            continue  # a step that waits for "next" has all the time it needs
        opening = [e for e in timeline.entries if e.step_id == span.step_id and e.kind != "cue"]
        spoken = max(e.t + e.speech for e in opening if e.kind != "closing") - span.start
        assert spoken <= durations[span.step_id] * 0.5, (span.step_id, spoken)


def test_deep_tissue_is_asked_at_firm_pressure_and_done_on_yes() -> None:
    routine = load("back-massage")
    session = Session(routine)
    state, _ = session.handle(session.initial(), Start(), 0.0)
    while session.steps[state.index].id != "lower-back-thumbs":
        state, _ = session.handle(state, Heard(Command.NEXT), 1.0)
    state, _ = session.handle(state, Heard(Command.STRONGER), 2.0)
    assert state.pressure == 4
    state, effects = session.handle(state, Heard(Command.NEXT), 3.0)
    knots = session.steps[state.index]
    assert (knots.id, state.phase) == ("knots", Phase.ASKING)
    assert knots.offer and knots.offer.min_pressure == 4
    assert knots.offer.ask in [e.text for e in effects if isinstance(e, Say)]
    state, effects = session.handle(state, Heard(Command.YES), 4.0)
    assert state.phase is Phase.RUNNING
    said = [e.text for e in effects if isinstance(e, Say)]
    assert said[0] == knots.say and set(knots.safety) <= set(said)
    first_cue = min(cue.at.offset(knots.duration or 0) for cue in knots.cues)
    assert sum(estimate_speech_seconds(text) for text in said) + MARGIN <= first_cue


@pytest.mark.parametrize("name", NAMES)
def test_techniques_do_not_repeat_the_level_name(name: str) -> None:
    # On lighter or stronger the guide says the level's name first ("Firm. <technique>").
    routine = load(name)
    assert routine.pressure is not None
    for step in routine.all_steps:
        for level, text in step.techniques.items():
            assert not words_of(text).startswith(f" {routine.pressure.name(level)}"), text
    for level in routine.pressure.levels.values():
        assert not words_of(level.technique or "").startswith(f" {level.name}"), level


def test_knuckles_and_deep_tissue_are_offered_and_never_done_without_asking() -> None:
    steps = load("back-massage").all_steps
    assert [step.id for step in steps if step.offer] == ["shoulder-knuckles", "knots"]
    # No step starts at firm pressure by itself, so unattended the offer never comes up.
    assert all(not s.pressure or (s.pressure.start or 0) < 4 for s in steps if not s.offer)


@pytest.mark.parametrize("name", NAMES)
def test_firm_and_deep_steps_have_a_spoken_safety_note(name: str) -> None:
    for step in load(name).all_steps:
        reach = max(
            step.pressure.max or 0 if step.pressure else 0,
            step.offer.min_pressure or 0 if step.offer else 0,
        )
        if reach >= 4:
            assert step.safety, step.id


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
        # The seed's own feedback phrases, taught to the recipient.
        "a little lighter",
        "a bit stronger",
        "that feels great",
        "ouch",
        # Before oil, and reasons not to massage an area or at all.
        "allergies",
        "sweet almond oil is a nut oil",
        "pregnancy",
        "recent surgery or injury",
        "blood clots",
        "skin conditions",
        "fever",
    ],
    "Warm-up strokes": [
        "palms flat on the lower back",
        "up to the shoulders",
        "slowly add a little pressure",
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
    return words_of(" ".join(text for step in section.steps for text in step_texts(step)))


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


def test_consent_waits_for_next_and_its_help_says_so() -> None:
    consent = next(s for s in load("back-massage").all_steps if s.id == "consent")
    assert consent.duration is None
    assert '"next"' in (consent.help or "")


def test_lower_back_avoided_across_the_whole_routine() -> None:
    routine = load("back-massage")
    timeline = build_timeline(routine, Profile(avoid=frozenset({"lower-back"})))
    worked = [span.step_id for span in timeline.steps]
    assert "leg-stretch" not in worked
    assert not any(
        "lower-back" in step.all_areas for step in routine.all_steps if step.id in worked
    )
    assert {"warm-up", "closing-strokes"} <= set(worked)  # adapted, not left out
    said = [entry.text for entry in timeline.entries]
    notes = [text for text in said if "lower back" in text.lower()]
    # One note per run of steps left out: the lower-back section, later the leg stretch.
    assert notes == [
        "Leaving out forearm sweeps and thumbs beside the spine, to spare the lower back, "
        "as asked.",
        "Leaving out leg stretch, to spare the lower back, as asked.",
    ]
    assert timeline.entries[-1].kind == "closing"


def test_warm_up_cue_adds_the_pressure_it_announces() -> None:
    routine = load("back-massage")
    timeline = build_timeline(routine)
    warm = [e for e in timeline.entries if e.step_id == "warm-up"]
    assert (
        "As the muscles warm, lean in a little, and slowly add a little pressure. "
        "Lean in with your palms, steady and even."
    ) in [e.text for e in warm]


def test_stretch_break_is_ten_minutes_and_carries_no_pressure() -> None:
    routine = load("stretch-break")
    assert routine.pressure is None
    assert 9.5 * 60 <= build_timeline(routine).total <= 11 * 60
    session = Session(routine)
    state, _ = session.handle(session.initial(), Start(), 0.0)
    assert session.care is None and state.care is None
    while session.steps[state.index].id != "neck-side":
        state, _ = session.handle(state, Heard(Command.NEXT), 1.0)
    state, effects = session.handle(state, Heard(Command.STRONGER), 2.0)
    assert [e.text for e in effects if isinstance(e, Say)] == [
        "This routine has no pressure levels."
    ]


def test_unknown_area_names_are_refused_with_a_did_you_mean() -> None:
    cli_runner = CliRunner()
    run = cli_runner.invoke(cli, ["run", "back-massage", "--avoid", "lower bak", "--keyboard"])
    assert run.exit_code == 1
    assert "did you mean 'lower-back'?" in run.output
    avoid = cli_runner.invoke(cli, ["profile", "anna", "--avoid", "shoulderz"])
    assert avoid.exit_code == 1
    assert "did you mean 'shoulders'?" in avoid.output
    level = cli_runner.invoke(cli, ["profile", "anna", "--pressure", "shoulders=7"])
    assert level.exit_code == 1
    assert "from 1 to 5" in level.output
    # Written as people type them, kept as routines spell them.
    saved = cli_runner.invoke(cli, ["profile", "anna", "--avoid", "Lower back"])
    assert saved.exit_code == 0, saved.output
    assert "avoid:    lower-back" in cli_runner.invoke(cli, ["profile", "anna"]).output


HANGUL = re.compile(r"[\uac00-\ud7a3]")


def test_a_korean_session_is_in_korean_from_greeting_to_closing() -> None:
    routine = load("neck-and-shoulders-ko")
    session = Session(routine)
    said: list[str] = []

    def run(event: Start | Heard | Tick, now: float) -> None:
        nonlocal state
        state, effects = session.handle(state, event, now)
        said.extend(e.text for e in effects if isinstance(e, Say))

    def hear(words: str, now: float) -> None:
        command = parse_command(words, "ko")
        assert command is not None, words
        run(Heard(command, words), now)

    def until(now: float) -> None:
        while (wake := session.wake_time(state)) is not None and wake <= now:
            run(Tick(), wake)

    state = session.initial()
    run(Start(), 0.0)
    until(70.0)
    hear("살살", 70.0)  # lighter in the shoulder glide
    hear("좋아요", 72.0)
    hear("도움말", 75.0)
    hear("시간", 80.0)
    hear("아파", 90.0)
    hear("네", 95.0)  # the check-in: all right
    hear("끝", 100.0)
    hear("아니요", 101.0)  # not the end after all
    until(1000.0)
    assert state.phase is Phase.ENDED
    assert said[:3] == [
        "환영합니다. 오늘은 어깨와 목 마사지입니다. 무엇을 말할 수 있는지 궁금하면 언제든 "
        "도움말이라고 하세요.",
        "척추와 목 앞쪽은 절대 누르지 마세요.",
        routine.all_steps[0].say,
    ]
    assert "아주 약함. 손바닥을 피부에 살짝 대기만 하세요." in said
    assert "마음에 드신다니 다행이에요. 어깨 부위는 아주 약함 압력으로 기억해 둘게요." in said
    assert "이 단계는 약 1분, 전체는 약 4분 남았어요." in said
    assert "다행이에요. 아주 약함 압력으로 이어서 할게요." in said
    assert "세션을 끝낼까요? 끝내려면 네, 계속하려면 아니요라고 하세요." in said
    assert "알겠어요, 이어서 할게요." in said
    # After the pain, the next shoulder step starts at the lowered level, below its minimum.
    assert (
        said[said.index("이제 어깨 엄지 원 그리기.") + 3] == "손바닥을 피부에 살짝 대기만 하세요."
    )
    assert said[-1] == "세션이 모두 끝났어요. 수고하셨어요."
    english = [text for text in said if re.search(r"[A-Za-z]", text) or not HANGUL.search(text)]
    assert english == []


def test_typed_check_in_answers_in_the_back_massage() -> None:
    # The routine's own phrases ("I'm fine", "it still hurts") answer the check-in typed too.
    typed = "next\nnext\nnext\nouch\nI'm fine\nouch\nit still hurts\nend session\nno\n"
    result = CliRunner().invoke(cli, ["run", "back-massage", "--keyboard", "--text"], input=typed)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert 'heard: resume ("I\'m fine")' in out
    assert "Good. We carry on at feather pressure." in out
    assert "heard: pain ('it still hurts')" in out
    assert "We will leave the back alone for the rest of the session." in out
    assert "All right, we carry on." in out


def test_a_korean_note_for_an_avoided_area_is_in_korean() -> None:
    timeline = build_timeline(load("neck-and-shoulders-ko"), Profile(avoid=frozenset({"목"})))
    notes = [e.text for e in timeline.entries if e.kind == "info"]
    assert notes == ["요청하신 대로 목 부위는 쉬게 두고, 목 뒤 단계는 건너뛸게요."]


def test_preview_for_a_recipient_who_avoids_an_area() -> None:
    result = CliRunner().invoke(cli, ["preview", "back-massage", "--avoid", "Lower back"])
    assert result.exit_code == 0, result.output
    assert re.search(
        r"- +1m30s  Leg stretch +legs, lower-back .*\n.* left out: avoids", result.output
    )
    wrong = CliRunner().invoke(cli, ["preview", "back-massage", "--avoid", "lowr back"])
    assert wrong.exit_code == 1 and "did you mean 'lower-back'?" in wrong.output
