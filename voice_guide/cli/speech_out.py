"""`voice-guide voices`, `voice-guide say` and `voice-guide render`: the guide's voice."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from voice_guide.cli import cli
from voice_guide.cli.options import FiniteRange
from voice_guide.errors import Terminated
from voice_guide.files import atomic_write
from voice_guide.speech_out.errors import SpeechOutError

if TYPE_CHECKING:
    from voice_guide.routine.timeline import Timeline
    from voice_guide.speech_out.track import TrackItem


def _voice_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """--voice, --rate, --volume: override the routine's (or the default) voice settings."""
    command = click.option("--volume", type=FiniteRange(0.0, 1.0), help="Loudness, 0.0 to 1.0.")(
        command
    )
    command = click.option(
        "--rate", type=click.IntRange(60, 400), help="Speaking rate, words per minute."
    )(command)
    return click.option("--voice", help="Voice id, name or language (see `voice-guide voices`).")(
        command
    )


@cli.command()
@click.option("--language", help="Only voices for this language, e.g. en or ko.")
def voices(language: str | None) -> None:
    """List the installed voices (espeak-ng)."""
    from voice_guide.speech_out.renderer import installed_voices

    found = [v for v in installed_voices() if language is None or v.speaks(language)]
    if not found:
        click.echo(f"voice-guide: no installed voice speaks {language!r}.", err=True)
        sys.exit(1)
    width = max(len(v.id) for v in found)
    for voice in sorted(found, key=lambda v: v.id):
        click.echo(f"{voice.id:<{width}}  {voice.name}  ({', '.join(voice.languages)})")


@cli.command()
@click.argument("text")
@_voice_options
@click.option("--output-device", help="Output device index or name (default: the system's).")
def say(
    text: str, voice: str | None, rate: int | None, volume: float | None, output_device: str | None
) -> None:
    """Speak TEXT once: a quick check of voice and speaker."""
    from voice_guide.speech_out.device import OutputDevice, find_output_device
    from voice_guide.speech_out.playback import Playback
    from voice_guide.speech_out.renderer import EspeakRenderer, VoiceSettings

    renderer = EspeakRenderer(VoiceSettings().overridden(voice, rate, volume))
    device = find_output_device(output_device)
    audio = renderer.render(text).resampled(device.sample_rate)
    playback = Playback(device.sample_rate)
    with OutputDevice(playback, device) as output:
        try:
            output.play_and_wait(audio.samples, text)
        except (KeyboardInterrupt, Terminated):
            playback.stop()  # silent at once; the command group says why and exits 130/143
            raise


@cli.command()
@click.argument("routine")
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="The WAV file to write.",
)
@_voice_options
@click.option("--no-earcons", is_flag=True, help="No tones between steps.")
@click.option(
    "--bed",
    type=click.Choice(["none", "pink"]),
    default="none",
    show_default=True,
    help="What plays while the hands work: silence or soft pink noise.",
)
@click.option("--sample-rate", type=click.IntRange(8000, 48000), default=22050, show_default=True)
def render(
    routine: str,
    output: Path,
    voice: str | None,
    rate: int | None,
    volume: float | None,
    no_earcons: bool,
    bed: str,
    sample_rate: int,
) -> None:
    """Render a whole session of ROUTINE to one WAV track, to follow from any music player.
    Lines recorded with `voice-guide record` play in the recorded voice."""
    from voice_guide.cli import notify
    from voice_guide.cli.routines import read_or_exit
    from voice_guide.routine.timeline import build_timeline
    from voice_guide.speech_out.cache import RenderCache
    from voice_guide.speech_out.track import render_track
    from voice_guide.wiring import routine_recordings, routine_voice, session_renderer

    loaded = read_or_exit(routine)
    model = loaded.routine
    if rate is not None:  # the timeline's speech estimates must use the rate we render at
        model = model.model_copy(update={"voice": model.voice.model_copy(update={"rate": rate})})
    settings = routine_voice(model, voice, rate, volume)
    renderer = session_renderer(model, settings, routine_recordings(loaded, notify))
    timeline = build_timeline(model)
    items = track_items(timeline, earcons=not no_earcons)
    cache = RenderCache(renderer, sample_rate)
    started = time.monotonic()
    try:
        # Written beside the target and renamed at the end: a failure leaves no half track
        # that looks complete, and never deletes what was at `output`.
        with (
            atomic_write(output) as file,
            click.progressbar(
                length=len(items), label=f"Rendering {model.title}", file=sys.stderr
            ) as bar,
        ):
            seconds = render_track(
                items,
                timeline.total,
                cache,
                file,
                end_earcon=None if no_earcons else "end",
                bed=bed,
                progress=bar.update,
            )
    except OSError as exc:
        raise SpeechOutError(f"Could not write {output}: {exc.strerror or exc}.") from exc
    minutes, secs = divmod(round(seconds), 60)
    click.echo(
        f"Wrote {output}: {minutes}:{secs:02d} of audio, {len(items)} utterances, "
        f"rendered in {time.monotonic() - started:.1f} s.",
        err=True,
    )


def track_items(timeline: Timeline, earcons: bool) -> list[TrackItem]:
    """A session's timeline as a track: every sentence at its time, the step earcon before
    the first sentence of each step after the first."""
    from voice_guide.speech_out.track import TrackItem

    items = []
    step_id = timeline.entries[0].step_id if timeline.entries else None
    for entry in timeline.entries:
        chime = "step" if earcons and entry.step_id != step_id else None
        items.append(TrackItem(entry.t, entry.text, chime))
        step_id = entry.step_id
    return items
