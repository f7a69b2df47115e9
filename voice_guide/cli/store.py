"""`voice-guide history` and `voice-guide profile`: what the session database remembers."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, replace
from datetime import datetime, timezone

import click

from voice_guide.cli import cli, hints, notify
from voice_guide.cli.enroll import describe_enrollment
from voice_guide.cli.options import Utf8Text
from voice_guide.cli.routines import known_routines
from voice_guide.errors import VoiceGuideError
from voice_guide.routine.areas import UnknownArea, resolve_areas, routine_areas
from voice_guide.routine.model import MAX_LEVEL, MIN_LEVEL
from voice_guide.safe_text import printable
from voice_guide.speech_in.enrollment import Enrollment, from_stored
from voice_guide.store import Profile, SessionRecord, normalize_name
from voice_guide.wiring import open_store

MAX_LIMIT = 1_000_000
"""Most sessions `history` lists at once (SQLite cannot take a limit past 2**63)."""


def _clock(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _steps(record: SessionRecord) -> str:
    """'3/12'; '3/?' for a killed session (its checkpoint says what was done, not the total)."""
    if record.steps_done is None:
        return "?"
    return f"{record.steps_done}/{'?' if record.steps_total is None else record.steps_total}"


def _levels(pressure: dict[str, int]) -> str:
    return ", ".join(f"{area} {level}" for area, level in sorted(pressure.items()))


def _table(records: list[SessionRecord]) -> str:
    header = ("started", "routine", "recipient", "duration", "steps", "pressure", "status")
    rows = [
        (
            time.strftime("%Y-%m-%d %H:%M", time.localtime(r.started)),
            # Stored text may come from an older version that printed anything: never raw.
            printable(r.routine_title),
            printable(r.recipient or "-"),
            _clock(r.duration),
            _steps(r),
            _levels(r.pressure_by_area) or "-",
            r.status,
        )
        for r in records
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    )


@cli.command()
@click.option(
    "--recipient", type=Utf8Text(), metavar="NAME", help="Only the sessions given to this person."
)
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, MAX_LIMIT))
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array instead of a table.")
def history(recipient: str | None, limit: int, as_json: bool) -> None:
    """List past sessions, newest first: routine, recipient, duration, steps, pressure."""
    # A database that cannot be used is one sentence from the command group's handler.
    with open_store(notify) as store:
        records = store.history(recipient, limit=limit)
    if as_json:
        items = [
            {
                **asdict(r),
                "started": datetime.fromtimestamp(r.started, timezone.utc).isoformat(
                    timespec="seconds"
                ),
            }
            for r in records
        ]
        click.echo(json.dumps(items, indent=2, ensure_ascii=False))
    elif records:
        click.echo(_table(records))
    else:
        click.echo(f"No sessions{' with ' + recipient if recipient else ''} yet.")
    for record in records:
        if record.problems:
            click.echo(
                f"voice-guide: session {record.session_id} is shown without what could not be "
                f"read ({'; '.join(record.problems)}).",
                err=True,
            )


def _parse_pressure(
    _ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]
) -> dict[str, int]:
    levels = {}
    for value in values:
        area, sep, level = value.rpartition("=")
        if not sep or not area.strip() or not level.strip().lstrip("-").isdigit():
            raise click.BadParameter(
                f"{value!r} is not AREA=LEVEL; write it like shoulders=2.",
            )
        number = int(level)
        if not MIN_LEVEL <= number <= MAX_LEVEL:
            raise click.BadParameter(
                f"{value!r}: pressure levels go from {MIN_LEVEL} to {MAX_LEVEL}; "
                "write it like shoulders=2."
            )
        levels[normalize_name(area)] = number
    return levels


def _areas(values: tuple[str, ...], option: str) -> set[str]:
    if not all(value.strip() for value in values):
        raise click.BadParameter("an area cannot be empty.", param_hint=option)
    return {normalize_name(value) for value in values}


def _checked(avoid: set[str], pressure: dict[str, int]) -> tuple[set[str], dict[str, int]]:
    """Areas spelled as the routines spell them and levels on their scales; an unknown area
    or a level beyond every scale ends the command (exit 1) with a did-you-mean."""
    routines = known_routines()
    known = set().union(*(routine_areas(r) for r in routines))
    where = f"any routine (`{hints.command('preview', 'ROUTINE')}` lists each step's areas)"
    try:
        avoided = set(resolve_areas(avoid, known, where))
        areas = resolve_areas(pressure, known, where)
    except UnknownArea as error:
        raise VoiceGuideError(str(error)) from None
    top = max((r.pressure.top for r in routines if r.pressure), default=MAX_LEVEL)
    for area, level in pressure.items():
        if level > top:
            raise VoiceGuideError(
                f"{area}={level}: the pressure scales go from 1 to {top} — "
                f"choose a level from 1 to {top}, e.g. {area}=2"
            )
    return avoided, dict(zip(areas, pressure.values(), strict=True))


def _voice_line(enrollment: Enrollment) -> str:
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(enrollment.created))
    return f"  voice:    {describe_enrollment(enrollment)}, enrolled {when}"


def _describe(profile: Profile) -> str:
    lines = [profile.name]
    lines.append(f"  avoid:    {', '.join(sorted(profile.avoid)) or '-'}")
    lines.append(f"  pressure: {_levels(profile.pressure) or '-'}")
    if profile.updated is not None:
        updated = time.strftime("%Y-%m-%d %H:%M", time.localtime(profile.updated))
        lines.append(f"  updated:  {updated}")
    return "\n".join(lines)


@cli.command()
@click.argument("name", type=Utf8Text())
@click.option(
    "--avoid",
    multiple=True,
    type=Utf8Text(),
    metavar="AREA",
    help="Leave this area out (repeatable).",
)
@click.option(
    "--allow",
    multiple=True,
    type=Utf8Text(),
    metavar="AREA",
    help="Stop avoiding an area (repeatable).",
)
@click.option(
    "--pressure",
    multiple=True,
    metavar="AREA=LEVEL",
    callback=_parse_pressure,
    help="Preferred pressure level for an area, e.g. shoulders=2 (repeatable).",
)
@click.option("--show", is_flag=True, help="Print the profile (the default when nothing changes).")
@click.option("--forget-voice", is_flag=True, help="Delete NAME's voice enrollment.")
def profile(
    name: str,
    avoid: tuple[str, ...],
    allow: tuple[str, ...],
    pressure: dict[str, int],
    show: bool,
    forget_voice: bool,
) -> None:
    """Show or change what NAME prefers: areas to avoid and pressure per area."""
    if not name.strip():
        raise click.BadParameter("give the recipient's name.", param_hint="NAME")
    changed = bool(avoid or allow or pressure)
    # A database that cannot be used is one sentence from the command group's handler.
    with open_store(notify) as store:
        current = store.profile(name)
        enrollment = from_stored(name, store.voice(name))
        if forget_voice:
            store.save_voice(name, [])
        if changed:
            allowed, avoided = _areas(allow, "--allow"), _areas(avoid, "--avoid")
            avoided, pressure = _checked(avoided, pressure)
            current = store.save_profile(
                replace(
                    current,
                    avoid=frozenset((current.avoid | avoided) - allowed),
                    pressure={**current.pressure, **pressure},
                )
            )
            click.echo(f"Saved the profile of {current.name}.")
    if forget_voice:
        forgot = "Forgot the voice of" if enrollment else "No voice enrollment for"
        click.echo(f"{forgot} {current.name}.")
    if current.updated is None:
        click.echo(
            f"No profile for {current.name} yet; "
            "add one with --avoid AREA or --pressure AREA=LEVEL."
        )
    elif show or not (changed or forget_voice):
        click.echo(_describe(current))
    if enrollment is not None and not forget_voice and (show or not changed):
        click.echo(_voice_line(enrollment))
