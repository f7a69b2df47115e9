#!/usr/bin/env python3
"""Enrollment gain: voices the command model misses, enrolled with other takes than tested.

Every voice is rendered twice, with disjoint settings, so no test utterance is ever an
enrollment take:
- enrollment takes: each prompted command (speech_in/enrollment.py PROMPTED) in the wording
  the prompts ask for (its first two table phrases), at rate/pitch setting A, clean and with
  pink noise at 20 dB;
- test takes at setting B, clean and with pink noise at 15 dB: the enrolled wordings said
  again (new audio: other rate, pitch and noise), every other table phrase of the same
  commands, and ordinary conversation (false accepts).
"Voices the model misses" are the ones whose *enrollment* takes it hears worst without
enrollment (chosen on A, measured on B, so the choice does not flatter the gain). Each test
utterance goes through the real Listener (Silero VAD, streaming 20 ms chunks) and the real
engine, once without and once with that voice's enrolled prototypes.

    .venv/bin/python scripts/bench_enroll.py                       # engine: embedding
    .venv/bin/python scripts/bench_enroll.py --engine fusion --voices 4 --markdown enroll.md
    .venv/bin/python scripts/bench_enroll.py --engine fusion --held-out --voices 2

Speech comes from flite and espeak-ng; with --held-out from SVOX Pico only, a synthesizer
family left out of all training and tuning (scripts/setup train installs pico2wave).
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from voice_guide.commands import Command, phrase_table
from voice_guide.room import pink_noise
from voice_guide.speech_in import Listener, create_recognizer
from voice_guide.speech_in.audio import SAMPLE_RATE, read_wav, resample
from voice_guide.speech_in.embedding import SpeechEmbedding
from voice_guide.speech_in.enrollment import PROMPTED, cut_utterance, prompt_plan

CANDIDATES = [
    "espeak:en-us+m7",
    "espeak:en+croak",
    "espeak:en-gb-scotland+m3",
    "espeak:en-us+f4",
    "espeak:en-029+m2",
    "espeak:en-gb-x-rp+f2",
    "flite:kal16",
    "flite:awb",
]
"""Voice families and variants to choose from (flite and espeak-ng only)."""
HELD_OUT = ["pico:en-US", "pico:en-GB"]
"""--held-out: SVOX Pico, never trained or tuned on (as bench_listen's pico group)."""


@dataclass(frozen=True)
class Setting:
    """How one rendering of a voice differs: speed and pitch factors, background noise."""

    rate: float
    """Speed factor (1.0: the voice's default)."""
    pitch: float
    """Pitch factor (1.0: the voice's default)."""
    snr_db: float | None
    """Pink noise at this signal-to-noise ratio, or None for clean."""


ENROLL = (Setting(0.9, 0.85, None), Setting(0.9, 0.85, 20.0))
TEST = (Setting(1.15, 1.15, None), Setting(1.15, 1.15, 15.0))
TALK = [
    "how was your weekend",
    "the traffic was terrible this morning",
    "i think it will rain later",
    "did you see the game last night",
    "we should get some more milk",
    "my sister is coming over on sunday",
]
LEAD, TAIL = 0.5, 0.8


def synthesize(voice: str, text: str, setting: Setting, cache: Path) -> np.ndarray:
    """`text` by `voice` at `setting`, 16 kHz float32, cached by its parameters."""
    family, name = voice.split(":", 1)
    key = hashlib.sha1(f"{voice}|{text}|{setting.rate}|{setting.pitch}".encode()).hexdigest()
    path = cache / f"{key}.wav"
    if not path.exists():
        if family == "espeak":
            speed, pitch = round(175 * setting.rate), round(50 * setting.pitch)
            cmd = ["espeak-ng", "-v", name, "-s", str(speed), "-p", str(pitch)]
            subprocess.run([*cmd, "-w", str(path), text], check=True)
        elif family == "pico":
            speed, pitch = round(100 * setting.rate), round(100 * setting.pitch)
            ssml = f'<speed level="{speed}"><pitch level="{pitch}">{text}</pitch></speed>'
            subprocess.run(["pico2wave", "-l", name, "-w", str(path), ssml], check=True)
        else:
            stretch = f"{1 / setting.rate:.3f}"
            cmd = ["flite", "-voice", name, "--setf", f"duration_stretch={stretch}"]
            cmd += ["--setf", f"int_f0_target_mean={round(100 * setting.pitch)}"]
            subprocess.run([*cmd, "-t", text, "-o", str(path)], check=True)
    wav = read_wav(path)
    return resample(wav.samples, wav.sample_rate)


def in_room(speech: np.ndarray, setting: Setting, seed: int) -> np.ndarray:
    """Silence around the speech, and the setting's background noise under all of it."""
    audio = np.concatenate(
        [np.zeros(int(LEAD * SAMPLE_RATE)), speech, np.zeros(int(TAIL * SAMPLE_RATE))]
    ).astype(np.float32)
    if setting.snr_db is None:
        return audio
    noise = pink_noise(len(audio), np.random.default_rng(seed))
    level = np.sqrt(np.mean(speech**2)) / (10 ** (setting.snr_db / 20))
    return audio + noise * level / max(np.sqrt(np.mean(noise**2)), 1e-9)


def heard(recognizer, audio: np.ndarray) -> list[Command]:
    """The commands the Listener hears in `audio`, fed in 20 ms chunks."""
    listener = Listener(recognizer)
    found = []
    for start in range(0, len(audio), 320):
        found += listener.feed(audio[start : start + 320])
    return [d.command for d in found + listener.flush()]


def enrollment_takes(voice: str, cache: Path) -> list[tuple[Command, np.ndarray]]:
    """The prompted takes of `voice` at the enrollment settings."""
    return [
        (command, in_room(synthesize(voice, phrase, s, cache), s, i))
        for s in ENROLL
        for i, (command, phrase) in enumerate(prompt_plan("en", PROMPTED, takes=2))
    ]


Tests = dict[str, list[tuple[Command | None, np.ndarray]]]


def test_takes(voice: str, cache: Path) -> Tests:
    """The test utterances of `voice` by kind: 'enrolled wording', 'other wording', 'talk'."""
    prompted = {p for _, p in prompt_plan("en", PROMPTED, takes=2)}
    table = [(c, p) for p, c in phrase_table("en").items() if c in PROMPTED]
    kinds: dict[str, list[tuple[Command | None, str]]] = {
        "enrolled wording": [(c, p) for c, p in table if p in prompted],
        "other wording": [(c, p) for c, p in table if p not in prompted],
        "talk": [(None, text) for text in TALK],
    }
    return {
        kind: [
            (command, in_room(synthesize(voice, text, s, cache), s, 1000 + i))
            for s in TEST
            for i, (command, text) in enumerate(items)
        ]
        for kind, items in kinds.items()
    }


def scores(recognizer, tests: Tests) -> tuple[float, float, int]:
    """Accuracy on the enrolled wordings, on the other wordings, and detections in talk."""
    right = [
        float(np.mean([heard(recognizer, a) == [c] for c, a in tests[kind]]))
        for kind in ("enrolled wording", "other wording")
    ]
    return right[0], right[1], sum(len(heard(recognizer, a)) for _, a in tests["talk"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--engine", default="embedding")
    parser.add_argument("--voices", type=int, default=3, help="how many missed voices to test")
    parser.add_argument("--markdown", type=Path)
    parser.add_argument(
        "--held-out", action="store_true", help="voices of a family never trained on (Pico)"
    )
    args = parser.parse_args(argv)
    started = time.time()
    embedding = SpeechEmbedding()
    plain = create_recognizer(args.engine, "en").recognizer
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-enroll-") as tmp:
        cache = Path(tmp)
        chosen = []
        for voice in HELD_OUT if args.held_out else CANDIDATES:
            takes = enrollment_takes(voice, cache)
            score = np.mean([heard(plain, a) == [c] for c, a in takes])
            print(f"{voice}: {score:.2f} of its enrollment takes heard unenrolled", file=sys.stderr)
            chosen.append((score, voice, takes))
        chosen.sort(key=lambda x: x[0])
        for score, voice, takes in chosen[: args.voices]:
            vectors: dict[Command, list[np.ndarray]] = {}
            for command, audio in takes:
                utterance = cut_utterance(audio)
                if utterance is not None:
                    vectors.setdefault(command, []).append(embedding.utterance_vector(utterance))
            enrolled = create_recognizer(args.engine, "en", prototypes=vectors).recognizer
            tests = test_takes(voice, cache)
            before, after = scores(plain, tests), scores(enrolled, tests)
            rows.append((voice, score, before, after))
            print(f"{voice}: {before} -> {after}", file=sys.stderr)
    lines = [
        f"Enrollment gain, engine {args.engine} ({time.time() - started:.0f} s): test takes at "
        "rate/pitch x1.15 clean and pink 15 dB; enrolled with x0.9/x0.85 clean and pink 20 dB.",
        "",
        "| voice | enrollment takes heard unenrolled | enrolled wordings: unenrolled -> "
        "enrolled | other wordings: unenrolled -> enrolled | false accepts in "
        f"{2 * len(TALK)} talk sentences |",
        "|---|---|---|---|---|",
    ]
    lines += [
        f"| {v} | {s:.2f} | {b[0]:.3f} -> {a[0]:.3f} | {b[1]:.3f} -> {a[1]:.3f} "
        f"| {b[2]} -> {a[2]} |"
        for v, s, b, a in rows
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.markdown:
        args.markdown.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
