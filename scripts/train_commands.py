#!/usr/bin/env python3
"""Train the command head of the speech-embedding listener (voice_guide/speech_in/command_model.py).

Input: the language's wordings (`voice_guide.commands.wordings`: every table phrase and its
filler combinations) as the commands, and as "other" the sentences of
scripts/train_data/<language>.yaml (conversation, near misses containing command words), every
sentence the built-in routines make the guide say, 1-4 word n-grams of those, and noise or
music alone. Every text is synthesized by voices of three synthesizer families only: flite,
espeak-ng (many voices and variants) and MBROLA's diphone voices through espeak-ng (cut from
recordings of real people, so far more human), each with rate and pitch settings, then sox
pitch / tempo / speed shifts. It is placed in a background (clean, pink noise 5-20 dB, the
music bed of voice_guide.room 5-20 dB, the guide's own voice underneath, room reverberation
from pyroomacoustics image-source impulse responses), and cut by the listener's own VAD exactly
as a live utterance would be. The pooled speech embedding of each cut is one example.

Voices are split: `train` voices fit the head, `dev` voices (flite kal, espeak-ng en-029 and
en-gb-x-gbcwmd with their variants, MBROLA us2) choose the per-command thresholds and are
reported, next to the same report for the head being replaced (`--compare`). The benchmark's
held-out voices (scripts/bench_listen.py: flite awb and kal16, the SAM and Pico families) are
never used here. Seeded: the same arguments give the same model.

Each round's examples are cached in `--work` under a digest of the round's arguments (language,
Plan, seed, commands). Plan fields added after rounds were cached are left out of the digest
while they keep their default (see `round_digest`), and a default draws no extra random numbers,
so such a round keeps both its digest and its examples. The file also records a digest of the
round's tasks (texts, voices, scenes): when the phrase table or train_data changed, the round is
made again; a round cached before that record is used as it is (the run says so).

    .venv/bin/python scripts/train_commands.py                   # writes the shipped head
    .venv/bin/python scripts/train_commands.py --language en --out /tmp/head.npz --scale 0.3
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

import numpy as np
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from voice_guide.commands import Command, normalize, phrase_table, wordings
from voice_guide.room import BEDS
from voice_guide.speech_in.audio import SAMPLE_RATE, AudioFormatError, read_wav, resample
from voice_guide.speech_in.command_model import OTHER, CommandModel, HeadWeights
from voice_guide.speech_in.embedding import SpeechEmbedding
from voice_guide.speech_in.vad import FRAME_SAMPLES, Segmenter, SileroVad

DATA = Path(__file__).resolve().parent / "train_data"
SHIPPED = Path(__file__).resolve().parent.parent / "voice_guide/speech_in/data/command_head.npz"

FLITE = {"train": ("slt", "rms"), "dev": ("kal",)}
ESPEAK = {
    "train": ("en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-gb-x-gbclan", "en-us-nyc"),
    "dev": ("en-029", "en-gb-x-gbcwmd"),
}
MBROLA = {"train": ("mb-us1", "mb-us3", "mb-en1"), "dev": ("mb-us2",)}  # no +variants
ESPEAK_VARIANTS = (
    "", "m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f4", "f5", "klatt",
    "klatt2", "klatt3", "klatt4", "croak", "Andy", "Annie", "belinda", "david", "john",
    "linda", "max", "paul", "adam", "grandma", "grandpa", "edward", "michel", "iven",
)  # fmt: skip
GUIDE_VOICE = ("espeak", "en", 160, 50)  # what the guide itself sounds like (pyttsx3's espeak-ng)


@dataclass(frozen=True)
class Voice:
    """One synthesized voice: synthesizer settings, then sox shifts."""

    synth: str  # flite | espeak (MBROLA voices are espeak-ng voices named mb-*)
    name: str
    rate: float  # espeak words per minute, or flite duration stretch
    pitch: float  # espeak pitch 0-99, or flite f0 mean (Hz); 0: the voice's own
    sox_cents: int = 0
    sox_tempo: float = 1.0
    sox_speed: float = 1.0

    def key(self, text: str) -> str:
        """Cache file name of `text` in this voice."""
        return hashlib.sha1(f"{self}|{text}".encode()).hexdigest()[:16] + ".wav"


@dataclass(frozen=True)
class Scene:
    """Where an utterance is said: background, its SNR, reverberation, the guide underneath."""

    bed: str | None  # pink | music | guide | None
    snr: float
    room: int | None  # index of an impulse response, or None for a dry voice
    gain: float  # overall level
    guide_text: str = ""


@dataclass(frozen=True)
class Task:
    """One example to make: a text (or none: background alone) in a voice and a scene."""

    text: str
    label: str  # a command value or OTHER
    voice: Voice | None
    scene: Scene
    seed: int
    split: str


def random_voice(rng: np.random.Generator, split: str, mbrola: float = 0.0) -> Voice:
    """A voice of the split's flite, espeak-ng and (a share `mbrola` of the time) MBROLA
    voices, with random settings and shifts."""
    if mbrola and rng.random() < mbrola:  # no draw at 0: older rounds keep their voices
        voice = Voice(
            "espeak",
            str(rng.choice(MBROLA[split])),
            float(rng.integers(125, 215)),
            float(rng.integers(20, 80)),
        )
    elif rng.random() < 0.3:
        voice = Voice(
            "flite",
            str(rng.choice(FLITE[split])),
            float(rng.uniform(0.8, 1.3)),
            float(rng.choice([0, 0, rng.uniform(80, 200)])),
        )
    else:
        base = str(rng.choice(ESPEAK[split]))
        variant = str(rng.choice(ESPEAK_VARIANTS))
        voice = Voice(
            "espeak",
            f"{base}+{variant}" if variant else base,
            float(rng.integers(125, 215)),
            float(rng.integers(20, 80)),
        )
    if rng.random() < 0.6:
        voice = replace(
            voice,
            sox_cents=int(rng.integers(-400, 401)),
            sox_tempo=float(rng.uniform(0.85, 1.2)),
            sox_speed=float(rng.choice([1.0, rng.uniform(0.88, 1.14)])),
        )
    return voice


def synthesize(voice: Voice, text: str, cache: Path) -> np.ndarray:
    """`text` in `voice` at 16 kHz (cached as WAV), leading and trailing silence trimmed."""
    path = cache / voice.key(text)
    if not path.exists():
        raw = path.with_suffix(f".{os.getpid()}.raw.wav")  # workers may race on one text
        if voice.synth == "flite":
            cmd = ["flite", "-voice", voice.name, "--setf", f"duration_stretch={voice.rate:.2f}"]
            if voice.pitch:
                cmd += ["--setf", f"int_f0_target_mean={voice.pitch:.0f}"]
            cmd += ["-t", text, "-o", str(raw)]
        else:
            cmd = ["espeak-ng", "-v", voice.name, "-s", f"{voice.rate:.0f}"]
            cmd += ["-p", f"{voice.pitch:.0f}", "-w", str(raw), text]
        subprocess.run(cmd, check=True, capture_output=True)
        effects = []
        if voice.sox_cents:
            effects += ["pitch", str(voice.sox_cents)]
        if voice.sox_tempo != 1.0:
            effects += ["tempo", f"{voice.sox_tempo:.3f}"]
        if voice.sox_speed != 1.0:
            effects += ["speed", f"{voice.sox_speed:.3f}"]
        if effects:
            shifted = raw.with_suffix(".sox.wav")
            # -R: sox seeds its dither with a fixed number, so a fresh run makes the same audio
            repeatable = ["sox", "-R", str(raw), str(shifted), *effects]
            subprocess.run(repeatable, check=True, capture_output=True)
            raw.unlink()
            raw = shifted
        os.replace(raw, path)
    wav = read_wav(path)
    audio = resample(wav.samples, wav.sample_rate)
    loud = np.flatnonzero(np.abs(audio) > 0.02 * max(1e-9, float(np.max(np.abs(audio)))))
    return audio[loud[0] : loud[-1] + 1] if len(loud) else audio


def impulse_responses(count: int, seed: int) -> list[np.ndarray]:
    """Room impulse responses (image source method) of random shoebox rooms, 16 kHz."""
    import pyroomacoustics as pra

    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        size = rng.uniform([3, 3, 2.4], [7, 8, 3.2])
        room = pra.ShoeBox(
            size, fs=SAMPLE_RATE, materials=pra.Material(float(rng.uniform(0.15, 0.6))),
            max_order=12,
        )  # fmt: skip
        room.add_source(rng.uniform(0.5, size - 0.5))
        room.add_microphone(rng.uniform(0.5, size - 0.5))
        room.compute_rir()
        rir = np.asarray(room.rir[0][0], dtype=np.float32)
        out.append(rir / np.max(np.abs(rir)))
    return out


class Maker:
    """Turns tasks into examples in one process (models loaded once per worker)."""

    def __init__(self, cache: Path, rooms: list[np.ndarray]) -> None:
        self.cache = cache
        self.rooms = rooms
        self.embedding = SpeechEmbedding()
        self.segmenter = Segmenter(SileroVad())

    def make(self, task: Task) -> list[tuple[np.ndarray, str, str]]:
        """(vector, label, split) for every utterance the VAD cuts from the task's audio."""
        rng = np.random.default_rng(task.seed)
        scene = task.scene
        lead, tail = int(rng.uniform(0.3, 0.8) * SAMPLE_RATE), int(0.6 * SAMPLE_RATE)
        if task.voice is None:  # background alone: one random stretch of it
            speech = np.zeros(int(rng.uniform(0.4, 2.0) * SAMPLE_RATE), dtype=np.float32)
        else:
            speech = synthesize(task.voice, task.text, self.cache)
            if scene.room is not None:
                speech = np.convolve(speech, self.rooms[scene.room])[: len(speech) + 4000]
            speech = speech * (0.3 / max(1e-9, float(np.max(np.abs(speech)))))
        mix = np.concatenate([np.zeros(lead), speech, np.zeros(tail)]).astype(np.float32)
        level = float(np.sqrt(np.mean(speech**2))) if task.voice is not None else 0.03
        if scene.bed is not None:
            mix += self.background(scene, len(mix), rng) * level / 10 ** (scene.snr / 20)
        mix *= scene.gain
        if task.voice is None:
            return [(self.embedding.utterance_vector(mix[lead:-tail]), task.label, task.split)]
        return [
            (self.embedding.utterance_vector(cut), task.label, task.split) for cut in self.cuts(mix)
        ]

    def background(self, scene: Scene, n: int, rng: np.random.Generator) -> np.ndarray:
        """Unit-RMS background of `n` samples: a bed, or the guide's voice underneath."""
        if scene.bed != "guide":
            return BEDS[scene.bed](n, rng)
        guide = synthesize(Voice(*GUIDE_VOICE), scene.guide_text, self.cache)
        start = int(rng.integers(0, max(1, len(guide) - n)))
        piece = np.resize(guide[start:], n) if len(guide) else np.zeros(n)
        return (piece / max(1e-9, float(np.std(piece)))).astype(np.float32)

    def cuts(self, audio: np.ndarray) -> Iterator[np.ndarray]:
        """Utterances exactly as the Listener hands them to a recognizer (VAD-bounded)."""
        self.segmenter.reset()
        current: list[np.ndarray] = []
        for offset in range(0, len(audio) - FRAME_SAMPLES + 1, FRAME_SAMPLES):
            event = self.segmenter.process(audio[offset : offset + FRAME_SAMPLES])
            if event is None:
                continue
            if event.kind == "drop":
                current = []
                continue
            current.append(event.audio)
            if event.kind == "end":
                yield np.concatenate(current)
                current = []
        if self.segmenter.in_speech and current:
            yield np.concatenate(current)


_maker: Maker | None = None


def _init_worker(cache: Path, rooms: list[np.ndarray]) -> None:
    global _maker
    _maker = Maker(cache, rooms)


def _make(task: Task) -> list[tuple[np.ndarray, str, str]]:
    assert _maker is not None
    try:
        return _maker.make(task)
    except (subprocess.CalledProcessError, AudioFormatError):
        return []  # a voice/variant the synthesizer refused, or an empty take: skip it


# -- the texts ----------------------------------------------------------------------------


def guide_sentences() -> list[str]:
    """Every sentence the built-in routines make the guide say, normalized."""
    from voice_guide.routine.lint import _spoken_texts  # the one list of a routine's speech
    from voice_guide.routine.loader import builtin_names, load_routine

    out: list[str] = []
    for name in builtin_names():
        for spoken in _spoken_texts(load_routine(name)):
            out += [normalize(s) for s in re.split(r"[.!?;:]", spoken.text) if normalize(s)]
    return sorted(set(out))


def ngrams(sentences: Iterable[str], commands: set[str], rng: np.random.Generator, count: int):
    """Random 1-4 word pieces of the sentences that contain no command phrase."""
    table = [f" {p} " for p in commands]
    pieces = set()
    for sentence in sentences:
        words = sentence.split()
        for n in range(1, 5):
            for i in range(len(words) - n + 1):
                piece = " ".join(words[i : i + n])
                if not any(p in f" {piece} " for p in table):
                    pieces.add(piece)
    ordered = sorted(pieces)
    return [ordered[i] for i in rng.choice(len(ordered), min(count, len(ordered)), False)]


def random_scene(rng: np.random.Generator, guide: Sequence[str], rooms: int) -> Scene:
    """clean 25 %, pink 20 %, music 20 %, guide underneath 20 %, quiet room 15 %; reverb 30 %."""
    kind = rng.choice(["clean", "pink", "music", "guide", "quiet"], p=[0.25, 0.2, 0.2, 0.2, 0.15])
    bed = {"clean": None, "quiet": "pink"}.get(str(kind), str(kind))
    snr = float(rng.uniform(5, 20)) if kind != "quiet" else float(rng.uniform(25, 40))
    if kind == "guide":
        snr = float(rng.uniform(0, 12))  # what is left of the guide after the echo canceller
    return Scene(
        bed,
        snr,
        int(rng.integers(rooms)) if rng.random() < 0.3 else None,
        float(rng.uniform(0.3, 1.5)),
        str(rng.choice(guide)) if guide else "",
    )


@dataclass(frozen=True)
class Plan:
    """How many examples of each kind (per split); `scale` multiplies them all."""

    phrase_voices: int = 30  # each table phrase
    pain_voices: int = 50  # pain phrases: the command that must never be missed
    wording_count: int = 1500  # other wordings (fillers, synonyms), one voice each
    around_count: int = 900  # table phrases with the trainer's own fillers around them
    conversation_voices: int = 4
    near_voices: int = 5
    guide_voices: int = 3
    ngram_count: int = 1600
    background_count: int = 300
    dev_fraction: float = 0.25
    # Fields added after the first rounds were cached: repr=False keeps them out of the
    # digest while they hold their default (round_digest).
    mbrola: float = field(default=0.0, repr=False)
    """Share of the voices that are MBROLA voices (the rest: flite and espeak-ng as before)."""

    def scaled(self, scale: float) -> Plan:
        """Every count times `scale`, at least 1 (so 0 becomes 1, even at scale 1: the
        shipped rounds were made, and are cached, that way)."""
        counts = {
            f.name: max(1, round(getattr(self, f.name) * scale))
            for f in fields(self)
            if f.type == "int"
        }
        return replace(self, **counts)


def tasks(
    language: str, plan: Plan, seed: int, rooms: int, commands: list[tuple[str, Command]] | None
) -> list[Task]:
    """Every example to make, in a fixed order (seeded)."""
    rng = np.random.default_rng(seed)
    table = phrase_table(language)
    words = commands if commands is not None else wordings(language)
    other = yaml.safe_load((DATA / f"{language}.yaml").read_text(encoding="utf-8"))
    conversation = [normalize(s) for s in other["conversation"]]
    near = [normalize(s) for s in other["near_misses"]]
    guide = guide_sentences() if commands is None else conversation[:5]
    said = {t for t, _ in words}
    texts: list[tuple[str, str, int]] = []
    for text, command in words:
        if text in table:
            count = plan.pain_voices if command is Command.PAIN else plan.phrase_voices
            texts.append((text, command.value, count))
    extra = [(t, c.value, 1) for t, c in words if t not in table]
    texts += [extra[i] for i in sorted(rng.permutation(len(extra))[: plan.wording_count])]
    around = other.get("around", {})
    for _ in range(plan.around_count if around else 0):
        phrase = str(rng.choice(list(table)))
        lead = str(rng.choice(["", *around["before"]]))
        tail = str(rng.choice(["", *around["after"]])) if lead else str(rng.choice(around["after"]))
        texts.append((normalize(f"{lead} {phrase} {tail}"), table[phrase].value, 1))
    texts += [(s, OTHER, plan.conversation_voices) for s in conversation]
    texts += [(s, OTHER, plan.near_voices) for s in near if s not in said]
    texts += [(s, OTHER, plan.guide_voices) for s in guide if s not in said]
    pieces = ngrams(conversation + guide, set(table) | said, rng, plan.ngram_count)
    texts += [(p, OTHER, 1) for p in pieces if p not in said]
    out = []
    for text, label, count in texts:
        for _ in range(count):
            split = "dev" if rng.random() < plan.dev_fraction else "train"
            scene = random_scene(rng, guide, rooms)
            out.append(
                Task(
                    text,
                    label,
                    random_voice(rng, split, plan.mbrola),
                    scene,
                    int(rng.integers(2**31)),
                    split,
                )
            )
    for _ in range(plan.background_count):
        split = "dev" if rng.random() < plan.dev_fraction else "train"
        scene = replace(random_scene(rng, guide, rooms), snr=0.0, gain=float(rng.uniform(0.1, 2)))
        if scene.bed is None:
            scene = replace(scene, bed="pink")
        out.append(Task("", OTHER, None, scene, int(rng.integers(2**31)), split))
    return out


def make_examples(all_tasks: list[Task], cache: Path, seed: int, workers: int):
    """Vectors, labels and splits of every task (in task order, whatever the worker count)."""
    rooms = impulse_responses(24, seed)
    if workers <= 1:
        _init_worker(cache, rooms)
        results = map(_make, all_tasks)
    else:
        import multiprocessing

        pool = multiprocessing.get_context("fork").Pool(workers, _init_worker, (cache, rooms))
        results = pool.imap(_make, all_tasks, chunksize=8)
    vectors, labels, splits = [], [], []
    t0 = time.time()
    for i, made in enumerate(results):
        for vector, label, split in made:
            vectors.append(vector)
            labels.append(label)
            splits.append(split)
        if i % 1000 == 999:
            print(f"  {i + 1}/{len(all_tasks)} tasks, {time.time() - t0:.0f} s", file=sys.stderr)
    if workers > 1:
        pool.close()
        pool.join()  # reaped workers count in RUSAGE_CHILDREN (cpu_seconds)
    return np.array(vectors), np.array(labels), np.array(splits)


def cpu_seconds() -> float:
    """CPU time of this process and of its finished children (workers, synthesizers, sox)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


# -- fitting --------------------------------------------------------------------------------


def fit_head(x: np.ndarray, y: np.ndarray, hidden: int, seed: int, alpha: float) -> HeadWeights:
    """An MLP (one ReLU layer, softmax out, L2 penalty `alpha`) fitted with scikit-learn,
    exported as arrays."""
    from sklearn.neural_network import MLPClassifier

    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-6
    mlp = MLPClassifier(
        hidden_layer_sizes=(hidden,),
        alpha=alpha,
        batch_size=min(256, len(x)),
        learning_rate_init=1e-3,
        max_iter=300,
        early_stopping=len(x) >= 2000,  # a tiny set (the test's) has too little to hold out
        n_iter_no_change=12,
        random_state=seed,
    )
    mlp.fit((x - mean) / scale, y)
    return HeadWeights(
        labels=tuple(str(c) for c in mlp.classes_),
        mean=mean.astype(np.float32),
        scale=scale.astype(np.float32),
        layers=tuple(
            (w.astype(np.float32), b.astype(np.float32))
            for w, b in zip(mlp.coefs_, mlp.intercepts_, strict=True)
        ),
        thresholds={},
    )


def choose_thresholds(model: CommandModel, x: np.ndarray, y: np.ndarray, pain_recall: float):
    """Per command, the lowest probability to act on at which the dev voices' other speech
    claims it at most 0.4 % of the time (at least 0.5).

    Pain is the exception: its threshold keeps `pain_recall` of the dev pain phrases (at most
    0.5): a false "ouch" costs a lighter stroke and a question, a missed one costs pain.
    """
    probabilities = np.array([model.raw(v) for v in x])
    labels = model.weights.labels
    best = probabilities.argmax(axis=1)
    other = y == OTHER
    allowed = max(2, int(0.004 * other.sum()))
    thresholds = {}
    for j, label in enumerate(labels):
        if label == OTHER:
            continue
        if label == Command.PAIN.value:
            p_pain = probabilities[(best == j) & (y == label), j]
            threshold = float(np.quantile(p_pain, 1 - pain_recall)) if len(p_pain) else 0.5
            thresholds[label] = round(min(threshold, 0.5), 3)
            continue
        claimed = probabilities[(best == j) & other, j]
        grid = np.arange(0.5, 0.96, 0.05)
        thresholds[label] = round(
            float(next((t for t in grid if (claimed >= t).sum() <= allowed), grid[-1])), 2
        )
    return thresholds


def report(model: CommandModel, x: np.ndarray, y: np.ndarray, title: str) -> None:
    """Accuracy on commands, pain recall and false accepts on other speech."""
    heard = np.array([getattr(model.decide(v), "value", OTHER) for v in x])
    commands = y != OTHER
    pain = y == Command.PAIN.value
    accuracy = np.mean(heard[commands] == y[commands])
    print(
        f"{title}: {commands.sum()} commands, accuracy {accuracy:.3f}"
        f", pain recall {np.mean(heard[pain] == y[pain]):.3f}; {(~commands).sum()} other, "
        f"acted on {np.mean(heard[~commands] != OTHER):.4f}"
    )


ROUNDS = (
    Plan(),
    # more commands: the first round's held-out dev voices heard too few of them
    Plan(
        phrase_voices=45, pain_voices=70, conversation_voices=2, near_voices=3, guide_voices=2,
        ngram_count=800, background_count=150,
    ),
    # the natural wordings that joined the phrase table (88 phrases, fillers) after the first
    # two rounds were made; a fresh run has them in every round
    Plan(
        phrase_voices=5, pain_voices=10, wording_count=300, around_count=0,
        conversation_voices=0, near_voices=1, guide_voices=0, ngram_count=100,
        background_count=20,
    ),
    # MBROLA: diphones cut from recordings of real people, 70 % of this round's voices
    Plan(
        phrase_voices=15, pain_voices=25, wording_count=800, around_count=300,
        conversation_voices=2, near_voices=3, guide_voices=1, ngram_count=600,
        background_count=60, mbrola=0.7,
    ),
)  # fmt: skip
"""The shipped head's data: every round's examples (round i seeded with seed + i)."""
HIDDEN = 384  # chosen on the dev voices with ALPHA (docs: data/README.md)
ALPHA = 1.0


def round_examples(
    language: str,
    plan: Plan,
    seed: int,
    work: Path,
    workers: int,
    commands: list[tuple[str, Command]] | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One round's (vectors, labels, splits), cached in `work` under a digest of its inputs
    and made again when its tasks changed (see the module docstring)."""
    cached = work / f"examples-{language}-{round_digest(language, plan, seed, commands)}.npz"
    wall, cpu = time.time(), cpu_seconds()
    all_tasks = tasks(language, plan, seed, 24, commands)
    made_from = hashlib.sha1(repr(all_tasks).encode()).hexdigest()
    if cached.exists():
        with np.load(cached) as data:
            if str(data.get("tasks", made_from)) == made_from:
                if "tasks" not in data:
                    print(f"{cached.name}: cached before tasks were recorded, used as is")
                return data["x"], data["y"], data["split"]
        print(f"{cached.name}: its texts changed (phrase table or train_data), making it again")
    print(f"{len(all_tasks)} tasks (round seeded {seed})", file=sys.stderr)
    x, y, split = make_examples(all_tasks, work / "tts", seed, workers)
    np.savez(cached, x=x, y=y, split=split, tasks=np.array(made_from))
    print(
        f"round seeded {seed}: {len(x)} examples in {time.time() - wall:.0f} s wall, "
        f"{cpu_seconds() - cpu:.0f} s CPU ({workers} workers)",
        file=sys.stderr,
    )
    return x, y, split


def round_digest(
    language: str, plan: Plan, seed: int, commands: list[tuple[str, Command]] | None
) -> str:
    """The cache key of a round: its arguments as the first rounds' digests were made, plus
    every later Plan field (repr=False) that differs from its default."""
    later = {
        f.name: getattr(plan, f.name)
        for f in fields(plan)
        if not f.repr and getattr(plan, f.name) != f.default
    }
    key = repr((language, plan, seed, commands)) + (repr(later) if later else "")
    return hashlib.sha1(key.encode()).hexdigest()[:12]


def train(
    language: str,
    out: Path,
    work: Path,
    plans: Sequence[Plan] = ROUNDS,
    seed: int = 0,
    workers: int = 2,
    hidden: int = HIDDEN,
    alpha: float = ALPHA,
    commands: list[tuple[str, Command]] | None = None,
    compare: Path | None = None,
) -> CommandModel:
    """The whole pipeline: tasks -> examples -> head -> thresholds -> `out` (.npz).

    `compare`: another head (the one being replaced) reported on the same dev examples.
    """
    (work / "tts").mkdir(parents=True, exist_ok=True)
    rounds = [
        round_examples(language, plan, seed + i, work, workers, commands)
        for i, plan in enumerate(plans)
    ]
    x, y, split = (np.concatenate(parts) for parts in zip(*rounds, strict=True))
    train_rows, dev_rows = split == "train", split == "dev"
    if compare is not None and compare.exists():
        report(CommandModel.load(compare), x[dev_rows], y[dev_rows], f"dev voices, {compare}")
    wall, cpu = time.time(), cpu_seconds()
    weights = fit_head(x[train_rows], y[train_rows], hidden, seed, alpha)
    model = CommandModel(weights)
    thresholds = choose_thresholds(model, x[dev_rows], y[dev_rows], pain_recall=0.99)
    model = CommandModel(replace(weights, thresholds=thresholds))
    print(
        f"fitted {train_rows.sum()} examples in {time.time() - wall:.0f} s wall, "
        f"{cpu_seconds() - cpu:.0f} s CPU (hidden {hidden}, alpha {alpha:g})"
    )
    print(f"thresholds: {thresholds}")
    report(model, x[train_rows], y[train_rows], "train voices")
    report(model, x[dev_rows], y[dev_rows], "dev voices")
    model.save(out)
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--language", default="en")
    parser.add_argument("--out", type=Path, default=SHIPPED)
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "vg-train")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every example count")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--hidden", type=int, default=HIDDEN, help="units of the hidden layer")
    parser.add_argument("--alpha", type=float, default=ALPHA, help="L2 penalty of the head")
    parser.add_argument(
        "--compare", type=Path, default=SHIPPED, help="head to report on the same dev examples"
    )
    args = parser.parse_args()
    for program in ("flite", "espeak-ng", "sox"):
        if shutil.which(program) is None:
            raise SystemExit(f"{program} is not installed; run scripts/setup (it installs it)")
    plans = [plan.scaled(args.scale) for plan in ROUNDS]
    for voice in MBROLA["train"] + MBROLA["dev"] if any(p.mbrola for p in plans) else ():
        if subprocess.run(["espeak-ng", "-q", "-v", voice, "a"], capture_output=True).returncode:
            raise SystemExit(f"the MBROLA voice {voice} is missing; run scripts/setup train")
    wall, cpu = time.time(), cpu_seconds()
    train(
        args.language, args.out, args.work, plans, args.seed, args.workers,
        args.hidden, args.alpha, compare=args.compare,
    )  # fmt: skip
    print(
        f"trained in {time.time() - wall:.0f} s wall, {cpu_seconds() - cpu:.0f} s CPU -> {args.out}"
    )


if __name__ == "__main__":
    main()
