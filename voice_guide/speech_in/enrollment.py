"""Enrollment: a few takes of a person's own voice, kept as utterance embeddings.

The only real voices the product ever hears are its users'. A person says a few commands
once (from the microphone, prompted: "Partner, please say: a little lighter ... now:
ouch"; or as WAV files in a folder named `<command>.wav` or `<command>-<n>.wav`, one
utterance each, any wording). Each take is cut with the same VAD segmentation the Listener
uses and turned into the vector the command model compares (speech_in/embedding.py); only
the vectors are kept, unless the person agrees to keep the audio too. Engines that can use
them receive them as `EngineRequest.prototypes` (speech_in/engines.py).

Stored with the recipient's profile in the session database (store.py `voice_takes`), keyed
by the normalized name.
"""

from __future__ import annotations

import itertools
import re
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np

from voice_guide.audio import read_wav
from voice_guide.commands import Command, phrase_table
from voice_guide.errors import VoiceGuideError
from voice_guide.speech_in.audio import SAMPLE_RATE, AudioFormatError, resample
from voice_guide.speech_in.vad import FRAME_SAMPLES, Segmenter, SileroVad, Vad
from voice_guide.store import VoiceTake

__all__ = [
    "PROMPTED",
    "Enrollment",
    "EnrollmentError",
    "Take",
    "capture_takes",
    "cut_utterance",
    "from_stored",
    "merge_prototypes",
    "new_enrollment",
    "prompt_plan",
    "takes_from_directory",
    "to_stored",
]

PROMPTED: Final = (
    Command.LIGHTER,
    Command.STRONGER,
    Command.PAIN,
    Command.PAUSE,
    Command.NEXT,
    Command.GREAT,
    Command.RESUME,
    Command.REPEAT,
)
"""What the guide asks a person to say, most important first (a short enrollment stops early)."""

_FILE_NAME: Final = re.compile(r"^(?P<command>[a-z]+)(?:-(?P<n>\d+))?\.wav$", re.IGNORECASE)

Embed = Callable[[np.ndarray], np.ndarray]
"""One utterance (16 kHz float32, VAD-cut) -> its vector (SpeechEmbedding.utterance_vector)."""


class EnrollmentError(VoiceGuideError):
    """Enrollment cannot go on; the message names the file or step and how to fix it."""


@dataclass(frozen=True)
class Take:
    """One utterance of a command by the person."""

    command: Command
    vector: np.ndarray
    """The utterance's embedding vector (float32)."""
    audio: np.ndarray | None = None
    """The utterance itself (16 kHz float32), only when the person agreed to keep it."""


@dataclass(frozen=True)
class Enrollment:
    """Everything kept of one person's voice."""

    name: str
    takes: tuple[Take, ...]
    created: float
    """Unix time of the enrollment."""

    def counts(self) -> dict[Command, int]:
        """Takes per command, in the commands' declared order."""
        found = [t.command for t in self.takes]
        return {c: found.count(c) for c in Command if c in found}

    @property
    def kept_audio(self) -> bool:
        """Whether any take keeps its audio."""
        return any(t.audio is not None for t in self.takes)

    def prototypes(self) -> dict[Command, list[np.ndarray]]:
        """Vectors per command: what a command model compares an utterance with."""
        return merge_prototypes([self])


def merge_prototypes(enrollments: Iterable[Enrollment]) -> dict[Command, list[np.ndarray]]:
    """The takes of several people, per command (`listen --speaker A,B`)."""
    merged: dict[Command, list[np.ndarray]] = {}
    for enrollment in enrollments:
        for take in enrollment.takes:
            merged.setdefault(take.command, []).append(take.vector)
    return merged


def cut_utterance(samples: np.ndarray, vad: Vad | None = None) -> np.ndarray | None:
    """The longest utterance in `samples` (16 kHz float32), cut as the Listener cuts it
    (pre-roll included), or None when there is no speech."""
    segmenter = Segmenter(vad if vad is not None else SileroVad())
    tail = np.zeros(segmenter.settings.frames(segmenter.settings.end_wait + 0.1) * FRAME_SAMPLES)
    audio = np.concatenate([np.asarray(samples, np.float32), tail.astype(np.float32)])
    return max(_utterances(_frames([audio]), segmenter), key=len, default=None)


def _frames(chunks: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
    """Chunks of any length re-cut into VAD frames (a last partial frame is dropped)."""
    pending = np.zeros(0, np.float32)
    for chunk in chunks:
        pending = np.concatenate([pending, np.asarray(chunk, np.float32).reshape(-1)])
        usable = len(pending) - len(pending) % FRAME_SAMPLES
        yield from pending[:usable].reshape(-1, FRAME_SAMPLES)
        pending = pending[usable:]


def _utterances(frames: Iterable[np.ndarray], segmenter: Segmenter) -> Iterator[np.ndarray]:
    """Each utterance the segmenter closes (too-long ones are dropped, as the Listener does)."""
    parts: list[np.ndarray] = []
    for frame in frames:
        event = segmenter.process(frame)
        if event is None:
            continue
        if event.kind == "start":
            parts = [event.audio]
        elif event.kind == "drop":
            parts = []
        elif parts:
            parts.append(event.audio)
            if event.kind == "end":
                yield np.concatenate(parts)
                parts = []


def _command_of(path: Path) -> Command:
    match = _FILE_NAME.match(path.name)
    names = ", ".join(c.value for c in Command)
    if match is None:
        raise EnrollmentError(
            f"{path}: the name must be <command>.wav or <command>-<n>.wav (commands: {names})"
        )
    try:
        return Command(match["command"].lower())
    except ValueError:
        raise EnrollmentError(
            f"{path}: {match['command']!r} is not a command; name the file after one of: {names}"
        ) from None


def takes_from_directory(
    directory: Path, embed: Embed, keep_audio: bool = False, vad: Vad | None = None
) -> list[Take]:
    """One take per WAV file in `directory` (`<command>.wav`, `<command>-<n>.wav`).

    Files not ending in .wav are ignored. Raises EnrollmentError naming the file for a
    folder that cannot be read or has no WAV, a name that is not a command, a file that is
    not audio or has no speech; nothing is kept then.
    """
    if not directory.is_dir():
        raise EnrollmentError(f"{directory} is not a folder; give the folder holding the WAVs")
    try:
        files = sorted(
            (p for p in directory.iterdir() if p.suffix.lower() == ".wav"),
            key=lambda p: p.name.lower(),
        )
    except OSError as error:
        raise EnrollmentError(f"cannot read the folder {directory} ({error.strerror})") from None
    if not files:
        raise EnrollmentError(
            f"no WAV files in {directory}; name them <command>.wav or <command>-<n>.wav"
        )
    planned = [(path, _command_of(path)) for path in files]  # every name checked first
    vad = vad if vad is not None else SileroVad()
    return [_take_of_file(path, command, embed, keep_audio, vad) for path, command in planned]


def _take_of_file(path: Path, command: Command, embed: Embed, keep_audio: bool, vad: Vad) -> Take:
    try:
        wav = read_wav(path)
    except (AudioFormatError, OSError) as error:
        said = str(error)  # read_wav's messages already name the file
        raise EnrollmentError(said if str(path) in said else f"{path}: {said}") from None
    utterance = cut_utterance(resample(wav.samples, wav.sample_rate), vad)
    if utterance is None:
        raise EnrollmentError(f"{path}: no speech found in it; record the command again")
    return Take(command, embed(utterance), utterance if keep_audio else None)


def prompt_plan(
    language: str = "en", commands: Sequence[Command] = PROMPTED, takes: int = 2
) -> list[tuple[Command, str]]:
    """(command, phrase to ask for) per take: each command's first `takes` table phrases
    in turn, so the takes vary in wording as people do."""
    table = phrase_table(language)
    plan = []
    for command in commands:
        phrases = [p for p, c in table.items() if c is command]
        plan += [(command, phrases[k % len(phrases)]) for k in range(takes)]
    return plan


def capture_takes(
    plan: Sequence[tuple[Command, str]],
    say: Callable[[str], None],
    listen: Callable[[], Iterator[np.ndarray]],
    embed: Embed,
    *,
    who: str = "Partner",
    keep_audio: bool = False,
    timeout: float = 10.0,
    on_miss: Callable[[Command, str], None] | None = None,
) -> list[Take]:
    """Prompt for each take and capture it: `say` speaks a prompt and returns when it is
    over; `listen()` opens the microphone after it and yields 16 kHz chunks (it is closed
    again after the take, so the prompt itself is never captured). A take with no speech
    within `timeout` seconds is skipped (`on_miss` hears of it)."""
    takes = []
    for i, (command, phrase) in enumerate(plan):
        say(f"{who}, please say: {phrase}." if i == 0 else f"Now: {phrase}.")
        utterance = _next_utterance(listen(), timeout)
        if utterance is None:
            if on_miss is not None:
                on_miss(command, phrase)
            continue
        takes.append(Take(command, embed(utterance), utterance if keep_audio else None))
    return takes


def _next_utterance(chunks: Iterator[np.ndarray], timeout: float) -> np.ndarray | None:
    """The first utterance the VAD closes in `chunks` within `timeout` seconds, or None."""
    frames = itertools.islice(_frames(chunks), round(timeout * SAMPLE_RATE / FRAME_SAMPLES))
    try:
        return next(_utterances(frames, Segmenter(SileroVad())), None)
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()  # a generator over the microphone closes it


def new_enrollment(name: str, takes: Sequence[Take], now: float | None = None) -> Enrollment:
    """An enrollment of `takes` made now; EnrollmentError when there is none to keep."""
    if not takes:
        raise EnrollmentError(f"no take of {name}'s voice was captured; nothing was saved")
    return Enrollment(name, tuple(takes), time.time() if now is None else now)


def to_stored(enrollment: Enrollment) -> list[VoiceTake]:
    """The takes as the session database keeps them (float32 little-endian bytes)."""
    return [
        VoiceTake(
            t.command.value,
            t.vector.astype("<f4").tobytes(),
            None if t.audio is None else t.audio.astype("<f4").tobytes(),
            enrollment.created,
        )
        for t in enrollment.takes
    ]


def from_stored(name: str, stored: Sequence[VoiceTake]) -> Enrollment | None:
    """The enrollment kept for `name`, or None; damaged rows (an unknown command, a vector
    of another length than the rest) are skipped, never raised."""
    takes = []
    for row in stored:
        try:
            command = Command(row.command)
            vector = np.frombuffer(row.vector, dtype="<f4").astype(np.float32)
            audio = None if row.audio is None else np.frombuffer(row.audio, dtype="<f4")
        except (ValueError, TypeError):
            continue
        takes.append(Take(command, vector, None if audio is None else audio.astype(np.float32)))
    if takes:
        size = max({len(t.vector) for t in takes}, key=[len(t.vector) for t in takes].count)
        takes = [t for t in takes if len(t.vector) == size and size > 0]
    if not takes:
        return None
    return Enrollment(name, tuple(takes), float(stored[0].created))
