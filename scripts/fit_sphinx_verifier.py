#!/usr/bin/env python3
"""Fit the PocketSphinx verifier (SphinxSettings weights) on the listening benchmark's dev voices.

Every utterance the Listener cuts from the dev streams (scripts/bench_listen.py corpus, all
three conditions) is scored by PocketSphinxRecognizer.score; utterances whose grammar phrase
is the command actually said are positives, every other one (conversation, near-misses, a
command heard as another) a negative. An L2-regularised logistic regression on the clipped
features gives the weights; the script prints a SphinxSettings to paste into
voice_guide/speech_in/pocketsphinx_engine.py. Held-out voices are never read here.

    .venv/bin/python scripts/fit_sphinx_verifier.py
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_listen import Stream, build_corpus

from voice_guide.commands import vocabulary
from voice_guide.speech_in.audio import SAMPLE_RATE, read_wav
from voice_guide.speech_in.listener import Listener
from voice_guide.speech_in.pocketsphinx_engine import (
    PocketSphinxRecognizer,
    SphinxScores,
    SphinxSettings,
)

CHUNK = 320  # 20 ms, as a microphone delivers


@dataclass
class Sample:
    """One scored utterance and whether accepting it would be right."""

    features: tuple[float, ...]
    positive: bool
    kind: str
    """The stream it came from: commands, talk or near."""
    phrase: str
    """The grammar's phrase."""


class RecordingRecognizer(PocketSphinxRecognizer):
    """Keeps the scores of every utterance it judges, with where the utterance was."""

    def __init__(self) -> None:
        super().__init__(vocabulary("en"))
        self.listener: Listener | None = None
        self.scored: list[tuple[float, float, SphinxScores]] = []

    def score(self, audio: np.ndarray) -> SphinxScores:
        """Score as usual and remember it (stream start, stream end, scores)."""
        scores = super().score(audio)
        assert self.listener is not None
        end = self.listener.stream_time
        self.scored.append((end - len(audio) / 16000, end, scores))
        return scores


def samples_of(stream: Stream, recognizer: RecordingRecognizer) -> list[Sample]:
    """Run one stream through the Listener; label every utterance that had a phrase."""
    listener = Listener(recognizer)
    recognizer.listener = listener
    recognizer.scored = []
    audio = read_wav(stream.path).resampled(SAMPLE_RATE).samples
    for offset in range(0, len(audio), CHUNK):
        listener.feed(audio[offset : offset + CHUNK])
    listener.flush()
    words = vocabulary("en")
    out = []
    for start, end, scores in recognizer.scored:
        if scores.phrase is None:
            continue
        said = [i for i in stream.items if i.start < end and i.end > start]
        if stream.kind == "commands" and not said:
            continue  # a stray blip between phrases: neither a command nor talk
        right = stream.kind == "commands" and words.command(scores.phrase) == said[0].command
        out.append(Sample(scores.features(), right, stream.kind, scores.phrase))
    return out


def fit(samples: list[Sample], clip: tuple[float, ...], l2: float) -> tuple[list[float], float]:
    """Logistic regression by Newton steps on standardised features; raw-unit weights back."""
    x = np.array([np.minimum(s.features, clip) for s in samples])
    y = np.array([s.positive for s in samples], dtype=float)
    mu, sd = x.mean(axis=0), x.std(axis=0) + 1e-12
    z = np.c_[(x - mu) / sd, np.ones(len(x))]
    w = np.zeros(z.shape[1])
    for _ in range(100):
        p = 1.0 / (1.0 + np.exp(-z @ w))
        gradient = z.T @ (p - y) + l2 * w
        hessian = (z.T * (p * (1 - p))) @ z + l2 * np.eye(len(w))
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.abs(step).max() < 1e-9:
            break
    weights = w[:-1] / sd
    return [float(v) for v in weights], float(w[-1] - np.sum(weights * mu))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "vg-bench")
    parser.add_argument("--l2", type=float, default=0.1, help="regularisation strength")
    parser.add_argument("--save", type=Path, help="also write the scored utterances here (JSON)")
    parser.add_argument("--load", type=Path, help="fit on utterances saved by --save, no decoding")
    args = parser.parse_args()
    streams = build_corpus("en", args.work, ["dev"])
    if args.load:
        samples = [Sample(tuple(f), p, k, ph) for f, p, k, ph in json.loads(args.load.read_text())]
    else:
        recognizer = RecordingRecognizer()
        samples = []
        for stream in streams:
            samples += samples_of(stream, recognizer)
            print(f"  {stream.path.name}: {len(samples)} utterances so far", file=sys.stderr)
    if args.save:
        args.save.write_text(
            json.dumps([(s.features, s.positive, s.kind, s.phrase) for s in samples])
        )
    clip = SphinxSettings().clip
    weights, bias = fit(samples, clip, args.l2)
    positives = sum(s.positive for s in samples)
    print(f"{positives} positive and {len(samples) - positives} negative utterances (dev voices)")
    print(f"weights=({', '.join(f'{w:.4g}' for w in weights)}), bias={bias:.4g}")
    minutes = sum(s.seconds for s in streams if s.kind == "talk") / 60
    print_thresholds(samples, weights, bias, clip, minutes)
    words = vocabulary("en")
    print("Safety commands (pause, pain) only:")
    safety = [s for s in samples if words.command(s.phrase).is_safety]
    print_thresholds(safety, weights, bias, clip, minutes)


def print_thresholds(
    samples: list[Sample],
    weights: list[float],
    bias: float,
    clip: tuple[float, ...],
    minutes: float,
) -> None:
    """What each candidate min_margin keeps on the dev voices (to choose it by)."""
    margins = [bias + float(np.dot(weights, np.minimum(s.features, clip))) for s in samples]
    positives = sum(s.positive for s in samples)
    print("min_margin | positives kept | negatives kept | of them talk, per minute")
    for threshold in (-3.0, -2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 2.0):
        kept = [s for s, m in zip(samples, margins, strict=True) if m >= threshold]
        talk = sum(s.kind == "talk" for s in kept) / minutes
        negatives = sum(not s.positive for s in kept)
        print(
            f"{threshold:10.1f} | {sum(s.positive for s in kept) / positives:14.3f} | "
            f"{negatives:14d} | {talk:.2f}"
        )


if __name__ == "__main__":
    main()
