#!/usr/bin/env python3
"""Listening benchmark: builds its own corpus, runs `voice-guide listen`, prints a table.

Corpus (synthesized here, cached in --work): every command phrase of the language spoken by
several flite and espeak-ng voices (with rate/pitch variants), ordinary conversation and
near-miss sentences, each mixed clean / pink noise at 15 dB SNR / a synthetic music bed at
10 dB SNR. Voices are split into dev (used while tuning thresholds) and held-out.

For every (voice, condition) one stream of commands and one of conversation + near-misses is
written as a WAV file and run through `voice-guide listen FILE --json --engine E` in a child
process (the same 20 ms streaming path as a microphone), so RTF and peak RSS are the real
command's. A plain "grammar + endpointer" PocketSphinx listener is run in-process as the
baseline. Results: table on stdout, --markdown and --plot files for docs/.

    .venv/bin/python scripts/bench_listen.py --language en --engine pocketsphinx
    .venv/bin/python scripts/bench_listen.py --language ko --engine vosk
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from voice_guide.commands import phrase_table
from voice_guide.room import BEDS
from voice_guide.speech_in.audio import SAMPLE_RATE, read_wav, resample

CONDITIONS = {"clean": None, "pink15": ("pink", 15.0), "music10": ("music", 10.0)}
COMMAND_GAP = 1.6  # seconds of background between command phrases
TALK_GAP = 0.35  # between conversation sentences (people talk in runs)
NEAR_GAP = 1.6

# (name, synthesizer, voice, options); held-out voices are never looked at while tuning.
VOICES = {
    "en": {
        "dev": [
            ("flite-slt", "flite", "slt", []),
            ("flite-rms", "flite", "rms", []),
            ("espeak-us", "espeak", "en-us", ["-s", "165"]),
        ],
        "heldout": [
            ("flite-awb", "flite", "awb", []),
            ("flite-kal16", "flite", "kal16", []),
            ("espeak-gb-f3-fast", "espeak", "en-gb+f3", ["-s", "195"]),
            ("flite-slt-slow", "flite", "slt", ["--setf", "duration_stretch=1.25"]),
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


@dataclass
class Item:
    """One utterance placed in a stream (seconds)."""

    kind: str  # command | talk | near
    text: str
    command: str | None
    start: float
    end: float


@dataclass
class Stream:
    voice: str
    split: str
    condition: str
    kind: str  # commands | talk
    path: Path
    items: list[Item] = field(default_factory=list)
    seconds: float = 0.0


def synthesize(synth: str, voice: str, options: list[str], text: str, path: Path) -> np.ndarray:
    """Synthesize `text`, return 16 kHz float32 with leading/trailing silence trimmed."""
    if not path.exists():
        if synth == "flite":
            cmd = ["flite", "-voice", voice, *options, "-t", text, "-o", str(path)]
        else:
            cmd = ["espeak-ng", "-v", voice, *options, "-w", str(path), text]
        subprocess.run(cmd, check=True, capture_output=True)
    wav = read_wav(path)
    audio = resample(wav.samples, wav.sample_rate)
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
    import wave

    with wave.open(str(stream.path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        w.writeframes((np.clip(mix, -1, 1) * 32767).astype("<i2").tobytes())


def build_corpus(language: str, work: Path, only: str | None = None) -> list[Stream]:
    """Synthesize every utterance and write the streams (cached in `work`)."""
    table = phrase_table(language)
    tts = work / "tts"
    tts.mkdir(parents=True, exist_ok=True)
    streams = []
    for split, voices in VOICES[language].items():
        if only and split != only:
            continue
        for v, (name, synth, voice, options) in enumerate(voices):

            def say(text: str, name=name, synth=synth, voice=voice, options=options) -> np.ndarray:
                key = f"{name}_{hashlib.sha1(text.encode()).hexdigest()[:12]}.wav"
                return synthesize(synth, voice, options, text, tts / key)

            commands = [(say(p), Item("command", p, c.value, 0, 0)) for p, c in table.items()]
            talk = [(say(s), Item("talk", s, None, 0, 0)) for s in CONVERSATION[language]]
            near = [(say(s), Item("near", s, None, 0, 0)) for s in NEAR_MISSES[language]]
            for c, condition in enumerate(CONDITIONS):
                for kind, pieces, gap in (
                    ("commands", commands, COMMAND_GAP),
                    ("talk", talk, TALK_GAP),
                    ("near", near, NEAR_GAP),
                ):
                    path = work / f"{language}_{name}_{condition}_{kind}.wav"
                    stream = Stream(name, split, condition, kind, path)
                    fresh = [(a, Item(i.kind, i.text, i.command, 0, 0)) for a, i in pieces]
                    build_stream(stream, fresh, gap, seed=1000 * v + 10 * c + len(kind))
                    streams.append(stream)
    return streams


@dataclass
class Run:
    """Detections of one listener on one stream, with its cost."""

    detections: list[dict]
    cpu_seconds: float
    peak_rss_mb: float


def run_listen(stream: Stream, engine: str, language: str) -> Run:
    """`voice-guide listen FILE --json` in a child process; CPU time and peak RSS from wait4."""
    cmd = [sys.executable, "-m", "voice_guide", "listen", str(stream.path), "--json"]
    cmd += ["--engine", engine, "--language", language]
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, text=True)
        # ru_maxrss of a child also counts the parent's memory at fork: poll VmHWM instead.
        peak_kb = 0
        while proc.poll() is None:
            peak_kb = max(peak_kb, _vm_hwm_kb(proc.pid))
            time.sleep(0.05)
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = usage.ru_utime + usage.ru_stime - _children_cpu[0]
        _children_cpu[0] += cpu
        out.seek(0), err.seek(0)
        if proc.returncode:
            raise SystemExit(f"listen failed on {stream.path}: {err.read().strip()}")
        lines = out.read().splitlines()
    detections = [json.loads(line) for line in lines if line.strip()]
    return Run(detections, cpu, peak_kb / 1024)


_children_cpu = [0.0]  # CPU seconds of finished children already attributed to a run


def _vm_hwm_kb(pid: int) -> int:
    """Peak resident memory of a running process from /proc (kB; 0 once it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def run_baseline(stream: Stream, language: str) -> Run:
    """The plain listener to beat: JSGF grammar + PocketSphinx's own Endpointer, defaults."""
    from pocketsphinx import Decoder, Endpointer

    from voice_guide.speech_in.audio import to_int16_bytes
    from voice_guide.speech_in.pocketsphinx_engine import _model_files

    hmm, dictionary = _model_files()[:2]
    decoder = Decoder(hmm=str(hmm), dict=str(dictionary), lm=None, logfn=os.devnull)
    table = phrase_table(language)
    alternatives = " | ".join(f"( {p} )" for p in table)
    decoder.add_jsgf_string("c", f"#JSGF V1.0;\ngrammar c;\npublic <c> = {alternatives} ;\n")
    decoder.activate_search("c")
    endpointer = Endpointer(sample_rate=SAMPLE_RATE)
    pcm = to_int16_bytes(read_wav(stream.path).resampled(SAMPLE_RATE).samples)
    t0 = time.process_time()
    detections = []
    size = endpointer.frame_bytes
    for offset in range(0, len(pcm) - size + 1, size):
        was_speech = endpointer.in_speech
        speech = endpointer.process(pcm[offset : offset + size])
        if speech is None:
            continue
        if not was_speech:
            decoder.start_utt()
        decoder.process_raw(speech, False, False)
        if not endpointer.in_speech:
            decoder.end_utt()
            hyp = decoder.hyp()
            text = " ".join(hyp.hypstr.split()) if hyp else ""
            if text in table:
                now = (offset + size) / 2 / SAMPLE_RATE
                detections.append({"command": table[text].value, "heard": text, "detected_at": now})
    return Run(detections, time.process_time() - t0, float("nan"))  # shares the bench process


@dataclass
class Score:
    """Counts for one (listener, split, condition) cell."""

    commands: int = 0
    correct: int = 0
    wrong: int = 0
    talk_seconds: float = 0.0
    talk_accepts: int = 0
    near: int = 0
    near_accepts: int = 0
    delays: list[float] = field(default_factory=list)
    audio_seconds: float = 0.0
    cpu_seconds: float = 0.0
    peak_rss_mb: float = 0.0

    def add_run(self, stream: Stream, run: Run) -> None:
        """Match detections to the stream's items."""
        self.audio_seconds += stream.seconds
        self.cpu_seconds += run.cpu_seconds
        self.peak_rss_mb = max(self.peak_rss_mb, run.peak_rss_mb)  # nan stays nan
        unused = sorted(run.detections, key=lambda d: d["detected_at"])
        if stream.kind == "talk":
            self.talk_seconds += stream.seconds
            self.talk_accepts += len(unused)
            return
        for item in stream.items:
            # A detection belongs to the item it follows, before the next item begins.
            window = [d for d in unused if item.start <= d["detected_at"] <= item.end + 1.2]
            for d in window:
                unused.remove(d)
            if item.kind == "near":
                self.near += 1
                self.near_accepts += bool(window)
                continue
            self.commands += 1
            if window and window[0]["command"] == item.command:
                self.correct += 1
                self.delays.append(window[0]["detected_at"] - item.end)
            elif window:
                self.wrong += 1

    def row(self) -> dict[str, float]:
        """The printed metrics."""
        delays = sorted(self.delays) or [float("nan")]
        return {
            "accuracy": self.correct / max(1, self.commands),
            "wrong": self.wrong / max(1, self.commands),
            "fa_per_min": self.talk_accepts / max(1e-9, self.talk_seconds / 60),
            "near_accepts": self.near_accepts / max(1, self.near),
            "delay_p50": statistics.median(delays),
            "delay_p95": delays[min(len(delays) - 1, int(0.95 * len(delays)))],
            "rtf": self.cpu_seconds / max(1e-9, self.audio_seconds),
            "peak_rss_mb": self.peak_rss_mb,
        }


def decision_times(streams: list[Stream], engine: str, language: str) -> list[float]:
    """CPU-bound time to judge each clean command utterance once it has ended (seconds).

    `detected_at` is stream time, so the table's delay leaves out the computing done when
    the utterance ends; on a microphone that time comes on top. The whole utterance (with
    the VAD's pre-roll and end wait) is handed over at once, as at the end of speech.
    """
    from voice_guide.speech_in import create_recognizer

    recognizer = create_recognizer(engine, language).recognizer
    times = []
    for stream in streams:
        if stream.kind != "commands" or stream.condition != "clean":
            continue
        audio = read_wav(stream.path).resampled(SAMPLE_RATE).samples
        for item in stream.items:
            piece = audio[
                int((item.start - 0.15) * SAMPLE_RATE) : int((item.end + 0.18) * SAMPLE_RATE)
            ]
            t0 = time.perf_counter()
            recognizer.begin()
            recognizer.accept(piece)
            recognizer.finish()
            times.append(time.perf_counter() - t0)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--language", default="en")
    parser.add_argument("--engine", default="pocketsphinx", choices=["vosk", "pocketsphinx"])
    parser.add_argument("--no-baseline", action="store_true", help="skip the plain baseline")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "vg-bench")
    parser.add_argument("--split", choices=["dev", "heldout"], help="only these voices")
    parser.add_argument("--markdown", type=Path, help="write the table here")
    parser.add_argument("--plot", type=Path, help="write a PNG plot of the tables here")
    parser.add_argument(
        "--plot-only", nargs="+", type=Path, help="plot these saved --markdown tables and exit"
    )
    args = parser.parse_args()
    if args.plot_only:
        plot(args.plot_only, args.plot or Path("listening.png"))
        return
    args.work.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    streams = build_corpus(args.language, args.work, args.split)
    print(f"corpus: {len(streams)} streams in {time.time() - t0:.0f} s", file=sys.stderr)
    listeners = [args.engine]
    if args.language == "en" and not args.no_baseline:
        listeners.append("baseline")
    scores: dict[tuple[str, str, str], Score] = {}
    for stream in streams:
        for listener in listeners:
            if listener == "baseline":
                run = run_baseline(stream, args.language)
            else:
                run = run_listen(stream, listener, args.language)
            for split in (stream.split, "all"):
                key = (listener, split, stream.condition)
                scores.setdefault(key, Score()).add_run(stream, run)
        print(f"  {stream.path.name}", file=sys.stderr)
    lines = [
        f"Listening benchmark, language {args.language}: {len(streams)} streams, "
        f"{sum(s.seconds for s in streams) / 60:.1f} min of audio "
        f"(voices: {', '.join(sorted({s.voice for s in streams}))})",
        "",
        "| listener | voices | condition | accuracy | wrong cmd | FA/min talk | near-miss "
        "accepts | delay p50 s | delay p95 s | RTF | peak RSS MB |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for (listener, split, condition), score in sorted(scores.items()):
        r = score.row()
        rss = "in bench" if listener == "baseline" else f"{r['peak_rss_mb']:.0f}"
        lines.append(
            f"| {listener} | {split} | {condition} | {r['accuracy']:.3f} | {r['wrong']:.3f} | "
            f"{r['fa_per_min']:.2f} | {r['near_accepts']:.2f} | {r['delay_p50']:.2f} | "
            f"{r['delay_p95']:.2f} | {r['rtf']:.3f} | {rss} |"
        )
    times = sorted(decision_times(streams, args.engine, args.language))
    lines += [
        "",
        f"Decision time per ended command utterance ({args.engine}, {len(times)} clean "
        f"utterances, in-process): p50 {1000 * statistics.median(times):.0f} ms, "
        f"p95 {1000 * times[int(0.95 * (len(times) - 1))]:.0f} ms",
    ]
    table = "\n".join(lines)
    print(table)
    if args.markdown:
        args.markdown.write_text(table + "\n", encoding="utf-8")
    if args.plot and args.markdown:
        plot([args.markdown], args.plot)


def read_table(path: Path) -> list[dict[str, str]]:
    """Rows of a table written by --markdown, as {column: text}."""
    rows = [
        line.strip("|").split("|")
        for line in path.read_text().splitlines()
        if line.startswith("| ")
    ]
    header = [c.strip() for c in rows[0]]
    return [dict(zip(header, (c.strip() for c in row), strict=True)) for row in rows[1:]]


def plot(tables: list[Path], path: Path) -> None:
    """Accuracy, false accepts and delay per condition for every table row series."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series: dict[str, dict[str, dict[str, str]]] = {}
    for table in tables:
        language = table.stem.split("_")[0]
        for row in read_table(table):
            if row["voices"] == "all":
                continue  # dev and held-out voices are shown apart
            name = f"{language} {row['listener']} ({row['voices']})"
            series.setdefault(name, {})[row["condition"]] = row
    conditions = list(CONDITIONS)
    metrics = (
        ("accuracy", "accuracy", (0.97, 0.90)),
        ("FA/min talk", "false accepts per minute of talk", (0.2,)),
        ("delay p50 s", "delay p50 after phrase end (s)", (0.3,)),
    )
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.2))
    width = 0.8 / max(1, len(series))
    for ax, (column, title, targets) in zip(axes, metrics, strict=True):
        for i, (name, rows) in enumerate(sorted(series.items())):
            values = [float(rows[c][column]) if c in rows else np.nan for c in conditions]
            ax.bar(np.arange(len(conditions)) + i * width, values, width, label=name)
        for target in targets:
            ax.axhline(target, color="grey", ls="--", lw=0.8)
        ax.set_xticks(np.arange(len(conditions)) + width * (len(series) - 1) / 2, conditions)
        ax.set_title(title, fontsize=10)
    axes[0].legend(fontsize=7, loc="lower left")
    fig.suptitle("voice-guide listen: listening benchmark (dashed: targets)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)


if __name__ == "__main__":
    main()
