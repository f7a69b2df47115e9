"""`voice-guide listen` and `voice-guide devices`."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import click

from voice_guide.cli import cli, notify
from voice_guide.commands import languages
from voice_guide.errors import VoiceGuideError

F = TypeVar("F", bound=Callable[..., object])


def _check_engine(_ctx: click.Context, _param: click.Parameter, name: str) -> str:
    """An unknown engine is one line naming the registered ones, before anything starts."""
    from voice_guide.speech_in.engines import AUTO, get_engine

    if name != AUTO:
        get_engine(name)  # a RecognizerError is reported by the command group's handler
    return name


def engine_option(command: F) -> F:
    """The `--engine` option shared by listen, run and demo."""
    return click.option(
        "--engine",
        default="auto",
        show_default=True,
        metavar="NAME",
        callback=_check_engine,
        help="auto: the best measured engine for the language (it says which); "
        "or an engine's name (pocketsphinx, vosk, ...).",
    )(command)


@cli.command()
@click.argument("wav", required=False, type=click.Path(path_type=Path))
@engine_option
@click.option("--language", default="en", show_default=True, help="Command phrase language.")
@click.option("--input-device", default=None, help="Microphone index or name (see `devices`).")
@click.option("--json", "as_json", is_flag=True, help="One JSON line per detected command.")
@click.option(
    "--speaker",
    metavar="NAME[,NAME...]",
    help="Listen with these people's enrolled voices (voice-guide enroll NAME).",
)
def listen(
    wav: Path | None,
    engine: str,
    language: str,
    input_device: str | None,
    as_json: bool,
    speaker: str | None,
) -> None:
    """Print the commands heard in WAV (or from the microphone until Ctrl+C)."""
    from voice_guide.cli.enroll import enrolled_prototypes
    from voice_guide.speech_in import FileSource, Listener, MicrophoneSource, create_recognizer
    from voice_guide.wiring import open_store

    if language not in languages():
        raise VoiceGuideError(
            f"no command phrases for language {language!r}; available: {', '.join(languages())}"
        )
    # Open the input first: a bad file or device is reported before a model loads. Their
    # errors (and Ctrl-C, exit 130) are reported by the command group's one handler.
    source = FileSource(wav) if wav is not None else MicrophoneSource(input_device)
    names = [n.strip() for n in (speaker or "").split(",") if n.strip()]
    prototypes = None
    if names:
        with open_store(notify) as store:
            prototypes = enrolled_prototypes(store, names)
    choice = create_recognizer(engine, language, prototypes=prototypes)
    click.echo(choice.message, err=True)
    if choice.missing_phrases:
        click.echo(
            "not in the model's vocabulary, ignored: " + ", ".join(choice.missing_phrases),
            err=True,
        )
    listener = Listener(choice.recognizer)

    def report(detections: list) -> None:
        for d in detections:
            if as_json:
                line = json.dumps(d.to_json_dict(), ensure_ascii=False)
            else:
                line = f"{d.detected_at:8.2f}s  {d.command.value:9s} heard {d.heard!r}"
            click.echo(line)
            sys.stdout.flush()

    if isinstance(source, FileSource):
        for chunk in source.chunks():
            report(listener.feed(chunk))
        report(listener.flush())
        return
    with source:
        click.echo("listening to the microphone; Ctrl+C stops", err=True)
        for chunk in source.chunks():
            report(listener.feed(chunk))


@cli.command()
def devices() -> None:
    """List audio input and output devices (index, direction, channels, rate, name)."""
    from voice_guide.speech_in.sources import describe_devices

    lines = describe_devices()
    if not lines:
        click.echo("no audio devices found (is a sound server running?)", err=True)
    for line in lines:
        click.echo(line)
