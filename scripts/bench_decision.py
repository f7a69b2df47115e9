#!/usr/bin/env python3
"""Decision time: the CPU an engine spends once an utterance has ended, before it answers.

Streams of the listening benchmark's corpus (scripts/bench_listen.py builds and caches them in
--work; the dev voices by default) go through the real Listener in 20 ms chunks, as from a
microphone, with the real engine (`create_recognizer`). Per utterance it records the CPU time
of `finish()` (process_time plus the PocketSphinx decoder process's): the decision time. It
also prints the CPU spent while the person speaks (`accept()`, per second of utterance
audio), the real-time factor of the whole listening path (VAD included) over the streams'
audio, the resident memory the engine added when it was loaded and the peak while listening
(this process and the decoder process; one engine per run), and the load average (the
machine may be shared: slower numbers under load).

    .venv/bin/python scripts/bench_decision.py --work /tmp/l1/bench --engine pocketsphinx
    .venv/bin/python scripts/bench_decision.py --work /tmp/l1/bench --engine fusion
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench_listen.py
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_listen import build_corpus
from process_memory import TreePeak, tree_rss_mb

from voice_guide.speech_in.audio import SAMPLE_RATE, read_wav
from voice_guide.speech_in.engines import create_recognizer
from voice_guide.speech_in.listener import Listener
from voice_guide.speech_in.recognizer import Hypothesis, Recognizer

CHUNK = 320  # 20 ms: the microphone's block


@dataclass
class Timed:
    """A Recognizer wrapped to time its calls (CPU seconds)."""

    inner: Recognizer
    decisions: list[float] = field(default_factory=list)
    speaking: float = 0.0
    """CPU in begin()/accept() (while the person speaks)."""
    utterance_samples: int = 0

    @property
    def language(self) -> str:
        return self.inner.language

    @property
    def description(self) -> str:
        return self.inner.description

    @property
    def missing_phrases(self) -> list[str]:
        return self.inner.missing_phrases

    def begin(self) -> None:
        start = time.process_time()
        self.inner.begin()
        self.speaking += time.process_time() - start

    def accept(self, samples: np.ndarray) -> Hypothesis | None:
        start = time.process_time()
        answer = self.inner.accept(samples)
        self.speaking += time.process_time() - start
        self.utterance_samples += len(samples)
        return answer

    def cpu(self) -> float:
        """CPU seconds of this process and the engine's PocketSphinx decoder process."""
        sphinx = getattr(self.inner, "sphinx", self.inner)  # the fusion's, or the engine
        return time.process_time() + getattr(sphinx, "decoder_cpu", 0.0)

    def finish(self) -> Hypothesis | None:
        start = self.cpu()
        answer = self.inner.finish()
        self.decisions.append(self.cpu() - start)
        return answer

    def cancel(self) -> None:
        self.inner.cancel()


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]


def measure(engine: str, paths: list[Path]) -> str:
    """One engine over the streams: a markdown table row."""
    before = tree_rss_mb()
    timed = Timed(create_recognizer(engine, "en").recognizer)
    listener = Listener(timed)
    engine_mb = tree_rss_mb() - before
    Path("/proc/self/clear_refs").write_text("5")  # peak := now (the corpus is read already)
    peak = TreePeak()
    audio_seconds = 0.0
    start = timed.cpu()
    for path in paths:
        listener.reset()
        audio = read_wav(path).resampled(SAMPLE_RATE).samples
        audio_seconds += len(audio) / SAMPLE_RATE
        for offset in range(0, len(audio), CHUNK):
            listener.feed(audio[offset : offset + CHUNK])
        listener.flush()
    total = timed.cpu() - start
    peak.sample()
    peak_mb = peak.mb
    ms = [1000 * d for d in timed.decisions]
    speech = timed.utterance_samples / SAMPLE_RATE
    return (
        f"| {engine} | {len(ms)} | {statistics.median(ms):.1f} | {_p95(ms):.1f} | "
        f"{max(ms):.1f} | {timed.speaking / max(speech, 1e-9):.3f} | "
        f"{total / audio_seconds:.3f} | {engine_mb:.0f} | {peak_mb:.0f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, required=True, help="bench_listen's corpus cache")
    parser.add_argument("--split", default="dev", help="voice group of bench_listen")
    parser.add_argument("--engine", default="pocketsphinx", help="engine name")
    parser.add_argument("--streams", type=int, default=6, help="streams to run (spread out)")
    args = parser.parse_args()
    streams = build_corpus("en", args.work, only=[args.split])
    paths = [s.path for s in streams][:: max(1, len(streams) // args.streams)][: args.streams]
    print(f"{len(paths)} streams of {args.split}: " + ", ".join(p.name for p in paths))
    print(
        "| engine | utterances | decision p50 ms | p95 ms | max ms | CPU while speaking "
        "(per s of utterance) | RTF | engine MB | peak RSS MB |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    print(measure(args.engine, paths))
    print(
        "load average (1, 5, 15 min) at the end: " + ", ".join(f"{x:.1f}" for x in os.getloadavg())
    )


if __name__ == "__main__":
    main()
