"""`voice-guide draft GUIDE -o routine.yaml`: a checked routine drafted from a how-to text."""

from __future__ import annotations

from pathlib import Path
from typing import NoReturn

import click

from voice_guide.cli import cli
from voice_guide.cli.routines import unheard_phrases
from voice_guide.draft import Drafted, Format, GuideError, draft_routine
from voice_guide.draft.reading import MAX_BYTES
from voice_guide.files import atomic_write, check_writable_target, open_regular
from voice_guide.routine.durations import format_duration
from voice_guide.routine.lint import lint
from voice_guide.routine.loader import LoadedRoutine, RoutineError, parse_routine
from voice_guide.routine.timeline import build_timeline

STDOUT = "<stdout>"


@cli.command()
@click.argument("guide", type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    help="The routine file to write (default: print the routine).",
)
@click.option("--force", is_flag=True, help="Replace OUTPUT if it already exists.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice([f.value for f in Format]),
    help="How GUIDE is written (default: from its name, .md or .html, or its content).",
)
def draft(guide: Path, output: Path | None, force: bool, fmt: str | None) -> None:
    """Draft a routine from a how-to text GUIDE: plain text, Markdown or a saved web page.

    Headings become sections, instructions steps; times, pressure words, body areas,
    safety notes, offers and quoted feedback phrases are read from the text. Each value
    has a comment with the guide line it came from; TODO marks what the guide did not say
    (listed at the end). Offline; the same guide always gives the same routine.
    """
    target = str(output) if output else STDOUT
    if output is not None:
        _refuse_existing(output, force)
    data = _read_guide(guide)
    drafted = draft_routine(data, str(guide), target, Format(fmt) if fmt else None)
    try:
        loaded = parse_routine(drafted.text, target)
    except RoutineError as error:
        for problem in error.problems:
            click.echo(str(problem), err=True)
        _fail(f"{guide}: the draft does not load (a bug in voice-guide draft); nothing written")
    if output is None:
        click.echo(drafted.text, nl=False)
    else:
        _write(output, drafted.text, force)
    _report(loaded, drafted, target)


def _refuse_existing(output: Path, force: bool) -> None:
    try:
        exists = check_writable_target(output)
    except OSError as error:
        _fail(f"{output}: cannot write there ({error.strerror}) — choose another -o file")
    if exists and not force:
        _fail(f"{output}: already exists — choose another -o file, or add --force to replace it")


def _read_guide(guide: Path) -> bytes:
    try:
        with open_regular(guide) as handle:
            return handle.read(MAX_BYTES + 1)
    except FileNotFoundError:
        _fail(f"{guide}: no such file — check the path of the how-to text")
    except OSError as error:
        _fail(f"{guide}: cannot read it ({error.strerror}) — give a text, Markdown or HTML file")


def _write(output: Path, text: str, force: bool) -> None:
    try:
        with atomic_write(output, "w", exclusive=not force) as handle:
            handle.write(text)
    except FileExistsError:
        _fail(f"{output}: appeared while drafting — choose another -o file, or add --force")
    except OSError as error:
        _fail(f"{output}: cannot write it ({error.strerror}) — choose another -o file")


def _report(loaded: LoadedRoutine, drafted: Drafted, target: str) -> None:
    """Warnings as `check` prints them, the TODO list, and one summary line, on stderr."""
    warnings = lint(loaded, unheard_phrases(loaded))
    for problem in warnings:
        click.echo(str(problem), err=True)
    for todo in drafted.todos:
        click.echo(f"{target}:{todo.line}: TODO {todo.message}", err=True)
    steps = drafted.routine.steps
    sections = sum(1 for section in drafted.routine.sections if section.title)
    total = format_duration(build_timeline(loaded.routine).total)
    where = f"wrote {target}" if target != STDOUT else "printed the routine"
    click.echo(
        f"voice-guide: {where}: {_count(len(steps), 'step')}"
        + (f" in {sections} sections" if sections else "")
        + f", about {total}; {len(drafted.todos)} TODO, {_count(len(warnings), 'warning')}."
        + (f" Next: edit it, then `voice-guide check {target}`." if target != STDOUT else ""),
        err=True,
    )


def _count(number: int, what: str) -> str:
    return f"{number} {what}" + ("" if number == 1 else "s")


def _fail(message: str) -> NoReturn:
    raise GuideError(message)
