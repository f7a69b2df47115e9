"""The virtual room: a microphone signal made of the guide's own voice coming back from
the speaker (echo with a gain and a delay), an optional noise or music bed, and a
simulated person speaking scheduled phrases in a voice different from the guide's.

The room pulls the guide's audio from the Playback block by block, so the playback clock
and the microphone clock are the same samples: a whole session runs as fast as the CPU
allows, and what the listener hears is exactly what a microphone in that room would.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import wave
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np

from voice_guide.audio import to_int16_bytes
from voice_guide.errors import VoiceGuideError
from voice_guide.routine.model import Routine
from voice_guide.routine.timeline import StepSpan, build_timeline
from voice_guide.speech_in.audio import SAMPLE_RATE, read_wav, resample
from voice_guide.speech_out.playback import Playback

BLOCK = 320
"""Samples per block: 20 ms at 16 kHz, like a microphone callback."""
POLITE_GAP = 0.7
"""Seconds of quiet from the guide a polite person waits for before speaking."""
PERSON_PEAK = 0.3
"""Peak level of the simulated person's voice (the bed's SNR is relative to it)."""
ROOM_TONE = 1e-3
"""RMS of the microphone's own noise floor (-60 dBFS): a real microphone is never digitally
silent, and recognizers tuned on real audio misbehave on exact zeros."""
BED_SECONDS = 30
"""Beds are generated once at this length and looped (a two-hour soak stays small)."""


class RoomError(VoiceGuideError, RuntimeError):
    """The room cannot be built (e.g. no synthesizer for the person's voice)."""


def synthesize(text: str, voice: str = "rms", path: Path | None = None) -> np.ndarray:
    """Speak `text` with flite's `voice` (or espeak-ng's when the voice is 'espeak:NAME');
    16 kHz float32 with leading and trailing silence trimmed."""
    with tempfile.TemporaryDirectory() as tmp:
        target = path or Path(tmp) / "say.wav"
        if not target.exists():
            subprocess.run(_synth_command(text, voice, target), check=True, capture_output=True)
        wav = read_wav(target)
    audio = resample(wav.samples, wav.sample_rate)
    peak = float(np.max(np.abs(audio))) if len(audio) else 0.0
    loud = np.flatnonzero(np.abs(audio) > 0.02 * peak)
    return audio[loud[0] : loud[-1] + 1] if len(loud) else audio


def _synth_command(text: str, voice: str, target: Path) -> list[str]:
    if voice.startswith("espeak:"):
        program, args = "espeak-ng", ["-v", voice.removeprefix("espeak:"), "-w", str(target), text]
    else:
        program, args = "flite", ["-voice", voice, "-t", text, "-o", str(target)]
    if shutil.which(program) is None:
        package = "flite" if program == "flite" else "espeak-ng"
        raise RoomError(
            f"the simulated person speaks with {program}, which is not installed; "
            f"install it with: apt-get install {package}"
        )
    return [program, *args]


def pink_noise(n: int, rng: np.random.Generator) -> np.ndarray:
    """1/f noise (unit RMS) by shaping white noise in the frequency domain."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    f = np.arange(len(spectrum), dtype=np.float64)
    f[0] = 1.0
    noise = np.fft.irfft(spectrum / np.sqrt(f), n)
    return (noise / np.std(noise)).astype(np.float32)


def music_bed(n: int, rng: np.random.Generator) -> np.ndarray:
    """A synthetic music bed (unit RMS): chords with harmonics, a bass and a plucked melody."""
    t = np.arange(n) / SAMPLE_RATE
    out = np.zeros(n, dtype=np.float64)
    chords = [[57, 60, 64], [53, 57, 60], [55, 59, 62], [52, 55, 59]]

    def hz(midi: float) -> float:
        return 440.0 * 2 ** ((midi - 69) / 12)

    # Slices, not boolean masks over the whole bed: the same samples (every start is a whole
    # number of samples), linear instead of quadratic in the bed's length.
    for i, start in enumerate(np.arange(0, n / SAMPLE_RATE, 2.0)):
        seg = slice(round(start * SAMPLE_RATE), round((start + 2.0) * SAMPLE_RATE))
        tt = t[seg] - start
        for note in chords[i % 4]:
            for harmonic, amp in ((1, 1.0), (2, 0.5), (3, 0.25)):
                out[seg] += 0.3 * amp * np.sin(2 * np.pi * hz(note) * harmonic * tt)
        out[seg] += 0.6 * np.sin(2 * np.pi * hz(chords[i % 4][0] - 12) * tt)
    for start in np.arange(0, n / SAMPLE_RATE, 0.5):
        seg = slice(round(start * SAMPLE_RATE), round((start + 0.5) * SAMPLE_RATE))
        tt = t[seg] - start
        note = hz(69 + int(rng.choice([0, 2, 4, 7, 9, 12])))
        pluck = np.sin(2 * np.pi * note * tt) + 0.3 * np.sin(4 * np.pi * note * tt)
        out[seg] += 0.8 * np.exp(-tt * 6.0) * pluck
    return (out / np.std(out)).astype(np.float32)


BEDS = {"pink": pink_noise, "music": music_bed}


def parse_bed(spec: str | None) -> tuple[str, float] | None:
    """'pink:15' -> ('pink', 15.0): a bed and its SNR in dB below the person's speech."""
    if not spec:
        return None
    match = re.fullmatch(r"(pink|music):(-?\d+(?:\.\d+)?)", spec.strip())
    if not match:
        raise ValueError(f"bed {spec!r} should look like pink:15 or music:10 (kind:SNR in dB)")
    return match.group(1), float(match.group(2))


@dataclass(frozen=True)
class PersonLine:
    """Something the simulated person says at session time `at`."""

    at: float
    text: str
    barge_in: bool = False
    """Speak at once even over the guide; otherwise wait for a quiet moment, as people do."""


def parse_person_line(spec: str) -> PersonLine:
    """'0:40 a little lighter' or '95 ouch' -> PersonLine (safety words barge in)."""
    match = re.fullmatch(r"\s*(?:(\d+):)?(\d+(?:\.\d+)?)\s+(.+?)\s*", spec)
    if not match:
        raise ValueError(f"--say {spec!r} should look like '0:40 a little lighter' (m:ss text)")
    minutes, seconds, text = match.groups()
    at = int(minutes or 0) * 60 + float(seconds)
    return PersonLine(at, text, barge_in=_is_urgent(text))


def _is_urgent(text: str) -> bool:
    from voice_guide.commands import parse_command

    command = parse_command(text)
    return command is not None and (command.is_safety or command.value == "next")


@dataclass
class SpokenLine:
    """A line the person actually said: when it started and ended (stream seconds)."""

    text: str
    start: float
    end: float


@dataclass
class RoomSettings:
    """How the room sounds."""

    echo_gain: float = 0.5
    """Level of the guide's voice at the microphone relative to what was played, 0..2."""
    echo_delay: float = 0.05
    """Seconds from the speaker to the microphone (the room's echo path)."""
    bed: tuple[str, float] | None = None
    """('pink' | 'music', SNR in dB below the person's voice), or None for a quiet room."""
    person_voice: str = "rms"
    """flite voice of the person (the guide speaks with espeak-ng)."""
    seed: int = 7


@dataclass
class VirtualRoom:
    """Yields microphone blocks; pulls the guide's voice from `playback` as it goes."""

    playback: Playback
    settings: RoomSettings = field(default_factory=RoomSettings)
    lines: list[PersonLine] = field(default_factory=list)
    spoken: list[SpokenLine] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.playback.sample_rate != SAMPLE_RATE:
            raise ValueError(f"the virtual room runs at {SAMPLE_RATE} Hz playback")
        self._queue = sorted(self.lines, key=lambda line: line.at)
        self._voices = {text: self._say(text) for text in {line.text for line in self._queue}}
        self._delay = np.zeros(max(0, round(self.settings.echo_delay * SAMPLE_RATE)), np.float32)
        self._bed = self._make_bed()
        rng = np.random.default_rng(self.settings.seed + 1)
        self._tone = (rng.standard_normal(BED_SECONDS * SAMPLE_RATE) * ROOM_TONE).astype(np.float32)
        self._speaking: tuple[np.ndarray, int] | None = None
        self._frames = 0
        self._quiet_since = 0.0

    def _say(self, text: str) -> np.ndarray:
        audio = synthesize(text, self.settings.person_voice)
        return (audio * (PERSON_PEAK / max(1e-6, float(np.max(np.abs(audio)))))).astype(np.float32)

    def _make_bed(self) -> np.ndarray | None:
        if self.settings.bed is None:
            return None
        kind, snr = self.settings.bed
        rng = np.random.default_rng(self.settings.seed)
        bed = BEDS[kind](BED_SECONDS * SAMPLE_RATE, rng)
        speech_rms = PERSON_PEAK / 3.5  # typical peak-to-RMS ratio of speech
        return (bed * speech_rms / 10 ** (snr / 20)).astype(np.float32)

    @property
    def time(self) -> float:
        """Stream seconds produced so far."""
        return self._frames / SAMPLE_RATE

    def chunks(self, record: BinaryIO | None = None) -> Iterator[np.ndarray]:
        """Endless 20 ms microphone blocks (the caller stops when the session ends). With
        `record`, the microphone signal is also written there as a WAV, whose header is
        completed when the generator is closed."""
        if record is None:
            while True:
                yield self._block()
        with wave.open(record, "wb") as writer:
            writer.setnchannels(1)
            writer.setsampwidth(2)
            writer.setframerate(SAMPLE_RATE)
            while True:
                block = self._block()
                writer.writeframes(to_int16_bytes(block))
                yield block

    def _block(self) -> np.ndarray:
        played = self.playback.pull(BLOCK)
        mic = self._echo(played) * self.settings.echo_gain
        for loop in (self._tone, self._bed):
            if loop is not None:
                start = self._frames % len(loop)
                mic += np.take(loop, range(start, start + BLOCK), mode="wrap")
        self._person_into(mic)
        self._frames += BLOCK
        return mic

    def _echo(self, played: np.ndarray) -> np.ndarray:
        if not len(self._delay):
            return played.copy()
        joined = np.concatenate([self._delay, played])
        self._delay = joined[BLOCK:]
        return joined[:BLOCK]

    def _next_line(self, now: float) -> PersonLine | None:
        """The first line due that may be said now: an urgent one does not wait behind a
        polite one that is still waiting for the guide to be quiet."""
        quiet = now - self._quiet_since >= POLITE_GAP
        due = (line for line in self._queue if line.at <= now)
        return next((line for line in due if line.barge_in or quiet), None)

    def _person_into(self, mic: np.ndarray) -> None:
        now = self.time
        if self.playback.speaking:
            self._quiet_since = now
        line = self._next_line(now) if self._speaking is None else None
        if line is not None:
            self._queue.remove(line)
            audio = self._voices[line.text]
            self._speaking = (audio, 0)
            self.spoken.append(SpokenLine(line.text, now, now + len(audio) / SAMPLE_RATE))
        if self._speaking is not None:
            audio, position = self._speaking
            part = audio[position : position + BLOCK]
            mic[: len(part)] += part
            position += BLOCK
            self._speaking = (audio, position) if position < len(audio) else None


def default_person(routine: Routine) -> list[PersonLine]:
    """A plausible person for `demo`: asks for lighter pressure and likes it during the
    shoulders, pauses and resumes once, and says "ouch" once while the guide is talking."""
    timeline = build_timeline(routine)
    spans = [span for span in timeline.steps if span.timed]
    if len(spans) < 3:
        return []

    def span_of(area: str, after: float) -> StepSpan:
        for span in spans:
            step_area = routine.all_steps[span.index].area or ""
            if area in step_area and span.start >= after:
                return span
        return next((span for span in spans if span.start > after), spans[-1])

    shoulders = span_of("shoulder", 0.0)
    middle = span_of("mid", shoulders.start + 1)
    lower = span_of("lower", middle.start + 1)
    return [
        PersonLine(shoulders.start + 25, "a little lighter"),
        PersonLine(shoulders.start + 45, "that feels great"),
        PersonLine(middle.start + 30, "pause", barge_in=True),
        PersonLine(middle.start + 45, "keep going"),
        # Two seconds into a step the guide is still saying the instruction.
        PersonLine(lower.start + 2, "ouch", barge_in=True),
        PersonLine(lower.start + 20, "resume"),
    ]
