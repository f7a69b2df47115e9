"""`voice-guide check | preview | new | schema | list`: writing and inspecting routines."""

from __future__ import annotations

import json
import os
import sys
import textwrap
import unicodedata
from importlib import resources
from pathlib import Path
from typing import Any

import click

from voice_guide import paths
from voice_guide.cli import cli, hints
from voice_guide.files import atomic_write, check_writable_target
from voice_guide.library import available_routines, read_routine
from voice_guide.recordings import recording_problems
from voice_guide.routine.areas import UnknownArea, resolve_areas, routine_areas
from voice_guide.routine.durations import format_duration
from voice_guide.routine.lint import lint
from voice_guide.routine.loader import (
    NAME_PATTERN,
    LoadedRoutine,
    RoutineError,
    builtin_names,
)
from voice_guide.routine.model import Routine, Step
from voice_guide.routine.timeline import WAIT_ESTIMATE, build_timeline
from voice_guide.routine.vocabulary import routine_vocabulary
from voice_guide.session import ASK_TIMEOUT, Profile

SCHEMA_FILE = "routine.schema.json"
"""Written next to routines made by `new`, named by their yaml-language-server line."""
SCHEMA_DRAFT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_ID = "urn:voice-guide:routine"


def read_or_exit(path_or_name: str) -> LoadedRoutine:
    """A routine by name or path; its problems on stderr, one per line, then exit 1."""
    try:
        return read_routine(path_or_name)
    except RoutineError as error:
        for problem in error.problems:
            click.echo(str(problem), err=True)
        sys.exit(1)


def known_routines() -> list[Routine]:
    """Every built-in and user routine that loads (for checking typed area names)."""
    found = []
    for info in available_routines():
        try:
            found.append(read_routine(Path(info.path)).routine)
        except RoutineError:
            continue  # `voice-guide list` and `check` report it; it knows no areas here
    return found


@cli.command()
@click.argument("files", nargs=-1, required=True)
@click.option("--strict", is_flag=True, help="Fail on warnings too.")
def check(files: tuple[str, ...], strict: bool) -> None:
    """Validate and lint routine FILES (paths or routine names).

    Prints each problem as path:line:column, or 'ok' for a clean file. Exit code 1 when
    a file has errors (or, with --strict, warnings).
    """
    failed = False
    for name in files:
        try:
            loaded = read_routine(name)
        except RoutineError as error:
            for problem in error.problems:
                click.echo(str(problem))
            failed = True
            continue
        warnings = lint(loaded, unheard_phrases(loaded)) + recording_problems(loaded)
        for problem in warnings:
            click.echo(str(problem))
        if not warnings:
            click.echo(f"{loaded.source}: ok")
        failed = failed or (strict and bool(warnings))
    sys.exit(1 if failed else 0)


def unheard_phrases(loaded: LoadedRoutine) -> set[str]:
    """The routine's own phrases the speech engine cannot hear. The engine is started only
    for a routine that has phrases; when it cannot start, one warning line says why."""
    extra = loaded.routine.extra_phrases()
    if not extra:
        return set()
    from voice_guide.speech_in.engines import create_recognizer
    from voice_guide.speech_in.recognizer import RecognizerError

    try:
        words = routine_vocabulary(loaded.routine)
        choice = create_recognizer("auto", loaded.routine.language, words)
    except (LookupError, RecognizerError) as error:
        click.echo(f"{loaded.source}: warning: the phrases were not checked ({error})")
        return set()
    return set(extra) & set(choice.missing_phrases)


@cli.command()
@click.argument("routine")
@click.option("--avoid", multiple=True, metavar="AREA", help="For a recipient who avoids AREA.")
def preview(routine: str, avoid: tuple[str, ...]) -> None:
    """Show the timeline of ROUTINE (a name or a file): sections, steps and their body
    areas, start times, durations, pressure and cues, and the total, as it runs when nobody
    speaks (with --avoid: for a recipient who avoids those areas)."""
    model = read_or_exit(routine).routine
    try:
        areas = resolve_areas(avoid, routine_areas(model), f"the routine {model.title!r}")
    except UnknownArea as error:
        click.echo(f"voice-guide: {error}", err=True)
        sys.exit(1)
    for line in preview_lines(model, frozenset(areas)):
        click.echo(line)


def preview_lines(routine: Routine, avoid: frozenset[str] = frozenset()) -> list[str]:
    """The preview table, line by line."""
    timeline = build_timeline(routine, Profile(avoid=avoid))
    spans = {span.step_id: span for span in timeline.steps}
    steps = routine.all_steps
    sections = len(routine.sections) or 1
    lines = [
        f"{routine.title} — {len(steps)} steps in {sections} "
        f"section{'s' if sections > 1 else ''}, total {format_duration(timeline.total)}",
        "",
        f"{'start':>6}  {'length':>7}  {'step':<26}  {'areas':<18}  {'pressure':<22}  cues",
        f"{'-' * 6}  {'-' * 7}  {'-' * 26}  {'-' * 18}  {'-' * 22}  {'-' * 30}",
    ]
    current = None
    for index, step in enumerate(steps):
        section = routine.section_of(index)
        if section and section != current:
            lines.append(f"{'':>6}  {'':>7}  [{section}]")
            current = section
        span = spans.get(step.id)
        start = _clock(span.start) if span else "-"
        if step.duration is None:
            length = f"~{format_duration(span.duration)}" if span else "wait"
        else:
            length = format_duration(step.duration)
        cues = [
            f"{format_duration(cue.at.offset(step.duration or 0))} {_short(cue.say, 44)}"
            for cue in sorted(step.cues, key=lambda c: c.at.offset(step.duration or 0))
        ]
        spared = [area for area in step.all_areas if area in avoid]
        notes = [f"left out: avoids {', '.join(spared)}"] if spared else []
        if step.offer and not spared:
            notes.append(_offered(routine, step, asked=span is not None))
        if step.duration is None:
            notes.append("waits for next")
        rows = cues + notes or [""]
        pressure = _pressure(routine, step)
        areas = _short(", ".join(step.all_areas), 18) or "-"
        lines.append(
            f"{start:>6}  {length:>7}  {_pad(_short(step.name, 26), 26)}  {_pad(areas, 18)}  "
            f"{_pad(pressure, 22)}  {rows[0]}"
        )
        lines += [f"{'':>6}  {'':>7}  {'':<26}  {'':<18}  {'':<22}  {row}" for row in rows[1:]]
    lines += [
        "",
        f"Total: {format_duration(timeline.total)} if nobody speaks ('wait for next' "
        f"steps counted as their speech plus {WAIT_ESTIMATE:g}s).",
    ]
    return [line.rstrip() for line in lines]


def _clock(seconds: float) -> str:
    whole = round(seconds)
    return f"{whole // 60}:{whole % 60:02d}"


def _pad(text: str, width: int) -> str:
    """`text` left-aligned in `width` terminal columns (Korean letters take two)."""
    columns = sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)
    return text + " " * max(0, width - columns)


def _short(text: str, width: int) -> str:
    return textwrap.shorten(" ".join(text.split()), width=width, placeholder="…")


def _pressure(routine: Routine, step: Step) -> str:
    scale = routine.pressure
    if scale is None or step.pressure is None:
        return "-"
    low = step.pressure.min or 1
    high = step.pressure.max or scale.top
    limits = f"{scale.name(low)}–{scale.name(high)}" if low != high else scale.name(low)
    start = step.pressure.start
    return f"{scale.name(start)} ({limits})" if start else limits


def _offered(routine: Routine, step: Step, *, asked: bool) -> str:
    if asked:
        return f"asked first, done on yes (no answer in {ASK_TIMEOUT:g}s is a no)"
    assert step.offer is not None
    if step.offer.min_pressure and routine.pressure:
        level = routine.pressure.name(step.offer.min_pressure)
        return f"offered once {level} pressure is asked for (left out when nobody speaks)"
    return "left out when nobody speaks"


@cli.command()
@click.argument("name")
@click.option(
    "--dir",
    "folder",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where to write it (default: the user routines folder).",
)
def new(name: str, folder: Path | None) -> None:
    """Write a commented starter routine NAME.yaml that passes `check`."""
    if not NAME_PATTERN.fullmatch(name):
        click.echo(
            f"{name!r} is not a routine name — use lower-case letters, digits, '-' and '_', "
            "e.g. 'evening-back'",
            err=True,
        )
        sys.exit(1)
    folder = folder or paths.routines_dir()
    target = folder / f"{name}.yaml"
    if os.path.lexists(target):
        click.echo(f"{target}: already exists — choose another name or remove it", err=True)
        sys.exit(1)
    title = name.replace("-", " ").replace("_", " ").capitalize()
    text = starter_text().replace("\ntitle: My routine\n", f"\ntitle: {json.dumps(title)}\n")
    schema_path = folder / SCHEMA_FILE
    written = target
    try:
        folder.mkdir(parents=True, exist_ok=True)
        written = schema_path
        check_writable_target(schema_path)  # refuse a planted link before writing anything
        written = target
        with atomic_write(target, "w", exclusive=True) as handle:  # never overwrite
            handle.write(text)
        written = schema_path
        with atomic_write(schema_path, "w") as handle:
            handle.write(schema_text() + "\n")
    except OSError as error:
        click.echo(f"{written}: cannot write ({error.strerror}) — choose another --dir", err=True)
        sys.exit(1)
    click.echo(f"Wrote {target}")
    if name in builtin_names() and folder == paths.routines_dir():
        click.echo(f"It hides the built-in routine {name!r} (remove the file to get it back).")
    check, preview = hints.command("check", str(target)), hints.command("preview", name)
    click.echo(f"Next: edit it, then `{check}` and `{preview}`")


def starter_text() -> str:
    """The commented starter routine written by `new`."""
    return resources.files("voice_guide.routine").joinpath("starter.yaml").read_text("utf-8")


@cli.command()
def schema() -> None:
    """Print the routine JSON Schema (for editors: yaml-language-server)."""
    click.echo(schema_text())


def routine_schema() -> dict[str, Any]:
    """The JSON Schema of a routine file, with $schema, $id and a title."""
    body = Routine.model_json_schema()
    body.pop("title", None)
    return {
        "$schema": SCHEMA_DRAFT,
        "$id": SCHEMA_ID,
        "title": "voice-guide routine",
        **body,
    }


def schema_text() -> str:
    """The schema as indented JSON."""
    return json.dumps(routine_schema(), indent=2, ensure_ascii=False)


@cli.command(name="list")
def list_routines() -> None:
    """List built-in and user routines, with their titles and total durations."""
    infos = available_routines()
    user_names = {info.name for info in infos if not info.builtin}
    rows = []
    for info in infos:
        where = "built-in" if info.builtin else "user"
        if info.builtin and info.name in user_names:
            where = "built-in (hidden by user)"
        try:
            routine = read_routine(Path(info.path)).routine
        except RoutineError as error:
            rows.append(
                (
                    info.name,
                    where,
                    f"({len(error.problems)} problems: {hints.command('check', info.path)})",
                    "",
                )
            )
            continue
        total = format_duration(build_timeline(routine).total)
        rows.append((info.name, where, routine.title, total))
    name_width = max(len(row[0]) for row in rows)
    where_width = max(len(row[1]) for row in rows)
    for name, where, title, total in rows:
        click.echo(f"{name:<{name_width}}  {where:<{where_width}}  {total:>7}  {title}")
    click.echo(
        f"\nUser routines folder: {paths.routines_dir()} "
        f"(set {paths.ENV_VAR} to move it; `{hints.command('new', 'NAME')}` starts one)"
    )
