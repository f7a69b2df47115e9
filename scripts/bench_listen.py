#!/usr/bin/env python3
"""Listening benchmark: builds its own corpus, judges it with every English engine, prints a table.

Corpus (synthesized here, cached in --work): every command phrase of the language and natural
wordings of them (written for this benchmark, not taken from any training data), ordinary
conversation and near-miss sentences, each clean / pink noise at 15 dB SNR / a synthetic music
bed at 10 dB SNR, by voices in four groups:
  dev        voices the command head was never fitted on: the trainer's own dev voices (flite
             kal, espeak-ng en-029 and en-gb-x-gbcwmd with variants) and MBROLA us2 (used
             while tuning the fusion);
  flite-out  flite voices left out of training (awb, and kal16: the same speaker as the dev
             voice kal, recorded at 16 kHz);
  sam        SAM "Software Automatic Mouth" (npm sam-js, six presets), a synthesizer family
             left out of all training and tuning;
  pico       SVOX Pico (pico2wave, en-US and en-GB at several speeds and pitches), a second
             family left out of all training and tuning, far closer to a human voice than SAM.

English: every utterance the Listener cuts from a stream is judged once by PocketSphinx (its
two decodings and verifier) and once by the embedding head, and the three listeners'
decisions are derived from those scores exactly as their finish() decides: PocketSphinx alone,
the embedding model alone, the fusion. Each utterance is decoded once, whatever the number of
listeners. RTF and peak RSS come from `voice-guide listen FILE --json --engine E` in a child
process on a sample of streams (the real command, the same 20 ms path as a microphone).
Korean (`--language ko`) runs `voice-guide listen --engine vosk` on every stream.

    .venv/bin/python scripts/bench_listen.py --split dev --markdown en_dev.md
    .venv/bin/python scripts/bench_listen.py --split flite-out --split sam --split pico \
        --markdown en_out.md
    .venv/bin/python scripts/bench_listen.py --language ko --markdown ko.md
    .venv/bin/python scripts/bench_listen.py --plot-only en_*.md --plot docs/listening.png
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import wave
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))  # process_memory.py
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from process_memory import TreePeak

from voice_guide.commands import Command, phrase_table, vocabulary
from voice_guide.room import BEDS
from voice_guide.speech_in.audio import SAMPLE_RATE, read_wav, resample

CONDITIONS = {"clean": None, "pink15": ("pink", 15.0), "music10": ("music", 10.0)}
COMMAND_GAP = 1.2  # seconds of background between command phrases
TALK_GAP = 0.35  # between conversation sentences (people talk in runs)
NEAR_GAP = 1.2
AFTER = 1.2  # a detection this long after a phrase still belongs to it
SAM_JS = "sam-js@0.3.1"
SHARE = 3  # each voice says every SHARE-th table phrase (see build_corpus)

# (name, synthesizer, voice, options)
VOICES = {
    "en": {
        "dev": [  # never fitted on: the trainer's dev voices (scripts/train_commands.py)
            ("flite-kal", "flite", "kal", []),
            ("espeak-029-m3", "espeak", "en-029+m3", ["-s", "160"]),
            ("espeak-gbcwmd-f2-fast", "espeak", "en-gb-x-gbcwmd+f2", ["-s", "190"]),
            ("mbrola-us2", "espeak", "mb-us2", ["-s", "155"]),
        ],
        "flite-out": [
            ("flite-awb", "flite", "awb", []),
            ("flite-kal16", "flite", "kal16", []),
        ],
        "sam": [  # speed, pitch, throat, mouth: the presets of SAM's manual
            ("sam", "sam", "sam", ["72", "64", "128", "128"]),
            ("sam-elf", "sam", "sam", ["72", "64", "110", "160"]),
            ("sam-robot", "sam", "sam", ["92", "60", "190", "190"]),
            ("sam-stuffy", "sam", "sam", ["82", "72", "110", "105"]),
            ("sam-old-lady", "sam", "sam", ["82", "32", "145", "145"]),
            ("sam-et", "sam", "sam", ["100", "64", "150", "200"]),
        ],
        "pico": [  # speed %, pitch %: SSML of pico2wave
            ("pico-us", "pico", "en-US", ["100", "100"]),
            ("pico-gb", "pico", "en-GB", ["100", "100"]),
            ("pico-us-slow-high", "pico", "en-US", ["85", "125"]),
            ("pico-gb-fast-low", "pico", "en-GB", ["115", "85"]),
        ],
    },
    "ko": {
        "dev": [("espeak-ko", "espeak", "ko", ["-s", "160"])],
        "heldout": [
            ("espeak-ko-f3", "espeak", "ko+f3", ["-s", "150"]),
            ("espeak-ko-m3-fast", "espeak", "ko+m3", ["-s", "190"]),
        ],
    },
}

# How people say a command around the table's phrases (politeness, fillers, synonyms).
NATURAL = {
    "en": [
        ("okay next please", "next"),
        ("um next step please", "next"),
        ("let's move on", "next"),
        ("go ahead now", "next"),
        ("can we go back", "back"),
        ("go back please", "back"),
        ("sorry can you repeat that", "repeat"),
        ("say that again please", "repeat"),
        ("a bit lighter please", "lighter"),
        ("could you go a little softer", "lighter"),
        ("um not so hard", "lighter"),
        ("just a touch lighter", "lighter"),
        ("a little harder please", "stronger"),
        ("could you press a bit harder", "stronger"),
        ("you can go deeper", "stronger"),
        ("a bit more pressure", "stronger"),
        ("oh that feels great", "great"),
        ("that's lovely", "great"),
        ("mm that's perfect", "great"),
        ("hang on", "pause"),
        ("wait a second", "pause"),
        ("stop for a moment please", "pause"),
        ("hold on a second", "pause"),
        ("okay keep going", "resume"),
        ("you can continue now", "resume"),
        ("ow my shoulder", "pain"),
        ("ouch that hurts", "pain"),
        ("ow ow", "pain"),
        ("that really hurts", "pain"),
        ("ouch too much", "pain"),
        ("how much time is left", "time"),
        ("is there much time left", "time"),
        ("how long is left", "time"),
        ("um help", "help"),
        ("what can i say now", "help"),
        ("okay we're done", "end"),
        ("let's end the session", "end"),
        ("yes please", "yes"),
        ("yeah sure", "yes"),
        ("no thank you", "no"),
        ("no not today", "no"),
    ],
    "ko": [],
}

CONVERSATION = {
    "en": [
        "how was your weekend",
        "the music is lovely",
        "i went to the market yesterday and bought some apples",
        "my sister is coming to visit in march",
        "did you see the game last night",
        "the weather has been really cold this week",
        "i think the kids are asleep now",
        "we should paint the kitchen a brighter color",
        "this room smells like lavender",
        "my shoulders have been tense since monday",
        "i started reading a new book about sailing",
        "the neighbors got a new dog",
        "remind me to call the dentist tomorrow",
        "i love this song",
        "work was busy today",
        "the traffic on the bridge was terrible",
        "we could order pizza for dinner",
        "my phone battery is almost empty",
        "i saw an old friend at the station",
        "the garden needs watering",
        "what did the doctor say about your knee",
        "i am thinking about learning to play the piano",
        "the coffee here is much better than at the office",
        "can you believe it is already december",
        "i left my keys in the car",
        "she told me a funny story about her cat",
        "the train was twenty minutes late",
        "my brother moved to a new apartment",
        "i want to plant tomatoes this spring",
        "that movie was longer than i expected",
        "the bakery sells fresh bread on saturdays",
        "i need to take the car to the garage",
        "our holiday photos finally arrived",
        "the kids built a snowman in the garden",
        "my colleague is leaving the company",
        "i think it might rain later",
        "we had fish and chips by the sea",
        "the new neighbours seem friendly",
        "i have to finish my tax return",
        "the hospital car park was full",
        "my daughter started learning the violin",
        "this blanket is really soft",
        "the heating bill went up again",
        "i heard an owl last night",
        "he always sings in the shower",
        "the lake was frozen this morning",
        "i bought flowers for your mother",
        "the cinema was almost empty",
        "we should invite them for lunch",
        "my watch stopped working",
        "the hotel breakfast was excellent",
        "i spent the whole day cleaning",
        "the bus driver was very kind",
        "she is allergic to cats",
        "we walked along the canal",
        "the stew needs another hour",
        "my cousin is a nurse in leeds",
        "the wifi at the library is slow",
        "i found a coin in the sofa",
        "the roof needs fixing before winter",
        "our team won the quiz",
        "the apples from the tree are sour",
        "i want to visit scotland next year",
        "my boots are full of sand",
        "the museum is free on sundays",
        "the clock is five minutes fast",
        "we forgot to buy candles",
        "the river flooded the fields",
        "i like the quiet in the mornings",
        "my friend makes her own cheese",
        "the printer ran out of ink",
        "i wonder what the children are doing",
        "the film was based on a true story",
        "we saw dolphins from the boat",
        "the bread rolls are still warm",
        "her wedding dress was beautiful",
        "the shop on the corner sells newspapers",
        "i used to play tennis at school",
        "the soup tastes of ginger",
        "my grandfather was a fisherman",
        "the garden looks better in the evening",
        "we might move to the countryside",
        "the dog chewed my slippers",
        "i keep meaning to call her",
        "the queue for the ferry was huge",
        "my jumper shrank in the wash",
        "the bees love the lavender",
        "our street is very quiet at night",
        "i made a cake for the school fair",
        "the lights went out during the storm",
    ],
    "ko": [
        "주말 어떻게 보냈어요",
        "음악이 정말 좋네요",
        "어제 시장에 가서 사과를 샀어요",
        "오늘 날씨가 많이 추워요",
        "동생이 다음 달에 놀러 와요",
        "저녁에 뭐 먹을까요",
        "회사 일이 너무 바빴어요",
        "새 책을 읽기 시작했어요",
        "커피가 정말 맛있네요",
        "기차가 이십 분 늦었어요",
        "강아지가 너무 귀여워요",
        "내일 치과에 전화해야 해요",
    ],
}

NEAR_MISSES = {
    "en": [
        "next week we fly to lisbon",
        "go back to sleep",
        "i need help with my taxes",
        "the light was stronger than yesterday",
        "stop by the bakery on the way home",
        "wait until you hear this",
        "keep going straight at the lights",
        "it hurts my feelings when he says that",
        "how long is the flight to tokyo",
        "perfect weather for a picnic",
        "that feels like a long time ago",
        "move on to the next topic please",
        "say that again and i will laugh",
        "a little lighter than the blue one",
        "not so hard to find after all",
        "we're done with the painting",
    ],
    "ko": [
        "다음 주에 여행 가요",
        "시간이 빨리 가네요",
        "계속 비가 와요",
        "잠깐 시장에 다녀올게요",
        "다시 생각해 보니 좋은 것 같아요",
    ],
}

LISTENERS = ("pocketsphinx", "embedding", "fusion")


@dataclass
class Item:
    """One utterance placed in a stream (seconds)."""

    kind: str  # command | natural | talk | near
    text: str
    command: str | None
    start: float
    end: float


@dataclass
class Stream:
    voice: str
    split: str
    condition: str
    kind: str  # commands | talk | near
    path: Path
    items: list[Item] = field(default_factory=list)
    seconds: float = 0.0


def sam_script(work: Path) -> Path:
    """A tiny node script that writes SAM's WAV (sam-js installed with npm into `work`)."""
    script = work / "sam" / "sam_wav.js"
    if not (work / "sam" / "node_modules" / "sam-js").exists():
        if shutil.which("npm") is None:
            raise SystemExit("the SAM voices need node and npm: apt-get install nodejs npm")
        script.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["npm", "install", "--silent", "--prefix", str(script.parent), SAM_JS], check=True
        )
    script.write_text(
        "const SamJs = require('sam-js'); const fs = require('fs');\n"
        "const [text, out, speed, pitch, throat, mouth] = process.argv.slice(2);\n"
        "const sam = new SamJs({speed: +speed, pitch: +pitch, throat: +throat, mouth: +mouth});\n"
        "fs.writeFileSync(out, Buffer.from(sam.wav(text)));\n"
    )
    return script


def synthesize(
    synth: str, voice: str, options: list[str], text: str, path: Path, work: Path
) -> np.ndarray:
    """Synthesize `text`, return 16 kHz float32 with leading/trailing silence trimmed."""
    if not path.exists():
        if synth == "flite":
            cmd = ["flite", "-voice", voice, *options, "-t", text, "-o", str(path)]
        elif synth == "sam":
            cmd = ["node", str(sam_script(work)), text, str(path), *options]
        elif synth == "pico":
            speed, pitch = options
            ssml = f'<speed level="{speed}"><pitch level="{pitch}">{text}</pitch></speed>'
            cmd = ["pico2wave", "-l", voice, "-w", str(path), ssml]
        else:
            cmd = ["espeak-ng", "-v", voice, *options, "-w", str(path), text]
        subprocess.run(cmd, check=True, capture_output=True)
    wav = read_wav(path)
    audio = resample(wav.samples, wav.sample_rate)
    audio = audio - np.mean(audio)  # SAM writes unsigned 8-bit: no DC offset into the mix
    loud = np.flatnonzero(np.abs(audio) > 0.02 * np.max(np.abs(audio)))
    return audio[loud[0] : loud[-1] + 1] if len(loud) else audio


def build_stream(
    stream: Stream, pieces: list[tuple[np.ndarray, Item]], gap: float, seed: int
) -> None:
    """Lay the pieces out with gaps, add the background at the condition's SNR, write WAV."""
    rng = np.random.default_rng(seed)
    gap_n = int(gap * SAMPLE_RATE)
    total = gap_n + sum(len(a) + gap_n for a, _ in pieces)
    speech = np.zeros(total, dtype=np.float32)
    pos = gap_n
    speech_power = []
    for audio, item in pieces:
        audio = audio * (0.3 / np.max(np.abs(audio)))
        speech[pos : pos + len(audio)] = audio
        item.start, item.end = pos / SAMPLE_RATE, (pos + len(audio)) / SAMPLE_RATE
        speech_power.append(np.mean(audio**2))
        stream.items.append(item)
        pos += len(audio) + gap_n
    background = CONDITIONS[stream.condition]
    mix = speech
    if background is not None:
        kind, snr = background
        bed = BEDS[kind](total, rng)
        level = np.sqrt(np.mean(speech_power)) / (10 ** (snr / 20))
        mix = speech + bed * level
    stream.seconds = total / SAMPLE_RATE
    if stream.path.exists():
        return
    with wave.open(str(stream.path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        w.writeframes((np.clip(mix, -1, 1) * 32767).astype("<i2").tobytes())


def build_corpus(
    language: str, work: Path, only: list[str] | None = None, voices: list[str] | None = None
) -> list[Stream]:
    """Synthesize every utterance and write the streams (cached in `work`); `only` these
    voice groups, and of them only these `voices` (names) when given."""
    table = phrase_table(language)
    tts = work / "tts"
    tts.mkdir(parents=True, exist_ok=True)
    streams = []
    for split, group in VOICES[language].items():
        if only and split not in only:
            continue
        for v, (name, synth, voice, options) in enumerate(group):
            if voices and name not in voices:
                continue

            def say(text: str, name=name, synth=synth, voice=voice, options=options) -> np.ndarray:
                key = f"{name}_{hashlib.sha1(text.encode()).hexdigest()[:12]}.wav"
                return synthesize(synth, voice, options, text, tts / key, work)

            # Each voice says a share of the table (every SHARE-th phrase, starting at its own
            # index) and of the natural wordings, all voices say every pain phrase: the table
            # is 150+ phrases, and 30 minutes of talk per condition must fit too.
            phrases = [
                (p, c) for i, (p, c) in enumerate(table.items())
                if i % SHARE == v % SHARE or c is Command.PAIN
            ]  # fmt: skip
            natural = NATURAL[language][v % 2 :: 2]
            commands = [(say(p), Item("command", p, c.value, 0, 0)) for p, c in phrases]
            commands += [(say(t), Item("natural", t, c, 0, 0)) for t, c in natural]
            talk = [(say(s), Item("talk", s, None, 0, 0)) for s in CONVERSATION[language]]
            near = [(say(s), Item("near", s, None, 0, 0)) for s in NEAR_MISSES[language]]
            for c, condition in enumerate(CONDITIONS):
                for kind, pieces, gap in (
                    ("commands", commands, COMMAND_GAP),
                    ("talk", talk, TALK_GAP),
                    ("near", near, NEAR_GAP),
                ):
                    # the stream's texts in its name: a changed phrase table is a new stream
                    texts = hashlib.sha1("|".join(i.text for _, i in pieces).encode())
                    path = (
                        work / f"{language}_{name}_{condition}_{kind}_{texts.hexdigest()[:8]}.wav"
                    )
                    stream = Stream(name, split, condition, kind, path)
                    fresh = [(a, Item(i.kind, i.text, i.command, 0, 0)) for a, i in pieces]
                    build_stream(stream, fresh, gap, seed=1000 * v + 10 * c + len(kind))
                    streams.append(stream)
    return streams


# -- judging: English, every listener from one pass ------------------------------------------


@dataclass(frozen=True)
class Judged:
    """One utterance the Listener cut, with what each listener would have said about it."""

    end: float
    """Stream time when the utterance ended (= detected_at of any detection on it)."""
    heard: dict[str, str | None]
    """Listener -> command value it would act on, or None."""
    seconds: dict[str, float]
    """Listener -> computing done once the utterance ended (decision time)."""
    consulted: bool
    """Whether the fusion needed PocketSphinx."""
    raw: dict
    """The scores behind the decisions (head probabilities; PocketSphinx's command, wording,
    verifier features and margin; extra speech; CPU times), from which `derive` decides:
    --reuse and --tune decide again from them without decoding."""


def derive(end: float, raw: dict, fused, settings=None, recorded: dict | None = None) -> Judged:
    """Every listener's decision on one utterance from its `raw` scores, as their finish()
    decides (`fused`: a FusedRecognizer for its head, PocketSphinx and FusionSettings, or
    other `settings`). Records made before the wording was kept give PocketSphinx alone's
    `recorded` decision."""
    opinion = sphinx_opinion(raw, fused, recorded)
    p = probabilities(raw)
    decision = (settings or fused.settings).decide(p, lambda: opinion)
    alone = opinion.command if opinion.accepted else None
    embedding = fused.head.model.choose(p)
    return Judged(
        end=end,
        heard={
            "pocketsphinx": alone and alone.value,
            "embedding": embedding and embedding.value,
            "fusion": decision.command and decision.command.value,
        },
        seconds={
            "pocketsphinx": raw["t_sphinx"],
            "embedding": raw["t_head"],
            "fusion": raw["t_head"] + (raw["t_sphinx"] if decision.consulted else 0.0),
        },
        consulted=decision.consulted,
        raw=raw,
    )


def probabilities(raw: dict) -> dict:
    """The head's recorded probabilities, keyed as CommandModel.probabilities keys them."""
    from voice_guide.speech_in.command_model import OTHER

    return {(k if k == OTHER else Command(k)): v for k, v in raw["p"].items()}


def sphinx_opinion(raw: dict, fused, recorded: dict | None = None):
    """PocketSphinx's recorded scores as the fusion sees them (FusedRecognizer.sphinx_opinion)."""
    from voice_guide.speech_in.embedding_engine import SphinxOpinion
    from voice_guide.speech_in.listener import MAX_EXTRA_SPEECH

    command = raw["sphinx"] and Command(raw["sphinx"])
    whole = bool(command) and raw["extra"] <= MAX_EXTRA_SPEECH
    margin = raw["margin"]
    if "phrase" in raw:  # the verifier's features were kept: its current settings decide
        margin = fused.sphinx.settings.margin(raw["features"]) if command else margin
        needed = command and fused.sphinx.needed_margin(command, raw["phrase"])
        accepted = whole and margin >= needed
    else:
        accepted = bool(recorded and recorded["pocketsphinx"])
    return SphinxOpinion(command, margin, accepted, whole)


class Probe:
    """A Recognizer that scores each utterance with both engines (or the head alone, with
    `sphinx` off) and decides nothing: `cuts` gets (end, raw scores) per utterance."""

    def __init__(self, fused=None) -> None:
        """Score with `fused`'s engines (default: a new FusedRecognizer for English)."""
        from voice_guide.speech_in.embedding_engine import FusedRecognizer

        self.fused = fused or FusedRecognizer(vocabulary("en"))
        self.language = "en"
        self.description = "benchmark probe"
        self.missing_phrases: list[str] = []
        self.listener = None
        self.sphinx = True
        self.cuts: list[tuple[float, dict]] = []
        self._chunks: list[np.ndarray] = []

    def begin(self) -> None:
        self.fused.head.begin()
        self._chunks = []

    def accept(self, samples: np.ndarray) -> None:
        self.fused.head.accept(samples)
        self._chunks.append(samples)

    def cancel(self) -> None:
        self.fused.head.cancel()
        self._chunks = []

    def finish(self) -> None:
        head = self.fused.head
        t0 = time.process_time()
        probabilities = head.probabilities()
        raw = {
            "p": {str(getattr(k, "value", k)): round(v, 4) for k, v in probabilities.items()},
            "t_head": time.process_time() - t0,
        }
        head.cancel()
        if self.sphinx:
            raw |= self._sphinx_scores(np.concatenate(self._chunks))
        self.cuts.append((self.listener.stream_time, raw))

    def _sphinx_scores(self, audio: np.ndarray) -> dict:
        """PocketSphinx's part of the raw scores (both decodings, timed)."""
        sphinx = self.fused.sphinx
        t0 = time.process_time() + sphinx.decoder_cpu
        scores = sphinx.score(audio)
        seconds = len(audio) / SAMPLE_RATE
        opinion = self.fused.sphinx_opinion(scores, seconds)
        return {
            "sphinx": opinion.command and opinion.command.value,
            "phrase": scores.phrase,
            "features": list(scores.features()),
            "margin": opinion.margin,
            "extra": self.fused.extra_speech(scores, seconds),
            "t_sphinx": time.process_time() + sphinx.decoder_cpu - t0,
        }


_probe: Probe | None = None


def judge_stream(job: tuple[Path, list[dict] | None]) -> list[Judged]:
    """Run one stream through the real Listener with the probe (20 ms chunks). With its
    `saved` judged utterances, only the head scores again; PocketSphinx's scores come from
    them, matched by the utterances' end times (the Listener's cuts do not depend on the
    recognizer: the probe never decides early)."""
    global _probe
    from voice_guide.speech_in.listener import Listener

    path, saved = job
    if _probe is None:
        _probe = Probe()
    listener = Listener(_probe)
    _probe.listener, _probe.cuts, _probe.sphinx = listener, [], saved is None
    audio = read_wav(path).resampled(SAMPLE_RATE).samples
    for offset in range(0, len(audio), 320):
        listener.feed(audio[offset : offset + 320])
    listener.flush()
    if saved is None:
        return [derive(end, raw, _probe.fused) for end, raw in _probe.cuts]
    ends = [end for end, _ in _probe.cuts]
    if len(ends) != len(saved) or any(
        abs(a - j["end"]) > 1e-6 for a, j in zip(ends, saved, strict=False)
    ):
        raise SystemExit(
            f"--reuse: {path.name}: the Listener cut {len(ends)} utterances, the record has "
            f"{len(saved)} (first ends {ends[:3]} vs {[j['end'] for j in saved[:3]]}); the "
            "segmenter changed since the record was made: judge it again without --reuse"
        )
    return [
        derive(end, j["raw"] | head, _probe.fused, recorded=j["heard"])
        for (end, head), j in zip(_probe.cuts, saved, strict=True)
    ]


# -- judging: child processes (RTF, RSS; Korean) ---------------------------------------------


@dataclass
class Run:
    """Detections of one listener on one stream, with its cost."""

    detections: list[dict]
    cpu_seconds: float
    peak_rss_mb: float


def run_listen(stream: Stream, engine: str, language: str) -> Run:
    """`voice-guide listen FILE --json` in a child process; CPU time from wait4 (the decoder
    process it waits for included), peak RSS from /proc over the child and its decoder
    process (ru_maxrss of a child also counts the parent's memory at fork)."""
    cmd = [sys.executable, "-m", "voice_guide", "listen", str(stream.path), "--json"]
    cmd += ["--engine", engine, "--language", language]
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, text=True)
        peak = TreePeak(proc.pid)
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            peak.sample()
            time.sleep(0.05)
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0), err.seek(0)
        if proc.returncode:
            raise SystemExit(f"listen failed on {stream.path}: {err.read().strip()}")
        lines = out.read().splitlines()
    detections = [json.loads(line) for line in lines if line.strip()]
    return Run(detections, usage.ru_utime + usage.ru_stime, peak.mb)


# -- scoring ----------------------------------------------------------------------------------


@dataclass
class Score:
    """Counts for one (listener, split, condition) cell."""

    commands: int = 0
    correct: int = 0
    wrong: int = 0
    natural: int = 0
    natural_correct: int = 0
    pain: int = 0
    pain_heard: int = 0
    talk_seconds: float = 0.0
    talk_accepts: int = 0
    near: int = 0
    near_accepts: int = 0
    delays: list[float] = field(default_factory=list)
    decisions: list[float] = field(default_factory=list)
    confusions: Counter = field(default_factory=Counter)
    false_accepts: Counter = field(default_factory=Counter)

    def add(self, stream: Stream, detections: list[dict]) -> None:
        """Match detections to the stream's items."""
        unused = sorted(detections, key=lambda d: d["detected_at"])
        if stream.kind == "talk":
            self.talk_seconds += stream.seconds
            self.talk_accepts += len(unused)
            self.false_accepts.update(d["command"] for d in unused)
            return
        for item in stream.items:
            # A detection belongs to the item it follows, before the next item begins.
            window = [d for d in unused if item.start <= d["detected_at"] <= item.end + AFTER]
            for d in window:
                unused.remove(d)
            if item.kind == "near":
                self.near += 1
                self.near_accepts += bool(window)
                self.false_accepts.update(d["command"] for d in window)
                continue
            right = bool(window) and window[0]["command"] == item.command
            if item.command == Command.PAIN.value:
                self.pain += 1
                self.pain_heard += right
            if item.kind == "natural":
                self.natural += 1
                self.natural_correct += right
                continue
            self.commands += 1
            if right:
                self.correct += 1
                self.delays.append(window[0]["detected_at"] - item.end)
            elif window:
                self.wrong += 1
                self.confusions[f"{item.text}->{window[0]['command']}"] += 1

    def row(self) -> dict[str, float]:
        """The printed metrics."""
        delays = sorted(self.delays) or [float("nan")]
        decisions = sorted(self.decisions) or [float("nan")]
        return {
            "table": self.correct / max(1, self.commands),
            "natural": self.natural_correct / max(1, self.natural),
            "pain": self.pain_heard / max(1, self.pain),
            "wrong": self.wrong / max(1, self.commands),
            "fa_per_min": self.talk_accepts / max(1e-9, self.talk_seconds / 60),
            "talk_min": self.talk_seconds / 60,
            "near_accepts": self.near_accepts / max(1, self.near),
            "delay_p50": statistics.median(delays),
            "delay_p95": _p95(delays),
            "decision_p50": 1000 * statistics.median(decisions),
            "decision_p95": 1000 * _p95(decisions),
        }


def _p95(values: list[float]) -> float:
    return values[min(len(values) - 1, int(0.95 * len(values)))]


def cost(streams: list[Stream], engines: list[str], language: str, count: int) -> list[str]:
    """RTF and peak RSS of `voice-guide listen` per engine on a sample of streams."""
    sample = [s for s in streams if s.condition != "clean"][:: max(1, len(streams) // count)]
    lines = []
    for engine in engines:
        cpu = audio = rss = 0.0
        for stream in sample[:count]:
            run = run_listen(stream, engine, language)
            cpu, audio, rss = (
                cpu + run.cpu_seconds,
                audio + stream.seconds,
                max(rss, run.peak_rss_mb),
            )
        lines.append(
            f"| {engine} | {len(sample[:count])} streams, {audio / 60:.1f} min | "
            f"{cpu / max(1e-9, audio):.3f} | {rss:.0f} |"
        )
    return lines


def judge_all(
    streams: list[Stream], jobs: int, saved: dict[str, list[dict]] | None = None
) -> list[dict]:
    """Every stream through the probe, `jobs` at a time: one record per stream. A stream
    with `saved` judged utterances (by stream file name) has only its head scored again."""
    saved = saved or {}
    records = []
    with multiprocessing.get_context("fork").Pool(jobs) as pool:
        results = pool.imap(judge_stream, [(s.path, saved.get(s.path.name)) for s in streams])
        for stream, judged in zip(streams, results, strict=True):
            records.append(
                {
                    "stream": stream.path.name,
                    "voice": stream.voice,
                    "split": stream.split,
                    "condition": stream.condition,
                    "kind": stream.kind,
                    "seconds": stream.seconds,
                    "items": [vars(i) for i in stream.items],
                    "judged": [vars(j) for j in judged],
                }
            )
            print(f"  {stream.path.name}: {len(judged)} utterances", file=sys.stderr)
    return records


def decided_again(records: list[dict]) -> list[dict]:
    """Saved records with every decision derived again from their scores under the current
    rules (FusionSettings, SphinxSettings; the head's probabilities as recorded)."""
    from voice_guide.speech_in.embedding_engine import FusedRecognizer

    fused = FusedRecognizer(vocabulary("en"))
    return [
        r
        | {
            "judged": [
                vars(derive(j["end"], j["raw"], fused, recorded=j["heard"])) for j in r["judged"]
            ]
        }
        for r in records
    ]


def reused(paths: list[Path]) -> dict[str, list[dict]]:
    """Judged utterances of saved records, by stream file name."""
    return {r["stream"]: r["judged"] for path in paths for r in json.loads(path.read_text())}


def stream_of(record: dict, work: Path) -> Stream:
    """The Stream a saved record was judged on."""
    stream = Stream(
        record.get("voice", record["stream"].split("_")[1]),
        record["split"],
        record["condition"],
        record["kind"],
        work / record["stream"],
    )
    stream.items, stream.seconds = [Item(**i) for i in record["items"]], record["seconds"]
    return stream


def scored(records: list[dict], work: Path) -> tuple[dict[tuple[str, str, str], Score], int, int]:
    """Scores per (listener, voices, condition) from saved records; utterances on which the
    fusion consulted PocketSphinx, and all utterances."""
    scores: dict[tuple[str, str, str], Score] = {}
    consulted = judged = 0
    for record in records:
        stream = stream_of(record, work)
        for listener in LISTENERS:
            score = scores.setdefault((listener, stream.split, stream.condition), Score())
            heard = [j for j in record["judged"] if j["heard"][listener]]
            score.add(
                stream, [{"command": j["heard"][listener], "detected_at": j["end"]} for j in heard]
            )
            if stream.kind == "commands" and stream.condition == "clean":
                score.decisions += [j["seconds"][listener] for j in record["judged"]]
        consulted += sum(j["consulted"] for j in record["judged"])
        judged += len(record["judged"])
    return scores, consulted, judged


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--language", default="en")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "vg-bench")
    parser.add_argument("--split", action="append", help="only these voice groups (repeatable)")
    parser.add_argument("--voice", action="append", help="only these voices (repeatable)")
    parser.add_argument("--jobs", type=int, default=2, help="streams judged in parallel")
    parser.add_argument("--cost-streams", type=int, default=4, help="streams run as children")
    parser.add_argument("--markdown", type=Path, help="write the tables here")
    parser.add_argument("--records", type=Path, help="write every judged utterance here (JSON)")
    parser.add_argument("--plot", type=Path, help="write a PNG plot of the tables here")
    parser.add_argument(
        "--plot-only", nargs="+", type=Path, help="plot these saved --markdown tables and exit"
    )
    parser.add_argument("--tune", type=Path, help="FusionSettings grid on saved dev --records")
    parser.add_argument(
        "--from-records",
        type=Path,
        help="tabulate saved --records, decided again from their scores (no judging)",
    )
    parser.add_argument(
        "--reuse",
        type=Path,
        action="append",
        help="saved --records: their streams take PocketSphinx's scores from there and only "
        "score the head again (minutes, not an hour); repeatable",
    )
    args = parser.parse_args()
    if args.tune:
        tune(args.tune)
        return
    if args.plot_only:
        plot(args.plot_only, args.plot or Path("listening.png"))
        return
    args.work.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    streams = build_corpus(args.language, args.work, args.split, args.voice)
    print(f"corpus: {len(streams)} streams in {time.time() - t0:.0f} s", file=sys.stderr)
    scores: dict[tuple[str, str, str], Score] = {}
    if args.language == "en":
        listeners = list(LISTENERS)
        if args.from_records:
            records = decided_again(json.loads(args.from_records.read_text()))
            streams = [stream_of(r, args.work) for r in records]
        else:
            records = judge_all(streams, args.jobs, reused(args.reuse or []))
        if args.records:
            args.records.write_text(json.dumps(records))
        scores, consulted, judged_count = scored(records, args.work)
        note = (
            f"The fusion consulted PocketSphinx on {consulted} of {judged_count} utterances "
            f"({consulted / max(1, judged_count):.0%})."
        )
    else:
        listeners = ["vosk"]
        for stream in streams:
            run = run_listen(stream, "vosk", args.language)
            scores.setdefault(("vosk", stream.split, stream.condition), Score()).add(
                stream, run.detections
            )
        note = ""
    lines = [
        f"Listening benchmark, language {args.language}: {len(streams)} streams, "
        f"{sum(s.seconds for s in streams) / 60:.1f} min of audio "
        f"(voices: {', '.join(sorted({s.voice for s in streams}))})",
        "",
        "| listener | voices | condition | table | natural | pain recall | wrong cmd | "
        "FA/min talk | talk min | near-miss accepts | delay p50 s | delay p95 s | "
        "decision p50 ms | decision p95 ms |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for (listener, split, condition), score in sorted(scores.items()):
        r = score.row()
        lines.append(
            f"| {listener} | {split} | {condition} | {r['table']:.3f} | {r['natural']:.3f} | "
            f"{r['pain']:.3f} | {r['wrong']:.3f} | {r['fa_per_min']:.2f} | {r['talk_min']:.1f} | "
            f"{r['near_accepts']:.2f} | {r['delay_p50']:.2f} | {r['delay_p95']:.2f} | "
            f"{r['decision_p50']:.0f} | {r['decision_p95']:.0f} |"
        )
    lines += ["", note, "", "Most frequent mistakes (all conditions):", ""]
    for listener in listeners:
        confusions: Counter = Counter()
        accepts: Counter = Counter()
        for (name, _, _), score in scores.items():
            if name == listener:
                confusions += score.confusions
                accepts += score.false_accepts
        wrong = ", ".join(f"{k} {n}" for k, n in confusions.most_common(6)) or "none"
        talk = ", ".join(f"{k} {n}" for k, n in accepts.most_common(4)) or "none"
        lines.append(f"- {listener}: wrong command: {wrong}; on talk/near misses: {talk}")
    if args.cost_streams:
        lines += ["", "| engine | sample | RTF | peak RSS MB |", "|---|---|---|---|"]
        lines += cost(streams, listeners, args.language, args.cost_streams)
    table = "\n".join(lines)
    print(table)
    if args.markdown:
        args.markdown.write_text(table + "\n", encoding="utf-8")
    if args.plot and args.markdown:
        plot([args.markdown], args.plot)


TUNE_GRID = {
    "keep": (0.2, 0.3, 0.4, 0.5, 0.6),
    "add": (0.7, 0.8, 0.9, 0.95),
    "safety": (0.1, 0.2, 0.3),
    "pain_head": (0.35, 0.5, 0.7, 1.01),
    "sure_other": (0.999, 1.0),
}


def tune(records_path: Path) -> None:
    """Fit the fusion on saved dev --records and print its FusionSettings: the logistic model
    by voice-wise cross-validation (each dev voice judged by a model fitted on the others),
    the bars on those cross-validated judgements, so the fusion is as rarely worse than
    PocketSphinx alone as possible, in any condition (table phrases, pain recall, near
    misses, and a tenth of the false accepts per minute). Held-out voices must not choose
    anything: dev records only."""
    from itertools import product

    from voice_guide.speech_in.embedding_engine import FusedRecognizer, FusionSettings

    fused = FusedRecognizer(vocabulary("en"))
    records = json.loads(records_path.read_text())
    if any(r["split"] != "dev" for r in records):
        raise SystemExit("tune on dev voices only (--split dev records)")
    x, y, voice = _fusion_examples(records, fused)
    folds = {v: _fit_logistic(x[voice != v], y[voice != v]) for v in sorted(set(voice))}
    alone = _condition_rows(records, lambda r, j: j["heard"]["pocketsphinx"])
    trials = []
    for bars in product(*TUNE_GRID.values()):
        knobs = dict(zip(TUNE_GRID, bars, strict=True))
        per_voice = {v: FusionSettings(w, b, **knobs) for v, (w, b) in folds.items()}
        rows = _condition_rows(
            records,
            lambda r, j, s=per_voice: derive(
                j["end"], j["raw"], fused, s[r["voice"]], j["heard"]
            ).heard["fusion"],
        )
        worse = sum(
            max(0.0, alone[c]["table"] - row["table"])
            + max(0.0, alone[c]["pain"] - row["pain"])
            + max(0.0, row["near_accepts"] - alone[c]["near_accepts"])
            + 0.1 * max(0.0, row["fa_per_min"] - alone[c]["fa_per_min"])
            for c, row in rows.items()
        )
        gain = sum(row["table"] + row["pain"] for row in rows.values())
        trials.append((worse, -gain, bars, rows))
    worse, _, bars, rows = min(trials, key=lambda t: t[:2])
    weights, bias = _fit_logistic(x, y)
    print("condition | listener | table | natural | pain | FA/min | near-miss accepts")
    for condition in rows:
        for name, row in (("pocketsphinx", alone[condition]), ("fusion (CV)", rows[condition])):
            print(
                f"{condition} | {name} | {row['table']:.3f} | {row['natural']:.3f} | "
                f"{row['pain']:.3f} | {row['fa_per_min']:.2f} | {row['near_accepts']:.3f}"
            )
    print(f"worse than PocketSphinx alone by {worse:.3f} (sum over conditions)")
    knobs = ", ".join(f"{k}={v}" for k, v in zip(TUNE_GRID, bars, strict=True))
    print(
        f"FusionSettings(weights=({', '.join(f'{w:.3f}' for w in weights)}), "
        f"bias={bias:.3f}, {knobs})"
    )


def _said(record: dict) -> dict[int, str]:
    """Judged utterance index -> the command said there (the first utterance in a phrase's
    window, as Score.add matches detections)."""
    said: dict[int, str] = {}
    for item in record["items"]:
        if item["command"] is None:
            continue
        for i, j in enumerate(record["judged"]):
            if item["start"] <= j["end"] <= item["end"] + AFTER and i not in said:
                said[i] = item["command"]
                break
    return said


def _fusion_examples(records: list[dict], fused) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Features, whether that candidate was said, and the voice, for every candidate command
    of every judged utterance."""
    from voice_guide.speech_in.embedding_engine import candidates, fusion_features

    x, y, voice = [], [], []
    for record in records:
        said = _said(record)
        for i, j in enumerate(record["judged"]):
            p = probabilities(j["raw"])
            opinion = sphinx_opinion(j["raw"], fused, j["heard"])
            for command in candidates(p, opinion):
                x.append(fusion_features(p, opinion, command))
                y.append(said.get(i) == command.value)
                voice.append(record["voice"])
    return np.array(x), np.array(y, dtype=float), np.array(voice)


def _fit_logistic(x: np.ndarray, y: np.ndarray, ridge: float = 1.0) -> tuple[tuple, float]:
    """Ridge-penalized logistic regression (scikit-learn, intercept not penalized) on
    standardized features; returns (weights, bias) on the raw features."""
    from sklearn.linear_model import LogisticRegression

    mean, scale = x.mean(0), x.std(0) + 1e-9
    model = LogisticRegression(C=1.0 / ridge, tol=1e-10, max_iter=10_000)
    model.fit((x - mean) / scale, y)
    weights = model.coef_[0] / scale
    bias = model.intercept_[0] - weights @ mean
    return tuple(round(float(v), 3) for v in weights), round(float(bias), 3)


def _condition_rows(records: list[dict], heard) -> dict[str, dict[str, float]]:
    """Score rows per condition when `heard(record, judged)` gives each utterance's command."""
    scores: dict[str, Score] = {}
    for r in records:
        detections = [
            {"command": c, "detected_at": j["end"]} for j in r["judged"] if (c := heard(r, j))
        ]
        scores.setdefault(r["condition"], Score()).add(stream_of(r, Path()), detections)
    return {c: s.row() for c, s in sorted(scores.items())}


def read_table(path: Path) -> list[dict[str, str]]:
    """Rows of the main table written by --markdown, as {column: text}."""
    rows = []
    for line in path.read_text().splitlines():
        if line.startswith("|---"):
            continue
        if line.startswith("| listener") or (rows and line.startswith("| ")):
            rows.append(line.strip("|").split("|"))
        elif rows:
            break
    header = [c.strip() for c in rows[0]]
    return [dict(zip(header, (c.strip() for c in row), strict=True)) for row in rows[1:]]


def plot(tables: list[Path], path: Path) -> None:
    """Table accuracy, pain recall and false accepts per condition for every series."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series: dict[str, dict[str, dict[str, str]]] = {}
    for table in tables:
        for row in read_table(table):
            name = f"{row['listener']} ({row['voices']})"
            series.setdefault(name, {})[row["condition"]] = row
    conditions = list(CONDITIONS)
    metrics = (
        ("table", "table phrases heard", (0.97, 0.90)),
        ("pain recall", "pain recall", (0.98,)),
        ("FA/min talk", "false accepts per minute of talk", (0.1,)),
    )
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5))
    width = 0.8 / max(1, len(series))
    for ax, (column, title, targets) in zip(axes, metrics, strict=True):
        for i, (name, rows) in enumerate(sorted(series.items())):
            values = [float(rows[c][column]) if c in rows else np.nan for c in conditions]
            x = np.arange(len(conditions)) + i * width
            ax.bar(x, values, width, label=name, color=plt.cm.tab20(i % 20))
        for target in targets:
            ax.axhline(target, color="grey", ls="--", lw=0.8)
        ax.set_xticks(np.arange(len(conditions)) + width * (len(series) - 1) / 2, conditions)
        ax.set_title(title, fontsize=10)
    axes[0].legend(fontsize=6, loc="lower left")
    fig.suptitle("voice-guide listening benchmark (dashed: targets)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)


if __name__ == "__main__":
    main()
