"""`voice-guide enroll NAME`: the person's own voice, from the microphone or a folder of WAVs.

Only the takes' embeddings are kept (with the recipient's profile), unless `--keep-audio`
says the person agreed to keeping the recordings too. `profile NAME` shows the enrollment
and `profile NAME --forget-voice` deletes it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import click
import numpy as np

from voice_guide.cli import cli, notify
from voice_guide.cli.options import Utf8Text
from voice_guide.commands import Command
from voice_guide.speech_in.enrollment import (
    Enrollment,
    EnrollmentError,
    Take,
    capture_takes,
    from_stored,
    merge_prototypes,
    new_enrollment,
    prompt_plan,
    takes_from_directory,
    to_stored,
)
from voice_guide.speech_out.device import OutputDeviceInfo
from voice_guide.store import Store
from voice_guide.wiring import open_store

__all__ = [
    "describe_enrollment",
    "enroll",
    "enroll_before_session",
    "enrolled_prototypes",
    "recipient_prototypes",
]


@cli.command()
@click.argument("name", type=Utf8Text())
@click.option(
    "--from-dir",
    type=click.Path(path_type=Path),
    metavar="DIR",
    help="Take <command>.wav or <command>-<n>.wav files (one utterance each) from DIR.",
)
@click.option(
    "--keep-audio",
    is_flag=True,
    help="Also keep the recordings (only if the person agrees); otherwise only embeddings.",
)
@click.option("--takes", default=2, show_default=True, type=click.IntRange(1, 5))
@click.option("--language", default="en", show_default=True, help="Language of the prompts.")
@click.option("--input-device", help="Microphone: index or part of its name (voice-guide devices).")
@click.option("--output-device", help="Speaker for the prompts (default: print them).")
def enroll(
    name: str,
    from_dir: Path | None,
    keep_audio: bool,
    takes: int,
    language: str,
    input_device: str | None,
    output_device: str | None,
) -> None:
    """Learn NAME's voice: a few commands said once, from the microphone (prompted) or
    from a folder of WAV files. Replaces an earlier enrollment of NAME."""
    from voice_guide.speech_in.embedding import SpeechEmbedding

    if not name.strip():
        raise click.BadParameter("give the person's name.", param_hint="NAME")
    embed = SpeechEmbedding().utterance_vector
    if from_dir is not None:
        found = takes_from_directory(from_dir, embed, keep_audio)
    else:
        from voice_guide.speech_out.device import find_output_device

        device = find_output_device(output_device) if output_device else None
        found = _from_microphone(embed, keep_audio, takes, language, input_device, device)
    with open_store(notify) as store:
        _save(store, name, found)


def _save(store: Store, name: str, takes: Sequence[Take]) -> None:
    enrollment = new_enrollment(" ".join(name.split()), takes)
    store.save_voice(name, to_stored(enrollment))
    click.echo(f"Enrolled {enrollment.name}: {describe_enrollment(enrollment)}.")


def enroll_before_session(
    store: Store,
    recipient: str | None,
    language: str,
    input_device: str | None,
    output: OutputDeviceInfo | None,
) -> None:
    """`run --enroll`: the guide asks the recipient for a few commands before the session
    starts (a step outside the session's state machine) and keeps their voice."""
    from voice_guide.speech_in.embedding import SpeechEmbedding

    if recipient is None:
        raise EnrollmentError("--enroll needs --recipient NAME: whose voice to learn")
    embed = SpeechEmbedding().utterance_vector
    notify(f"learning {recipient}'s voice before the session")
    _save(store, recipient, _from_microphone(embed, False, 1, language, input_device, output))


def _from_microphone(
    embed: Callable[[np.ndarray], np.ndarray],
    keep_audio: bool,
    takes: int,
    language: str,
    input_device: str | None,
    output: OutputDeviceInfo | None,
) -> list[Take]:
    from voice_guide.speech_in.sources import MicrophoneSource

    def listen() -> Iterator[np.ndarray]:
        with MicrophoneSource(input_device) as microphone:
            yield from microphone.chunks()

    def missed(command: Command, phrase: str) -> None:
        notify(f"heard nothing for {phrase!r} ({command.value}); going on")

    try:
        plan = prompt_plan(language, takes=takes)
    except LookupError as error:
        raise EnrollmentError(str(error)) from None
    return capture_takes(
        plan, _prompter(output), listen, embed, keep_audio=keep_audio, on_miss=missed
    )


def _prompter(device: OutputDeviceInfo | None) -> Callable[[str], None]:
    """Speaks a prompt through `device` and returns when it is over; without a device it
    prints the prompt on stderr."""
    if device is None:
        return lambda text: click.echo(text, err=True)
    from voice_guide.speech_out.device import OutputDevice
    from voice_guide.speech_out.playback import Playback
    from voice_guide.speech_out.renderer import EspeakRenderer

    renderer = EspeakRenderer()

    def say(text: str) -> None:
        click.echo(text, err=True)
        playback = Playback(device.sample_rate)
        with OutputDevice(playback, device) as output:
            output.play_and_wait(renderer.render(text).resampled(device.sample_rate).samples, text)

    return say


def describe_enrollment(enrollment: Enrollment) -> str:
    """'12 takes (lighter 2, pain 2, ...), embeddings only' for `enroll` and `profile`."""
    counts = ", ".join(f"{c.value} {n}" for c, n in enrollment.counts().items())
    kept = "recordings kept" if enrollment.kept_audio else "embeddings only, no audio kept"
    return f"{len(enrollment.takes)} takes ({counts}), {kept}"


def recipient_prototypes(store: Store, name: str | None) -> dict[Command, list[np.ndarray]]:
    """The enrolled voice of `name` as prototypes for the engine (empty: not enrolled)."""
    enrollment = from_stored(name, store.voice(name)) if name else None
    return enrollment.prototypes() if enrollment else {}


def enrolled_prototypes(store: Store, names: Sequence[str]) -> dict[Command, list[np.ndarray]]:
    """The merged voices of `names`; EnrollmentError naming anyone not enrolled."""
    found = [(name, from_stored(name, store.voice(name))) for name in names]
    missing = [name for name, enrollment in found if enrollment is None]
    if missing:
        raise EnrollmentError(
            f"no voice enrollment for {', '.join(missing)}; "
            f"enroll with: voice-guide enroll {missing[0]!r} --from-dir DIR (or the microphone)"
        )
    return merge_prototypes(e for _, e in found if e is not None)
