"""`voice-guide record ROUTINE`: the guide in the giver's own recorded voice.

Walks through every line the routine can say (see spoken_lines): shows it, says it in the
synthetic voice, records the giver reading it (starts on speech, stops on silence), trims it,
brings it to the synthetic voice's loudness and plays it back; Enter keeps it, r records
again, s skips, q stops (what is kept stays kept: running `record` again continues with the
lines still missing). `--from-dir DIR` imports clips recorded elsewhere instead.
"""

from __future__ import annotations

import queue
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

import click
import numpy as np

from voice_guide.audio import AudioFormatError, read_wav
from voice_guide.cli import cli
from voice_guide.cli.routines import read_or_exit
from voice_guide.cli.speech_out import _voice_options
from voice_guide.recordings import CLIP_RATE, RecordingStore, match_files, open_recordings
from voice_guide.speech_in.sources import MicrophoneSource
from voice_guide.speech_in.take import Take, TakeSettings, record_take, take_problem, trim_to_speech
from voice_guide.speech_in.vad import SileroVad
from voice_guide.speech_out.device import OutputDevice, find_output_device
from voice_guide.speech_out.loudness import loudness, matched
from voice_guide.speech_out.playback import Playback
from voice_guide.speech_out.recorded import voice_level
from voice_guide.speech_out.renderer import EspeakRenderer, Renderer
from voice_guide.spoken_lines import Line, spoken_lines

ANSWERS = "Enter keeps it, r records it again, s skips this line, q stops (continue later)."
RETRY = "Enter tries again, s skips this line, q stops (continue later)."


class _Keyboard:
    """The giver's answers, typed one per line, read on a thread so that recording can
    notice a typed s or q while it waits for speech. End of input reads as q."""

    def __init__(self, lines: TextIO) -> None:
        self._lines: queue.Queue[str] = queue.Queue()
        self._held: str | None = None
        threading.Thread(target=self._read, args=(lines,), name="keyboard", daemon=True).start()

    def _read(self, lines: TextIO) -> None:
        for line in lines:
            self._lines.put(line.strip().lower())
        self._lines.put("q")

    def answer(self, prompt: str) -> str:
        """The next answer ('' for Enter), asking with `prompt` unless it was already typed."""
        if self._held is not None:
            answer, self._held = self._held, None
            return answer
        click.echo(prompt)
        return self._lines.get()

    def wants_out(self) -> bool:
        """True when s or q was typed (kept as the next answer). Anything else typed while
        recording answers no question yet asked: it is dropped."""
        while self._held is None:
            try:
                answer = self._lines.get_nowait()
            except queue.Empty:
                return False
            self._held = answer if answer in ("s", "q") else None
        return True


class _Session:
    """One sitting of recording: the devices, the voice and the level to match."""

    def __init__(
        self,
        store: RecordingStore,
        renderer: Renderer,
        level: float,
        output: OutputDevice,
        input_device: str | None,
        wait: float,
    ) -> None:
        from voice_guide.speech_in.vad import SileroVad

        self.store = store
        self._renderer = renderer
        self._level = level
        self._output = output
        self._rate = output.device.sample_rate
        self._input = input_device
        self._settings = TakeSettings(wait=wait)
        self._vad = SileroVad()
        self.keyboard = _Keyboard(sys.stdin)

    def line(self, line: Line) -> str:
        """Say, record, check, play back, ask; returns 'kept', 'skipped' or 'quit'."""
        voice = self._renderer.render(line.text).resampled(self._rate)
        self._output.play_and_wait(voice.samples, line.text)
        while True:
            take = self._take()
            problem = take.problem or (take_problem(take.audio) if take.audio else None)
            if take.audio is None or problem:
                if problem:
                    click.echo(problem)
                answer = self.keyboard.answer(RETRY)
            else:
                clip = matched(take.audio, loudness(take.audio), self._level)
                click.echo(f"Playing it back ({clip.seconds:.1f} s).")
                self._output.play_and_wait(clip.resampled(self._rate).samples, line.text)
                answer = self.keyboard.answer(ANSWERS)
                if answer == "":
                    self.store.add(line, clip, loudness(clip))
                    click.echo("Kept.")
                    return "kept"
            if answer in ("q", "s"):
                return "quit" if answer == "q" else "skipped"

    def _take(self) -> Take:
        # A new input stream for every take: nothing of the guide's voice or the playback
        # just before is in it.
        with MicrophoneSource(self._input) as microphone:
            chunks = microphone.chunks(timeout=3.0, sample_rate=CLIP_RATE)
            blocks = _announced(chunks, "Recording: read the line now.")
            return record_take(
                blocks, self._vad, self._settings, self.keyboard.wants_out, CLIP_RATE
            )


def _announced(blocks: Iterator[np.ndarray], message: str) -> Iterator[np.ndarray]:
    """`blocks`, with `message` shown once the first block has arrived (the microphone is
    really listening: what is said before that would be lost)."""
    for n, block in enumerate(blocks):
        if n == 0:
            click.echo(message)
        yield block


@cli.command()
@click.argument("routine")
@click.option(
    "--from-dir",
    "from_dir",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="Import WAV clips recorded elsewhere (named by line number or first words, or "
    "listed in a manifest.json).",
)
@click.option("--list", "list_lines", is_flag=True, help="List the lines, numbered, and exit.")
@click.option("--again", is_flag=True, help="Record every line, also those already recorded.")
@click.option("--input-device", help="Microphone: index or part of its name (voice-guide devices).")
@click.option("--output-device", help="Speaker: index or part of its name (voice-guide devices).")
@click.option(
    "--wait",
    type=click.FloatRange(2, 120),
    default=20,
    show_default=True,
    help="Seconds to wait for the first word of a line.",
)
@_voice_options
def record(
    routine: str,
    from_dir: Path | None,
    list_lines: bool,
    again: bool,
    input_device: str | None,
    output_device: str | None,
    wait: float,
    voice: str | None,
    rate: int | None,
    volume: float | None,
) -> None:
    """Record the lines of ROUTINE in your own voice: `run`, `demo` and `render` then play
    them instead of the synthetic voice."""
    from voice_guide.wiring import routine_voice

    loaded = read_or_exit(routine)
    store = open_recordings(loaded)
    lines = spoken_lines(loaded)
    if list_lines:
        _list(lines, store)
        return
    settings = routine_voice(loaded.routine, voice, rate, volume)
    renderer = EspeakRenderer(settings, loaded.routine.language)
    level = voice_level(renderer)
    if from_dir is not None:
        _import(from_dir, lines, store, level)
        return
    todo = [(n, line) for n, line in enumerate(lines, 1) if again or not store.clip(line.text)]
    if not todo:
        click.echo(f"Every line of {loaded.routine.title} is recorded ({len(lines)}).")
        return
    click.echo(
        f"{len(todo)} of {len(lines)} lines to record, into {store.folder}. Each line is "
        "said, then you read it aloud and hear it back. " + ANSWERS
    )
    device = find_output_device(output_device)
    with OutputDevice(Playback(device.sample_rate), device) as output:
        sitting = _Session(store, renderer, level, output, input_device, wait)
        kept = _record_all(sitting, todo, len(lines))
    left = len(todo) - kept
    click.echo(
        f"\nKept {kept} recording{'s' if kept != 1 else ''}; {left} of these lines still use "
        "the synthetic voice" + (" (run `voice-guide record` again to go on)." if left else ".")
    )


def _record_all(sitting: _Session, todo: list[tuple[int, Line]], total: int) -> int:
    kept = 0
    _, stale = sitting.store.review(line for _, line in todo)
    before = {id(s.line): s.recorded for s in stale}
    for number, line in todo:
        click.echo(f"\n[{number}/{total}] {line.kind}, step {line.step_id}:\n  {line.text}")
        if id(line) in before:
            click.echo(f"(edited since it was recorded as: {before[id(line)]})")
        outcome = sitting.line(line)
        kept += outcome == "kept"
        if outcome == "quit":
            break
    return kept


def _list(lines: list[Line], store: RecordingStore) -> None:
    """Every line, numbered (the numbers `--from-dir` file names may start with)."""
    missing, stale = store.review(lines)
    state = {id(line): "missing" for line in missing}
    state.update({id(s.line): "stale" for s in stale})
    for number, line in enumerate(lines, 1):
        click.echo(f"{number:4d}  {state.get(id(line), 'recorded'):<8}  {line.text}")


def _import(folder: Path, lines: list[Line], store: RecordingStore, level: float) -> None:
    """Import the clips of `folder` that match lines; say what was left and why."""
    from voice_guide.speech_in.vad import SileroVad

    vad = SileroVad()
    matches, unmatched = match_files(folder, lines)
    kept = 0
    for line, path in matches:
        problem = _import_one(line, path, store, level, vad)
        if problem:
            unmatched.append((path, problem))
        else:
            kept += 1
    for path, why in unmatched:
        click.echo(f"{path}: not imported: {why}", err=True)
    click.echo(f"Imported {kept} recording{'s' if kept != 1 else ''} into {store.folder}.")
    if unmatched:
        sys.exit(1)


def _import_one(
    line: Line, path: Path, store: RecordingStore, level: float, vad: SileroVad
) -> str | None:
    try:
        audio = read_wav(path)
    except AudioFormatError as error:
        return f"{error}."
    take = trim_to_speech(audio, vad)
    if take.audio is None:
        return take.problem
    problem = take_problem(take.audio)
    if problem:
        return problem
    clip = matched(take.audio, loudness(take.audio), level)
    store.add(line, clip, loudness(clip))
    return None
