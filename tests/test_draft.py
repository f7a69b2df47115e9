"""`voice-guide draft`: routines drafted from how-to texts (plain text, Markdown, a saved web
page), each value traced to its guide line, the result clean under `check`; the routine's
own `phrases:` heard through the real PocketSphinx engine from synthesized speech."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from spoken import synthesize

from voice_guide.cli import cli
from voice_guide.commands import Command
from voice_guide.draft import Drafted, Format, GuideError, draft_routine
from voice_guide.routine.lint import lint
from voice_guide.routine.loader import RoutineError, load_text, parse_routine
from voice_guide.routine.model import Routine
from voice_guide.routine.vocabulary import routine_vocabulary
from voice_guide.speech_in import Listener
from voice_guide.speech_in.pocketsphinx_engine import PocketSphinxRecognizer

GUIDES = Path(__file__).parent / "data" / "guides"
ALL_GUIDES = ["back-massage.txt", "hand-massage.md", "stretching.html", "foot-massage.md"]
README = Path(__file__).parent.parent / "README.md"


def drafted(name: str) -> tuple[Drafted, Routine]:
    path = GUIDES / name
    result = draft_routine(path.read_bytes(), str(path), "routine.yaml")
    return result, parse_routine(result.text, "routine.yaml").routine


def durations(routine: Routine) -> list[float | None]:
    return [step.duration for step in routine.all_steps]


def comment_lines(text: str) -> dict[str, str]:
    """The YAML line that starts with `key` -> its comment, for each key's first use."""
    found: dict[str, str] = {}
    for line in text.splitlines():
        key, _, comment = line.partition("  # ")
        found.setdefault(key.strip(), comment)
    return found


# -- the three guides -----------------------------------------------------------------------


def test_back_massage_text_sections_steps_and_values() -> None:
    result, routine = drafted("back-massage.txt")
    assert routine.title == "Simple Back Massage at Home"
    assert [s.title for s in routine.sections] == [
        "Before you start",
        "Warm up",
        "Shoulders and neck",
        "Mid-back and lower back",
        "Finishing",
    ]
    # "about two minutes"; "two to three minutes" -> the middle; "a minute or so"; digits.
    assert durations(routine) == [None, 120, 150, 60, 90, 60, 30]
    # Body words in the instructions; "your thumbs and fingers" are the giver's tools.
    assert [step.all_areas for step in routine.all_steps] == [
        (),
        ("back", "lower-back", "shoulders"),
        ("shoulders", "neck", "arms"),
        ("neck",),
        ("mid-back", "back"),
        ("lower-back",),
        ("shoulders", "lower-back", "back"),
    ]
    steps = {step.id: step for step in routine.all_steps}
    assert steps["before-you-start"].safety == [
        "Make sure the room is warm and your hands are clean.",
        "Never massage over broken skin, bruises or a recent injury.",
    ]
    knead = steps["knead-the-tops-of-the-shoulders"]
    assert knead.safety == ["Be careful around the neck and never press on the spine."]
    # "light to firm pressure" -> the range from light to firm, starting light.
    assert routine.pressure is not None
    assert [routine.pressure.name(n) for n in routine.pressure.levels] == [
        "light",
        "medium",
        "firm",
        "deep",
    ]
    assert knead.pressure is not None
    assert (knead.pressure.min, knead.pressure.max, knead.pressure.start) == (1, 3, 1)
    # "Keep the strokes slow and even." goes on the timed warm-up, as a cue.
    assert [cue.say for cue in steps["warm-up"].cues] == ["Keep the strokes slow and even."]
    # "If your partner is comfortable with deeper pressure, work ..." -> an offer.
    knots = steps["work-any-knots"]
    assert knots.offer is not None
    assert knots.offer.ask == "Would your partner like deeper pressure?"
    assert knots.say.startswith("Work any knots in the lower back")
    assert knots.safety == ["Avoid pressing on the kidneys."]
    # The quoted "easy there" is new; "a little lighter", "that feels great" are known.
    assert routine.phrases == {"lighter": ["easy there"]}
    # Benefit and marketing sentences are left out, and listed.
    spoken = " ".join(step.say for step in routine.all_steps)
    assert "best gifts" not in spoken
    assert "Share this article" not in spoken
    assert {source.line for source in result.routine.left_out} == {3, 4, 48}


def test_hand_massage_markdown() -> None:
    _, routine = drafted("hand-massage.md")
    assert routine.title == "A soothing hand massage"
    assert [s.title for s in routine.sections] == [
        "Getting ready",
        "The palm",
        "The fingers",
        "Wrist and forearm",
        "Closing",
    ]
    # List items are steps; "about two minutes in total" is the whole step's time.
    assert durations(routine) == [None, None, 60, 45, 120, 30, 60, 30]
    assert {step.all_areas for step in routine.all_steps} == {("hands",), ("hands", "arms"), ()}
    # A quote block of only a safety note, before any step: the routine's safety.
    assert routine.safety == ["Avoid massaging a hand with cuts, swelling or a painful joint."]
    squeeze = next(step for step in routine.all_steps if step.offer)
    assert squeeze.offer is not None
    assert squeeze.offer.ask == "Would your partner like a firmer touch?"
    assert squeeze.safety == ["Never squeeze hard on a joint."]
    assert routine.phrases == {"lighter": ["too firm"]}
    assert "Jo Example" not in " ".join(step.say for step in routine.all_steps)


def test_stretching_web_page_without_page_furniture() -> None:
    result, routine = drafted("stretching.html")
    assert routine.title == "A ten-minute desk stretch"
    assert [s.title for s in routine.sections] == [
        "Neck",
        "Shoulders and upper back",
        "Chest",
        "Legs",
        "Finish",
    ]
    # 30 s + another 30 s; "thirty seconds for each leg" counts twice; "in all".
    assert durations(routine) == [60, 60, 20, 60, 60, 150, 60]
    # A heading that names an area comes first ("Neck", "Chest", "Legs").
    assert [step.all_areas[0] for step in routine.all_steps] == [
        "neck",
        "shoulders",
        "upper-back",
        "chest",
        "legs",
        "legs",
        "arms",
    ]
    # Stretching is not massage: "deeper stretch" and "deep breaths" are no pressure.
    assert routine.pressure is None
    offered = [step for step in routine.all_steps if step.offer]
    assert [step.offer.ask for step in offered if step.offer] == [
        "Would you like a deeper stretch?"
    ]
    assert offered[0].safety == ["Be careful not to round your lower back."]
    assert routine.all_steps[0].safety == ["Never force the stretch or bounce."]
    for furniture in (
        "cookies",
        "Shop",
        "Sam Writer",
        "Updated",
        "comments",
        "Great article",
        "wrists",
        "Related",
        "Subscribe",
        "reserved",
    ):
        assert furniture not in result.text.split("# Left out")[0], furniture
    # Lines are the page source's lines.
    page = (GUIDES / "stretching.html").read_text().splitlines()
    assert "A ten-minute desk stretch" in page[23 - 1]
    assert comment_lines(result.text)['title: "A ten-minute desk stretch"'].startswith(
        "from line 23:"
    )


def test_foot_massage_blog_post_markdown() -> None:
    result, routine = drafted("foot-massage.md")
    # Front matter is the page's settings; the setext heading under it is the title.
    assert routine.title == "Foot massage for a tired partner"
    # "Step 2: Soles" -> "Soles": the label is not part of the name.
    assert [s.title for s in routine.sections] == [
        "Settle in",
        "Soles",
        "Toes and ankles",
        "Finish",
    ]
    steps = routine.all_steps
    # Bold words leading an item name the step and are not said twice.
    assert [step.title for step in steps[1:3]] == ["Thumb walk", "Knuckle glide"]
    assert steps[1].say.startswith("Walk your thumbs")
    # "about 10 seconds per toe (so roughly a minute and a half in total)": the total.
    assert durations(routine) == [60, 90, 60, 90, None, 30]
    # "lie back" is no body area; "under their knees" is.
    assert steps[0].all_areas == ("legs", "feet")
    assert {area for step in steps[1:] for area in step.all_areas} == {"feet"}
    assert steps[2].safety == ["Never press hard on the top of the foot."]
    assert steps[4].safety == [
        "Take care with a stiff ankle.",
        "Skip any foot with an open wound or a swollen ankle.",
    ]
    assert routine.phrases == {"lighter": ["ooh easy"]}
    assert "Posted by Kim" not in result.text.split("# Left out")[0]


@pytest.mark.parametrize("name", ALL_GUIDES)
def test_every_value_says_where_it_came_from(name: str) -> None:
    result, _ = drafted(name)
    guide = (GUIDES / name).read_text().splitlines()
    sourced = 0
    for line in result.text.splitlines():
        match = re.search(r'# from line (\d+): "([^"]*?)(?:\.\.\.)?"', line)
        key = line.strip().split(":")[0].lstrip("- ")
        if key in ("say", "title", "duration", "area", "pressure", "ask") and line[0] == " ":
            assert match or "TODO" in line, line
        if match:
            sourced += 1
            number, quote = int(match.group(1)), match.group(2)
            first_word = re.findall(r"\w+", quote)[0]
            window = " ".join(guide[number - 1 : number + 2])
            assert first_word.lower() in window.lower(), (line, window)
    assert sourced > 10


def test_todos_mark_what_the_guide_did_not_say() -> None:
    result, routine = drafted("hand-massage.md")
    lines = result.text.splitlines()
    assert [todo.line for todo in result.todos] == [
        n for n, line in enumerate(lines, 1) if "TODO:" in line
    ]
    assert all("duration: wait for next" in lines[todo.line - 1] for todo in result.todos)
    assert len(result.todos) == durations(routine).count(None) == 2


@pytest.mark.parametrize("name", ALL_GUIDES)
def test_the_same_guide_gives_the_same_routine(name: str) -> None:
    assert drafted(name)[0].text == drafted(name)[0].text


CALF_PAGE = """<html><head><title>Calf care</title></head><body>
<nav><a href="/">Home</a></nav>
<article>
<h1>Calf care after a run</h1>
<p>Running is great for you and our coaches love it.</p>
<h2>Stretch</h2>
<ol>
<li><strong>Wall calf stretch.</strong> Lean into a wall with one leg back and hold
for 30 seconds on each side.</li>
<li><strong>Heel drops.</strong> Stand on a step and lower your heels slowly for one minute.</li>
</ol>
<p><strong>Massage</strong></p>
<p>Knead the calf muscle with both hands for two minutes, using firm pressure.</p>
</article></body></html>
"""


def test_a_web_page_names_steps_by_their_bold_lead_in() -> None:
    result = draft_routine(CALF_PAGE.encode(), "calf.html", "calf.yaml")
    routine = parse_routine(result.text, "calf.yaml").routine
    assert routine.title == "Calf care after a run"
    # A bold paragraph alone is a heading; "Running is great ... our coaches" is left out.
    assert [s.title for s in routine.sections] == ["Stretch", "Massage"]
    assert [s.title for s in routine.all_steps] == ["Wall calf stretch", "Heel drops", "Massage"]
    assert routine.all_steps[0].say.startswith("Lean into a wall")
    assert durations(routine) == [60, 60, 120]
    # "with both hands" are the hands doing the work, not an area.
    assert [s.all_areas for s in routine.all_steps] == [("legs",), ("feet",), ("legs",)]
    assert "# from line 8:" in result.text  # the page's own line of the first list item
    assert '# from line 9: "for 30 seconds"' in result.text


def test_labels_and_asides_are_not_spoken() -> None:
    guide = (
        "# Foot rub\n\n"
        "Step 1: Rub the soles of the feet (see the photo) for one minute.\n\n"
        "Warning: ease off at once if the ankle is sore.\n\n"
        "Tip: Press the heel with your thumbs for 30 seconds (www.example.com).\n"
    )
    result = draft_routine(guide.encode(), "foot.md", "foot.yaml")
    routine = parse_routine(result.text, "foot.yaml").routine
    first, second = routine.all_steps
    assert first.say == "Rub the soles of the feet for one minute."
    # A safety note on its own in the first section is the routine's, said at the start.
    assert routine.safety == ["Ease off at once if the ankle is sore."]
    assert first.all_areas == ("feet",)
    assert second.say == "Press the heel with your thumbs for 30 seconds."
    assert durations(routine) == [60, 30]


def test_a_short_instruction_line_in_a_plain_text_is_no_heading() -> None:
    guide = (
        "Evening foot rub\n\nFeet\n\nRub the soles for 2 minutes\n\nCircle each ankle, one minute\n"
    )
    routine = parse_routine(draft_routine(guide.encode(), "f.txt", "f.yaml").text, "f").routine
    assert routine.title == "Evening foot rub"
    assert [section.title for section in routine.sections] == ["Feet"]
    assert [step.say for step in routine.all_steps] == [
        "Rub the soles for 2 minutes.",
        "Circle each ankle, one minute.",
    ]


# -- the README's example, rendered back to a how-to text ------------------------------------


def readme_routine() -> Routine:
    text = README.read_text()
    start = text.index("## Writing routines")
    block = re.search(r"```yaml\n(.*?)```", text[start:], re.DOTALL)
    assert block is not None
    return load_text(block.group(1), "README.md")


def as_guide(routine: Routine) -> str:
    """The routine written as a person would write it: a heading, then what to do."""
    lines = [f"# {routine.title}", ""]
    scale = routine.pressure
    for step in routine.all_steps:
        pressure = ""
        if scale is not None:
            level = step.pressure.start if step.pressure and step.pressure.start else scale.start
            pressure = f", with {scale.name(level)} pressure"
        assert step.duration is not None
        cues = " ".join(cue.say for cue in step.cues)
        lines += [f"{step.say.rstrip('.')} for {step.duration:g} seconds{pressure}. {cues}", ""]
    return "\n".join(lines)


def test_readme_example_round_trip() -> None:
    original = readme_routine()
    guide = as_guide(original)
    result = draft_routine(guide.encode(), "hand.md", "hand.yaml")
    routine = parse_routine(result.text, "hand.yaml").routine
    assert routine.title == original.title
    assert durations(routine) == durations(original)
    assert [s.all_areas for s in routine.all_steps] == [s.all_areas for s in original.all_steps]
    assert routine.all_steps[0].say.startswith(original.all_steps[0].say.rstrip("."))
    assert routine.pressure is not None and routine.pressure.name(1) == "light"
    assert result.todos == []


# -- the command ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ALL_GUIDES)
def test_draft_writes_a_routine_that_check_passes(tmp_path: Path, name: str) -> None:
    target = tmp_path / "routine.yaml"
    result = CliRunner().invoke(cli, ["draft", str(GUIDES / name), "-o", str(target)])
    assert result.exit_code == 0, result.output
    assert "TODO" in result.stderr or "0 TODO" in result.stderr
    assert f"wrote {target}" in result.stderr
    check = CliRunner().invoke(cli, ["check", str(target)])
    assert check.exit_code == 0, check.output
    problems = [line for line in check.output.splitlines() if line.strip()]
    assert all(": warning: " in line or line.endswith(": ok") for line in problems), problems
    # The warnings draft printed are the ones check prints.
    printed = [line for line in result.stderr.splitlines() if ": warning: " in line]
    assert printed == [line for line in problems if ": warning: " in line]


def test_draft_prints_to_stdout_without_an_output(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["draft", str(GUIDES / "hand-massage.md")])
    assert result.exit_code == 0, result.output
    assert result.stdout == drafted("hand-massage.md")[0].text.replace("routine.yaml", "<stdout>")
    assert "<stdout>:" in result.stderr and "TODO" in result.stderr


def test_draft_never_overwrites_without_force(tmp_path: Path) -> None:
    target = tmp_path / "mine.yaml"
    target.write_text("precious")
    guide = str(GUIDES / "back-massage.txt")
    refused = CliRunner().invoke(cli, ["draft", guide, "-o", str(target)])
    assert refused.exit_code == 1
    assert "already exists" in refused.stderr and "--force" in refused.stderr
    assert target.read_text() == "precious"
    forced = CliRunner().invoke(cli, ["draft", guide, "-o", str(target), "--force"])
    assert forced.exit_code == 0, forced.output
    assert target.read_text().startswith("# Drafted by")
    assert list(tmp_path.iterdir()) == [target]  # no temporary file left behind


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "no such file"),
        (b"Rub the feet.\nthen \xff\xfe binary", "guide.txt:2:6: byte 0xff is not UTF-8"),
        (b"Regular massage improves sleep. Our readers love it.", "found no instructions"),
        (b"", "found no instructions"),
    ],
)
def test_a_guide_that_cannot_be_drafted_gets_one_sentence(
    tmp_path: Path, content: bytes | None, expected: str
) -> None:
    guide = tmp_path / "guide.txt"
    if content is not None:
        guide.write_bytes(content)
    target = tmp_path / "out.yaml"
    result = CliRunner().invoke(cli, ["draft", str(guide), "-o", str(target)])
    assert result.exit_code == 1
    assert expected in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output
    assert not target.exists()


def test_a_web_page_in_its_declared_encoding(tmp_path: Path) -> None:
    page = (GUIDES / "stretching.html").read_text().replace("utf-8", "iso-8859-1")
    page = page.replace("Sit tall", "Sit tall, café-style,")
    path = tmp_path / "page.html"
    path.write_bytes(page.encode("iso-8859-1"))
    _, routine = drafted(str(path))
    assert routine.all_steps[0].say.startswith("Sit tall, café-style,")


def test_a_folder_or_fifo_is_refused(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.txt"
    import os

    os.mkfifo(fifo)
    for guide in (tmp_path, fifo):
        result = CliRunner().invoke(cli, ["draft", str(guide)])
        assert result.exit_code == 1
        assert "cannot read it" in result.stderr, result.stderr


# -- any text: a routine that loads, or one clear sentence ----------------------------------

WORDS = st.sampled_from(
    [
        "Knead the shoulders",
        "for two to three minutes",
        "with firm pressure.",
        "Never press on the spine.",
        "If your partner is comfortable with deeper pressure,",
        "glide the palms over the lower back",
        "30 seconds",
        '"easy there"',
        "'a little lighter'",
        "gentle feet neck",
        "#",
        "##",
        "- ",
        "1. ",
        "<p>",
        "</p>",
        "<h2>",
        "\n",
        "\n\n",
        ": no yes",
        "a minute or so",
        "*",
        "> ",
        "Avoid it. Make sure.",
        "step-1",
        "ü 한국어",
    ]
)
SENTENCES = st.tuples(
    st.sampled_from(["Knead", "Glide over", "With your thumbs, press", "Never rub", "Hold"]),
    st.sampled_from(["the neck", "your feet", "the lower back", "the x" * 40, ""]),
    st.sampled_from(["for two to three minutes", "30 seconds each side", "", "for 0 s"]),
    st.sampled_from([" with light to deep pressure", ' and say "easy there"', "", ","]),
    st.sampled_from([".", "!", "", ". If you are comfortable with more, go on."]),
).map("".join)
TEXTS = st.one_of(
    st.text(max_size=300),
    st.lists(WORDS, max_size=80).map(" ".join),
    st.lists(st.one_of(SENTENCES, WORDS), max_size=30).map(" ".join),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.one_of(TEXTS.map(lambda text: text.encode("utf-8", "surrogatepass")), st.binary()),
    fmt=st.sampled_from(list(Format)),
)
def test_any_text_gives_a_routine_that_loads_or_a_clear_message(data: bytes, fmt: Format) -> None:
    try:
        result = draft_routine(data, "guide.txt", "out.yaml", fmt)
    except GuideError as error:
        message = str(error)
        assert message.startswith("guide.txt") and " — " in message and "\n" not in message
        return
    try:
        loaded = parse_routine(result.text, "out.yaml")
    except RoutineError as error:  # pragma: no cover - the failure message is the point
        pytest.fail(f"the draft does not load: {error}\n{result.text}")
    lint(loaded)
    assert draft_routine(data, "guide.txt", "out.yaml", fmt).text == result.text


# -- phrases: model, check and the listener ---------------------------------------------------


def test_phrases_name_commands_and_unknown_ones_are_located() -> None:
    base = "title: x\nsteps:\n  - id: a\n    say: Rub.\n    duration: 1m\n"
    with pytest.raises(RoutineError) as error:
        load_text(base + "phrases:\n  lightr: [easy there]\n", "r.yaml")
    assert str(error.value) == "r.yaml:7:3: 'lightr' is not a command — did you mean 'lighter'?"
    routine = load_text(base + "phrases:\n  lighter: [Easy there!, stop]\n", "r.yaml")
    assert routine.extra_phrases() == {"easy there": Command.LIGHTER, "stop": Command.LIGHTER}
    words = routine_vocabulary(routine)
    assert words.command("easy there") is Command.LIGHTER
    assert words.command("stop") is Command.PAUSE  # the table's meaning wins


def test_check_warns_about_phrases_the_listener_cannot_use(tmp_path: Path) -> None:
    path = tmp_path / "r.yaml"
    path.write_text(
        "title: x\nphrases:\n  lighter: [stop, zzgrxq please]\n"
        "steps:\n  - id: a\n    say: Rub.\n    duration: 1m\n"
    )
    result = CliRunner().invoke(cli, ["check", str(path)])
    assert result.exit_code == 0
    assert "'stop' already means 'pause'" in result.output
    assert "'zzgrxq please' has words the speech engine does not know" in result.output


@pytest.mark.audio
def test_a_drafted_routine_runs_and_its_phrase_acts_in_the_virtual_room(tmp_path: Path) -> None:
    """The whole way: guide -> draft -> the session with the real espeak-ng guide echoing
    into the real listener, a person (flite) saying the guide's own quoted phrase."""
    guide = tmp_path / "rub.md"
    guide.write_text(
        "# Quick shoulder rub\n\nKnead the shoulders with firm pressure for one minute. "
        'Ask your partner to say "easy there" when it is too much.\n'
    )
    routine = tmp_path / "rub.yaml"
    drafted_run = CliRunner().invoke(cli, ["draft", str(guide), "-o", str(routine)])
    assert drafted_run.exit_code == 0, drafted_run.output
    transcript = tmp_path / "demo.jsonl"
    demo = CliRunner().invoke(
        cli,
        [
            "demo",
            str(routine),
            "--say",
            "0:25 easy there",
            "--quiet",
            "--transcript",
            str(transcript),
        ],
    )
    assert demo.exit_code == 0, demo.output
    events = [json.loads(line) for line in transcript.read_text().splitlines()]
    assert [(e["command"], e["phrase"]) for e in events if e["event"] == "heard"] == [
        ("lighter", "easy there")
    ]
    assert [(e["level"], e["reason"]) for e in events if e["event"] == "pressure"] == [
        (2, "lighter")
    ]
    assert events[-1]["summary"]["ended"] == "completed"


@pytest.mark.audio
def test_a_drafted_phrase_is_heard_by_the_real_listener(tmp_path: Path) -> None:
    _, routine = drafted("back-massage.txt")
    assert routine.phrases == {"lighter": ["easy there"]}
    listener = Listener(PocketSphinxRecognizer(routine_vocabulary(routine)))
    audio = synthesize(tmp_path, "easy there", "slt")
    heard = []
    for start in range(0, len(audio), 320):  # 20 ms blocks, as from the microphone
        heard += listener.feed(audio[start : start + 320])
    heard += listener.flush()
    assert [detection.command for detection in heard] == [Command.LIGHTER]
