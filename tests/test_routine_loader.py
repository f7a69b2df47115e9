"""Routine files, good and hostile: every bad file gives located one-line errors
(`path:line:column: what — how`) and exit code 1 from `voice-guide check`, never a traceback;
good files load; names stay inside the routines folder; `new`, `schema`, `preview`, `list`."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import jsonschema
import pytest
import yaml
from click.testing import CliRunner

import voice_guide.cli.routines  # noqa: F401  (registers the routine commands)
from voice_guide.cli import cli
from voice_guide.commands import languages
from voice_guide.library import available_routines, load_routine, read_routine
from voice_guide.routine.lint import lint
from voice_guide.routine.loader import (
    MAX_BYTES,
    MAX_CUES,
    MAX_STEPS,
    RoutineError,
    builtin_names,
    load_text,
    parse_routine,
)

STEP = "  - id: a\n    say: Glide your palms slowly.\n    duration: 1m\n"
VALID = "title: Test\nsteps:\n" + STEP
SCALE = (
    "pressure:\n  start: 2\n  levels:\n"
    "    1: {name: feather}\n    2: {name: light}\n    3: {name: firm}\n"
)
LOCATED = re.compile(r"^.+:\d+:\d+: (warning: )?\S.* — \S.*$")


@dataclass(frozen=True)
class Bad:
    """A hostile or malformed routine and the located error it must give."""

    name: str
    content: str | bytes
    line: int
    column: int
    text: str


def _bomb() -> str:
    lines = ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for n, name in enumerate("bcdefghi"):
        ref = "abcdefghi"[n]
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{ref}"] * 9) + "]")
    return "\n".join(lines) + "\n"


BAD = [
    # -- YAML syntax ------------------------------------------------------------------
    Bad("unclosed-bracket", "title: x\nsteps: [\n", 3, 1, "unfinished list or mapping"),
    Bad("tab-indentation", "title: x\nsteps:\n\t- id: a\n", 3, 1, "indent with spaces"),
    Bad("colon-in-plain-text", "title: Note: be gentle\n", 1, 12, "put text that contains"),
    Bad("unclosed-quote", 'title: "Back massage\n', 2, 1, "ends inside quotes"),
    Bad("bad-indentation", "title: x\n  steps: y\n", 2, 8, "check the indentation"),
    Bad("list-item-misaligned", "title: x\nsteps:\n  - id: a\n - id: b\n", 4, 2, "indentation"),
    Bad(
        "question-mark-in-flow", "title: x\nsteps: [{id: a, say: Ready?}]\n", 2, 27, "needs quotes"
    ),
    Bad("two-documents", VALID + "---\n" + VALID, 6, 1, "one routine per file"),
    Bad("undefined-alias", "title: *name\n", 1, 8, "names no '&' anchor"),
    Bad("backslash-escape", 'title: "C:\\Users"\n', 1, 13, "unknown escape"),
    Bad("key-is-a-list", "? [a, b]\n: c\n", 1, 3, "a key must be a plain word"),
    Bad("duplicate-key", "title: One\nlanguage: en\ntitle: Two\n", 3, 1, "appears twice"),
    Bad(
        "duplicate-step-key",
        "title: x\nsteps:\n  - id: a\n    say: Hi there.\n    say: Again.\n    duration: 1m\n",
        5,
        5,
        "key 'say' appears twice in this mapping (first on line 4)",
    ),
    # -- hostile files ----------------------------------------------------------------
    Bad("alias-bomb", _bomb(), 1, 4, "expands to more than"),
    Bad("recursive-alias", "title: &a [x, *a]\n", 1, 8, "contains it"),
    Bad("deep-nesting", "title: " + "[" * 100 + "]" * 100 + "\n", 1, 47, "nested more than"),
    Bad("ten-megabytes", "title: x\n" + "# padding\n" * 1_000_000, 1, 1, "more than the 256 KiB"),
    Bad("non-utf8-latin1", "title: Caf\xe9 massage\n".encode("latin-1"), 1, 11, "not UTF-8"),
    Bad("utf16", VALID.encode("utf-16"), 1, 1, "not UTF-8"),
    Bad("binary-garbage", bytes(range(256)) * 4, 2, 118, "byte 0x80 is not UTF-8"),
    Bad("nul-byte", "title: x\x00\n", 1, 9, "control character U+0000"),
    Bad("bell-character", "title: x\nsteps:\n  - id: a\x07\n", 3, 10, "control character"),
    Bad("empty-file", "", 1, 1, "the file is empty"),
    Bad("only-whitespace", "\n\n   \n", 1, 1, "the file is empty"),
    Bad("only-comments", "# a routine\n# nothing yet\n", 1, 1, "the file is empty"),
    Bad("top-level-list", "- title: x\n- steps: []\n", 1, 1, "the routine is a list"),
    Bad("top-level-scalar", "Back massage\n", 1, 1, "the routine is a single value"),
    Bad("top-level-number", "42\n", 1, 1, "single value"),
    Bad(
        "python-object-apply",
        "title: !!python/object/apply:os.system ['echo pwned']\n",
        1,
        8,
        "'!!python/object/apply:os.system' is not allowed",
    ),
    Bad("python-name", "title: !!python/name:os.system\n", 1, 8, "is not allowed"),
    Bad("custom-tag", "title: !include other.yaml\n", 1, 8, "'!include' is not allowed"),
    Bad("binary-tag", "title: !!binary aGVsbG8=\n", 1, 8, "'!!binary' is not allowed"),
    Bad("huge-integer", "title: x\nvoice:\n  rate: " + "9" * 5000 + "\n", 3, 9, "far too long"),
    # -- wrong types ------------------------------------------------------------------
    Bad("title-is-a-list", "title: [a, b]\nsteps:\n" + STEP, 1, 8, "'title' should be text"),
    Bad("title-is-true", "title: true\nsteps:\n" + STEP, 1, 8, "got true (yes/no)"),
    Bad("say-is-a-number", "title: x\nsteps:\n  - {id: a, say: 5, duration: 1m}\n", 3, 18, "text"),
    Bad("steps-is-a-mapping", "title: x\nsteps:\n  id: a\n", 3, 3, "'steps' should be a list"),
    Bad("step-is-text", "title: x\nsteps:\n  - warm up\n", 3, 5, "should be a mapping"),
    Bad("rate-is-text", VALID + "voice:\n  rate: fast\n", 7, 9, "'rate' should be a whole number"),
    Bad("volume-too-loud", VALID + "voice:\n  volume: 1.5\n", 7, 11, "above the highest allowed 1"),
    Bad("safety-is-text", VALID + "safety: 3\n", 6, 9, "should be a list"),
    # -- unknown keys -----------------------------------------------------------------
    Bad("unknown-key-typo", "titel: x\nsteps:\n" + STEP, 1, 1, "did you mean 'title'?"),
    Bad(
        "unknown-step-key-typo",
        "title: x\nsteps:\n  - id: a\n    say: Hi.\n    durration: 1m\n",
        5,
        5,
        "unknown key 'durration' — did you mean 'duration'?",
    ),
    Bad("unknown-key-no-match", VALID + "colour: red\n", 6, 1, "allowed here: title"),
    Bad("number-as-key", VALID + "voice: {2: 3}\n", 6, 9, "unknown key '2' — remove it"),
    Bad("very-long-key", VALID + "k" * 500 + ": 1\n", 6, 1, "unknown key 'kkkkkkkkkkkk"),
    Bad("very-long-id", VALID.replace("id: a", "id: " + "a" * 100), 3, 9, "100 characters long"),
    Bad(
        "unknown-cue-key",
        "title: x\nsteps:\n  - id: a\n    say: Hi.\n    duration: 1m\n"
        "    cues: [{at: 10s, sey: Hello.}]\n",
        6,
        22,
        "unknown key 'sey' — did you mean 'say'?",
    ),
    # -- durations and cues -----------------------------------------------------------
    Bad(
        "duration-2-minuets",
        "title: x\nsteps:\n  - id: a\n    say: Hi.\n    duration: 2 minuets\n",
        5,
        15,
        "cannot read '2 minuets' as a duration — did you mean '2 minutes'?",
    ),
    Bad("duration-words", VALID.replace("1m", "a while"), 5, 15, "cannot read 'a while'"),
    Bad("negative-duration", VALID.replace("1m", "-30"), 5, 15, "duration -30 is out of range"),
    Bad("zero-duration", VALID.replace("1m", "0s"), 5, 15, "out of range"),
    Bad("duration-too-long", VALID.replace("1m", "5h"), 5, 15, "at most 3 hours"),
    Bad("duration-nan", VALID.replace("1m", ".nan"), 5, 15, "out of range"),
    Bad(
        "duration-missing",
        "title: x\nsteps:\n  - id: a\n    say: Hi.\n",
        3,
        5,
        "'duration' is missing",
    ),
    Bad(
        "cue-after-end",
        VALID + "    cues:\n      - at: 2m\n        say: Too late.\n",
        7,
        13,
        "cue at 120s comes after the step ends (the step is 60s long)",
    ),
    Bad(
        "cue-left-before-start",
        VALID + "    cues:\n      - {at: 90s left, say: Too early.}\n",
        7,
        14,
        "comes before the step starts",
    ),
    Bad(
        "cue-bad-time",
        VALID + "    cues:\n      - {at: soon, say: Hi.}\n",
        7,
        14,
        "cannot read 'soon'",
    ),
    Bad("cue-without-at", VALID + "    cues:\n      - say: When?\n", 7, 9, "'at' is missing"),
    Bad(
        "cue-in-wait-step",
        "title: x\nsteps:\n  - id: a\n    say: Hi.\n    duration: wait for next\n"
        "    cues:\n      - {at: 10s, say: Hello.}\n",
        6,
        5,
        "timed cues need a step duration",
    ),
    # -- pressure ---------------------------------------------------------------------
    Bad(
        "min-greater-than-max",
        SCALE + VALID + "    pressure: {min: 3, max: 1}\n",
        12,
        21,
        "min (3) is greater than max (1) — swap them",
    ),
    Bad(
        "start-outside-limits",
        SCALE + VALID + "    pressure: {start: 3, max: 2}\n",
        12,
        23,
        "start (3) is above max (2)",
    ),
    Bad(
        "level-beyond-scale",
        SCALE + VALID + "    pressure: {max: 5}\n",
        12,
        21,
        "uses pressure level 5 but the scale goes to 3",
    ),
    Bad(
        "technique-beyond-scale",
        SCALE + VALID + "    techniques:\n      4: Use your elbow.\n",
        13,
        7,
        "step 'a' uses pressure level 4 but the scale goes to 3",
    ),
    Bad("pressure-without-scale", VALID + "    pressure: {max: 2}\n", 6, 21, "no pressure scale"),
    Bad(
        "scale-with-gaps",
        "pressure:\n  start: 1\n  levels:\n    1: {name: light}\n    3: {name: firm}\n" + VALID,
        5,
        5,
        "without gaps",
    ),
    Bad("scale-start-off-scale", SCALE.replace("start: 2", "start: 4") + VALID, 2, 10, "not on"),
    Bad(
        "negative-level",
        SCALE + VALID + "    pressure: {min: -1}\n",
        12,
        21,
        "below the lowest allowed 1",
    ),
    Bad(
        "level-eleven",
        SCALE + VALID + "    pressure: {max: 11}\n",
        12,
        21,
        "above the highest allowed 10",
    ),
    Bad(
        "level-key-word",
        SCALE + VALID + "    techniques: {two: Palms.}\n",
        12,
        18,
        "'two' is not a pressure level",
    ),
    # -- structure and ids ------------------------------------------------------------
    Bad(
        "duplicate-id",
        VALID + "  - id: a\n    say: Again.\n    duration: 1m\n",
        6,
        9,
        "step id 'a' is used twice",
    ),
    Bad("bad-id-characters", VALID.replace("id: a", "id: Warm Up!"), 3, 9, "e.g. 'warm-up'"),
    Bad("id-is-a-number", VALID.replace("id: a", "id: 1"), 3, 9, "'id' should be text"),
    Bad(
        "sections-and-steps",
        VALID + "sections:\n  - title: S\n    steps:\n      - {id: b, say: Hi., duration: 1m}\n",
        2,
        1,
        "both 'sections' and 'steps'",
    ),
    Bad("empty-steps", "title: x\nsteps: []\n", 2, 8, "the routine has no steps"),
    Bad("no-steps-at-all", "title: x\n", 1, 1, "the routine has no steps"),
    Bad("section-without-steps", "title: x\nsections:\n  - title: S\n", 3, 5, "'steps' is missing"),
    Bad(
        "section-empty-steps",
        "title: x\nsections:\n  - {title: S, steps: []}\n",
        3,
        23,
        "'steps' is empty",
    ),
    Bad("missing-say", "title: x\nsteps:\n  - id: a\n    duration: 1m\n", 3, 5, "'say' is missing"),
    Bad("missing-title", "steps:\n" + STEP, 1, 1, "'title' is missing"),
    Bad("empty-say", VALID.replace("Glide your palms slowly.", '""'), 4, 10, "'say' is empty"),
    Bad("very-long-text", VALID.replace("Glide", "Glide " * 400), 4, 10, "more than the 2000"),
    Bad("bad-language", "language: english\n" + VALID, 1, 11, "not a language code"),
    Bad(
        "offer-beyond-scale",
        SCALE + VALID + "    offer: {min_pressure: 4, ask: 'Deeper work today?'}\n",
        12,
        27,
        "uses pressure level 4",
    ),
    # -- limits that keep a session responsive -------------------------------------------
    Bad(
        "too-many-cues",
        "title: x\nsteps:\n  - id: a\n    say: Hi there.\n    duration: 3h\n    cues:\n"
        + "".join(f"      - {{at: {n + 1}s, say: Cue.}}\n" for n in range(MAX_CUES + 1)),
        7 + MAX_CUES,
        9,
        f"has {MAX_CUES + 1} cues, more than the {MAX_CUES} allowed",
    ),
    Bad(
        "too-many-steps",
        "title: x\nsteps:\n"
        + "".join(
            f"  - {{id: s{n}, say: Hi there., duration: 1s}}\n" for n in range(MAX_STEPS + 1)
        ),
        3 + MAX_STEPS,
        5,
        f"has {MAX_STEPS + 1} steps, more than the {MAX_STEPS} allowed",
    ),
    Bad(
        "longer-than-twelve-hours",
        "title: x\nsteps:\n"
        + "".join(f"  - {{id: s{n}, say: Hi there., duration: 3h}}\n" for n in range(5)),
        3,
        3,
        "last 15.0 hours together, more than the 12 hours allowed",
    ),
    Bad(
        "duration-of-400-digits",
        "title: x\nsteps:\n  - id: a\n    say: Hi there.\n    duration: " + "9" * 400 + "\n",
        5,
        15,
        "out of range",
    ),
    Bad(
        "cue-time-of-400-digits",
        VALID + "    cues: [{at: " + "9" * 400 + ", say: Cue.}]\n",
        6,
        17,
        "out of range",
    ),
]


@pytest.mark.parametrize("bad", BAD, ids=[bad.name for bad in BAD])
def test_bad_routine_gives_located_one_line_errors(bad: Bad, tmp_path: Path) -> None:
    path = tmp_path / f"{bad.name}.yaml"
    path.write_bytes(bad.content if isinstance(bad.content, bytes) else bad.content.encode())
    with pytest.raises(RoutineError) as caught:
        load_routine(path)
    lines = [str(problem) for problem in caught.value.problems]
    assert lines
    for line in lines:
        assert "\n" not in line and LOCATED.match(line), line
        assert line.startswith(f"{path}:")
    assert any(
        (p.line, p.column) == (bad.line, bad.column) and bad.text in p.message
        for p in caught.value.problems
    ), lines


@pytest.mark.parametrize("bad", BAD, ids=[bad.name for bad in BAD])
def test_bad_routine_fails_check_without_traceback(bad: Bad, tmp_path: Path) -> None:
    path = tmp_path / f"{bad.name}.yaml"
    path.write_bytes(bad.content if isinstance(bad.content, bytes) else bad.content.encode())
    result = CliRunner().invoke(cli, ["check", str(path)])
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    assert f"{path}:{bad.line}:{bad.column}: " in result.output
    assert "ok" not in result.output.split()


def test_there_are_at_least_forty_hostile_files() -> None:
    assert len(BAD) >= 40
    assert len({bad.name for bad in BAD}) == len(BAD)


def test_all_errors_are_reported_at_once() -> None:
    text = (
        "title: x\nlanguage: Klingon\nsteps:\n"
        "  - id: A\n    say: 5\n    duration: 2 minuets\n    colour: red\n"
    )
    with pytest.raises(RoutineError) as caught:
        load_text(text, "many.yaml")
    where = [(p.line, p.column) for p in caught.value.problems]
    assert where == [(2, 11), (4, 9), (5, 10), (6, 15), (7, 5)]


def test_size_limit_applies_to_text_too() -> None:
    with pytest.raises(RoutineError, match="256 KiB"):
        load_text("title: x\n" + "#" * MAX_BYTES, "big.yaml")


# -- valid routines --------------------------------------------------------------------


def test_yes_no_on_off_stay_text() -> None:
    routine = load_text(
        "title: yes\ndescription: no\nsteps:\n"
        "  - {id: a, title: off, say: on, duration: 1m, repeat: y, help: n}\n",
        "words.yaml",
    )
    step = routine.all_steps[0]
    assert (routine.title, routine.description, step.title, step.say) == ("yes", "no", "off", "on")
    assert (step.repeat, step.help) == ("y", "n")


def test_dates_stay_text() -> None:
    assert load_text("title: 2024-05-01\nsteps:\n" + STEP, "d.yaml").title == "2024-05-01"


def test_a_full_routine_loads_with_every_feature(tmp_path: Path) -> None:
    text = (
        SCALE
        + "title: Full\nlanguage: en\nvoice: {name: slt, rate: 160, volume: 0.8}\n"
        + "safety: [Never press on the spine.]\nhelp: Ask for help any time.\n"
        + "sections:\n  - title: Start\n    steps:\n"
        + "      - id: glide\n        say: Glide slowly.\n        duration: 1m30s\n"
        + "        area: back\n        pressure: {min: 1, max: 2, start: 2}\n"
        + "        techniques: {1: Fingertips only.}\n"
        + "        cues: [{at: halfway, say: Half way there.}, {at: 20s left, say: Slow down.}]\n"
        + "      - id: rest\n        say: Rest your hands.\n        duration: wait for next\n"
    )
    path = tmp_path / "full.yaml"
    path.write_text(text)
    routine = load_routine(path)
    glide, rest = routine.all_steps
    assert glide.duration == 90 and rest.duration is None
    assert [cue.at.offset(90) for cue in glide.cues] == [45, 70]
    assert routine.voice.rate == 160 and routine.pressure and routine.pressure.top == 3


def test_merge_keys_work_as_in_safe_load() -> None:
    text = (
        "title: x\nsteps:\n  - &base {id: a, say: Glide slowly., duration: 1m}\n"
        "  - <<: *base\n    id: b\n"
    )
    assert [step.id for step in load_text(text, "m.yaml").all_steps] == ["a", "b"]


@pytest.mark.parametrize("name", builtin_names())
def test_builtin_routines_load_by_name_and_pass_lint(name: str) -> None:
    loaded = read_routine(name)
    assert loaded.routine.all_steps
    assert lint(loaded) == []


def test_a_file_path_given_explicitly_loads(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "mine.yaml").write_text(VALID)
    monkeypatch.chdir(tmp_path)
    assert load_routine("mine.yaml").title == "Test"
    assert load_routine("./mine.yaml").title == "Test"


# -- names -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["..", ".", "...", "", "~", "a b", "..\\secret", "Secret", "-x"])
def test_names_cannot_escape_the_routines_folder(
    name: str, home: Path, routines_dir: Path, monkeypatch
) -> None:
    (home / "secret.yaml").write_text(VALID)  # outside the routines folder
    monkeypatch.chdir(home)
    with pytest.raises(RoutineError, match="not a routine name"):
        load_routine(name)


def test_a_name_is_looked_up_only_in_the_routines_folder(
    home: Path, routines_dir: Path, monkeypatch
) -> None:
    (home / "secret.yaml").write_text(VALID)
    monkeypatch.chdir(home)
    with pytest.raises(RoutineError, match="no routine with this name"):
        load_routine("secret")
    (routines_dir / "secret.yaml").write_text(VALID)
    assert load_routine("secret").title == "Test"


def test_unknown_name_suggests_the_closest(routines_dir: Path) -> None:
    with pytest.raises(RoutineError, match="did you mean 'back-massage'"):
        load_routine("back-masage")
    with pytest.raises(RoutineError, match=r"give the name without '\.yaml'"):
        load_routine("back-massage.yaml")


def test_a_user_routine_hides_the_builtin_of_the_same_name(home: Path, routines_dir: Path) -> None:
    (routines_dir / "back-massage.yaml").write_text(VALID)
    assert load_routine("back-massage").title == "Test"
    result = CliRunner().invoke(cli, ["list"])
    assert "hidden by user" in result.output


def test_missing_file_and_folder_are_one_line_errors(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["check", str(tmp_path / "nope.yaml"), str(tmp_path)])
    assert result.exit_code == 1
    assert f"{tmp_path / 'nope.yaml'}: no such file" in result.output
    assert f"{tmp_path}: this is a folder" in result.output
    assert "Traceback" not in result.output


# -- check -----------------------------------------------------------------------------


def test_check_prints_ok_per_clean_file_and_fails_on_any_error(tmp_path: Path) -> None:
    good, bad = tmp_path / "good.yaml", tmp_path / "bad.yaml"
    good.write_text(VALID)
    bad.write_text("title: x\n")
    result = CliRunner().invoke(cli, ["check", str(good), "back-massage", str(bad)])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert f"{good}: ok" in lines
    assert any(line.endswith("back-massage.yaml: ok") for line in lines)
    assert (
        f"{bad}:1:1: the routine has no steps — add 'steps:' (a list of steps) or 'sections:'"
        in lines
    )


LINTED = (
    SCALE.replace("3: {name: firm}", "3: {name: medium}\n    4: {name: firm}")
    + "title: Lint\nsteps:\n"
    + "  - id: a\n"
    + '    say: Next, place your palms on the back. Say "stop" at any time. Use lighter strokes.\n'
    + "    duration: 20s\n"
    + "    pressure: {max: 2}\n"
    + "    cues:\n"
    + "      - {at: 10s, say: Lighter.}\n"
    + "  - id: b\n"
    + "    say: Knead the shoulders with your knuckles, and wait for the muscle to soften.\n"
    + "    duration: 5s\n"
    + "    pressure: {max: 2}\n"
    + "    techniques: {4: Use your elbow.}\n"
    + "  - id: c\n"
    + "    say: Work the knot.\n"
    + "    duration: 1m\n"
    + "    offer: {min_pressure: 3, ask: 'Work on a knot?'}\n"
)


def test_lint_warnings_are_located(tmp_path: Path) -> None:
    path = tmp_path / "lint.yaml"
    path.write_text(LINTED)
    warnings = [str(p) for p in lint(read_routine(path))]
    expected = [
        (11, 10, "'Next' is a command phrase: the listener takes it for 'next'"),
        (15, 24, "'Lighter' is a command phrase: said on its own"),
        (17, 54, "'wait' is a command phrase: the listener takes it for 'pause'"),
        (17, 10, "takes about \\d+s to say .* longer than the step \\(5s\\)"),
        (20, 18, "the technique for level 4 is never said"),
        (24, 27, "offered only from level 3, but the pressure cannot be that high"),
        (24, 27, "goes to medium pressure \\(level 3 of 4\\) but has no safety note"),
    ]
    for line, column, text in expected:
        prefix = f"{path}:{line}:{column}: warning: "
        assert any(w.startswith(prefix) and re.search(text, w) for w in warnings), (
            line,
            column,
            text,
            warnings,
        )
    assert len(warnings) == len(expected), warnings
    assert all(LOCATED.match(w) for w in warnings)
    # Quoted ("stop") and words inside a longer clause ("lighter strokes") are fine.
    assert not any("'stop' is a command" in w or "'lighter' is a command" in w for w in warnings)


def test_check_passes_warnings_unless_strict(tmp_path: Path) -> None:
    path = tmp_path / "lint.yaml"
    path.write_text(LINTED)
    relaxed = CliRunner().invoke(cli, ["check", str(path)])
    strict = CliRunner().invoke(cli, ["check", "--strict", str(path)])
    assert relaxed.exit_code == 0 and "warning:" in relaxed.output
    assert strict.exit_code == 1 and strict.output == relaxed.output


def test_a_language_without_command_phrases_is_an_error() -> None:
    with pytest.raises(RoutineError) as caught:
        parse_routine("language: de\n" + VALID, "de.yaml")
    assert [str(p) for p in caught.value.problems] == [
        "de.yaml:1:11: no command phrases for language 'de', so the session could not hear "
        f"anyone — write one of: {', '.join(languages())}"
    ]


def test_a_deep_step_with_a_safety_note_passes() -> None:
    text = SCALE + VALID + "    pressure: {max: 3}\n    safety: [Never press on the spine.]\n"
    assert lint(parse_routine(text, "deep.yaml")) == []


# -- new, schema, preview, list ---------------------------------------------------------


def test_new_writes_a_starter_that_passes_strict_check(home: Path, routines_dir: Path) -> None:
    runner = CliRunner()
    made = runner.invoke(cli, ["new", "evening-back"])
    assert made.exit_code == 0, made.output
    path = home / "routines" / "evening-back.yaml"
    text = path.read_text()
    assert text.startswith("# yaml-language-server: $schema=routine.schema.json\n")
    assert json.loads((home / "routines" / "routine.schema.json").read_text())["$id"]
    checked = runner.invoke(cli, ["check", "--strict", str(path)])
    assert (checked.exit_code, checked.output) == (0, f"{path}: ok\n")
    assert load_routine("evening-back").title == "Evening back"
    assert "evening-back" in runner.invoke(cli, ["list"]).output


def test_new_refuses_to_overwrite_and_bad_names(
    home: Path, routines_dir: Path, tmp_path: Path
) -> None:
    runner = CliRunner()
    target = tmp_path / "elsewhere"
    assert runner.invoke(cli, ["new", "mine", "--dir", str(target)]).exit_code == 0
    (target / "mine.yaml").write_text("# my edits\n" + VALID)
    again = runner.invoke(cli, ["new", "mine", "--dir", str(target)])
    assert again.exit_code == 1 and "already exists" in again.output
    assert (target / "mine.yaml").read_text().startswith("# my edits")
    bad = runner.invoke(cli, ["new", "../escape"])
    assert bad.exit_code == 1 and "not a routine name" in bad.output
    assert not (home / "escape.yaml").exists()


def test_schema_is_json_with_editor_keys_and_custom_types() -> None:
    result = CliRunner().invoke(cli, ["schema"])
    assert result.exit_code == 0
    schema = json.loads(result.output)
    assert schema["$schema"].startswith("https://json-schema.org/")
    assert schema["$id"] and schema["title"]
    jsonschema.Draft202012Validator.check_schema(schema)
    step = schema["$defs"]["Step"]["properties"]
    assert {"number", "string"} <= {part["type"] for part in step["duration"]["anyOf"]}
    cue_at = schema["$defs"]["Cue"]["properties"]["at"]
    assert "halfway" in json.dumps(cue_at)


@pytest.mark.parametrize("name", builtin_names())
def test_schema_accepts_the_builtin_routines(name: str) -> None:
    schema = json.loads(CliRunner().invoke(cli, ["schema"]).output)
    info = next(info for info in available_routines() if info.name == name)
    data = yaml.safe_load(Path(info.path).read_text())
    # JSON has only string keys: an editor sees pressure levels as "1", "2", ...
    jsonschema.validate(json.loads(json.dumps(data)), schema)


def test_schema_rejects_an_unknown_key() -> None:
    schema = json.loads(CliRunner().invoke(cli, ["schema"]).output)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"title": "x", "steps": [], "colour": "red"}, schema)


def test_preview_back_massage_shows_sections_and_a_plausible_total() -> None:
    result = CliRunner().invoke(cli, ["preview", "back-massage"])
    assert result.exit_code == 0, result.output
    total = re.search(r"^Total: (?:(\d+)m)?(?:(\d+)s)?", result.output, re.MULTILINE)
    assert total
    minutes = int(total.group(1) or 0) + int(total.group(2) or 0) / 60
    assert 15 <= minutes <= 40
    routine = load_routine("back-massage")
    for section in routine.sections:
        assert f"[{section.title}]" in result.output
    assert "0:00" in result.output


def test_preview_of_a_bad_file_is_located_and_exits_1(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("title: x\nsteps: {}\n")
    result = CliRunner().invoke(cli, ["preview", str(path)])
    assert result.exit_code == 1
    assert result.output.startswith(f"{path}:2:8: 'steps' should be a list")


def test_list_shows_builtin_and_user_routines_with_durations(
    home: Path, routines_dir: Path
) -> None:
    (routines_dir / "quick.yaml").write_text(VALID)
    (routines_dir / "broken.yaml").write_text("title: x\n")
    result = CliRunner().invoke(cli, ["list"])
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert re.search(r"^back-massage\s+built-in\s+\d+m\d*s?\s+Back massage$", result.output, re.M)
    assert any(line.startswith("quick") and "user" in line and "Test" in line for line in lines)
    assert any(line.startswith("broken") and "voice-guide check" in line for line in lines)
    assert str(home / "routines") in result.output


def test_lint_checks_avoided_wordings_and_cue_levels() -> None:
    from voice_guide.routine.loader import parse_routine

    text = (
        "title: T\n"
        "pressure:\n  levels: {1: {name: light}, 2: {name: firm}}\n  start: 1\n"
        "steps:\n"
        "  - id: a\n    say: Palms on the back.\n    duration: 1m\n    area: back\n"
        "    pressure: {max: 1}\n"
        "    say_if_avoided: {back: Palms on the back., neck: Stop here.}\n"
        "    cues:\n      - {at: halfway, say: Lean in., pressure: 2}\n"
    )
    warnings = [str(p) for p in lint(parse_routine(text, "t.yaml"))]
    assert [w.split(": warning: ")[0] for w in warnings] == [
        "t.yaml:11:22",
        "t.yaml:11:54",
        "t.yaml:13:48",
    ]
    assert "never said: the step works 'back'" in warnings[0]
    assert "'Stop' is a command phrase" in warnings[1]
    assert "outside the step's limits (1 to 1)" in warnings[2]
