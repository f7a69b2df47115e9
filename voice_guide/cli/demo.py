"""`voice-guide demo`: a whole session in the virtual room, faster than real time."""

from __future__ import annotations

import contextlib
import itertools
import sys
import time
from pathlib import Path

import click

from voice_guide.cli import cli, notify
from voice_guide.cli.options import FiniteRange
from voice_guide.cli.routines import read_or_exit
from voice_guide.cli.speech_in import engine_option
from voice_guide.cli.speech_out import _voice_options
from voice_guide.files import atomic_write, check_writable_target
from voice_guide.room import (
    BLOCK,
    RoomSettings,
    VirtualRoom,
    default_person,
    parse_bed,
    parse_person_line,
)
from voice_guide.runner import SessionRunner, run_audio
from voice_guide.self_voice import SelfVoiceGate
from voice_guide.session import Session
from voice_guide.speech_in.audio import SAMPLE_RATE
from voice_guide.transcript import Transcript
from voice_guide.wiring import (
    VIRTUAL_ROOM,
    guide_speaker,
    routine_recordings,
    routine_voice,
    start_listener,
)


@cli.command()
@click.argument("routine", default="back-massage")
@click.option(
    "--say",
    "lines",
    multiple=True,
    metavar="'M:SS PHRASE'",
    help="Something the simulated person says, e.g. '0:40 a little lighter'.",
)
@click.option("--no-person", is_flag=True, help="Nobody speaks: only the guide and its echo.")
@click.option("--echo-gain", type=FiniteRange(0.0, 2.0), default=0.5, show_default=True)
@click.option("--echo-delay", type=FiniteRange(0.0, 1.0), default=0.05, show_default=True)
@click.option(
    "--bed", help="Background: pink:SNR or music:SNR (dB below the person), e.g. pink:15."
)
@engine_option
@click.option("--person-voice", default="rms", show_default=True, help="flite voice of the person.")
@_voice_options
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Room audio (WAV).")
@click.option("--transcript", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--max-minutes", type=FiniteRange(0.1, 600), default=240, show_default=True)
@click.option("--quiet", is_flag=True, help="No live transcript on stdout.")
def demo(
    routine: str,
    lines: tuple[str, ...],
    no_person: bool,
    echo_gain: float,
    echo_delay: float,
    bed: str | None,
    engine: str,
    person_voice: str,
    voice: str | None,
    rate: int | None,
    volume: float | None,
    out: Path | None,
    transcript: Path | None,
    max_minutes: float,
    quiet: bool,
) -> None:
    """Run a whole session of ROUTINE in a virtual room, faster than real time: the guide's
    voice echoes back into a simulated microphone where a simulated person speaks."""
    loaded = read_or_exit(routine)
    model = loaded.routine
    for target in (out, transcript):
        try:
            if target is not None:
                check_writable_target(target)
        except OSError as error:
            click.echo(f"voice-guide: cannot write {target}: {error.strerror}.", err=True)
            sys.exit(1)
    try:
        person = [parse_person_line(line) for line in lines]
        settings = RoomSettings(echo_gain, echo_delay, parse_bed(bed), person_voice)
    except ValueError as error:
        raise click.BadParameter(str(error)) from None
    if not person and not no_person:
        person = default_person(model)
    # Their errors (no synthesizer, no model) are one sentence from the command group.
    settings_voice = routine_voice(model, voice, rate, volume)
    recordings = routine_recordings(loaded, notify)
    speaker = guide_speaker(model, settings_voice, SAMPLE_RATE, VIRTUAL_ROOM, recordings)
    room = VirtualRoom(speaker.playback, settings, person)
    listener = start_listener(engine, model, notify)
    record = Transcript(transcript, echo=None if quiet else sys.stdout)
    runner = SessionRunner(Session(model), speaker, record)
    reported = 0

    def report_person(now: float) -> None:
        nonlocal reported
        for line in room.spoken[reported:]:
            record.write(
                line.start,
                "person",
                phrase=line.text,
                start=round(line.start, 3),
                end=round(line.end, 3),
            )
        reported = len(room.spoken)

    started = time.monotonic()
    # The room's audio goes to a temporary file renamed over --out only when the run is over.
    with (
        atomic_write(out) if out else contextlib.nullcontext() as wav,
        # Closed on every way out (a signal too): the WAV header is completed before the
        # rename, and a generator left to the garbage collector would write to a closed file.
        contextlib.closing(room.chunks(record=wav)) as chunks,
    ):
        blocks = itertools.islice(chunks, int(max_minutes * 60 * SAMPLE_RATE / BLOCK))
        end = run_audio(
            runner,
            listener,
            blocks,
            SelfVoiceGate(speaker.playback, language=listener.recognizer.language),
            on_block=report_person,
            stand_in_next=True,  # the simulated person never says "next" at a waiting step
        )
    record.close()
    wall = time.monotonic() - started
    click.echo(
        f"voice-guide: {end / 60:.1f} minutes of session in {wall:.1f} s "
        f"({end / max(wall, 1e-9):.0f}x real time)",
        err=True,
    )
    if not runner.ended:
        click.echo("voice-guide: the session did not end within --max-minutes.", err=True)
        sys.exit(1)
