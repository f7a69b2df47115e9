#!/usr/bin/env python3
"""Speech-out benchmark: render latency, cache latency, and "next" -> first audio sample.

Sentences: every instruction, cue and transition of a routine (default back-massage).

1. render latency per sentence, uncached: `RenderCache.get` of a new text (pyttsx3/espeak-ng
   on the worker + resampling to the playback rate): p50 / p95 / max, and real-time factor;
2. cached latency: `get` of a pre-rendered text (only those are kept);
3. "next" -> first sample: while the guide speaks a long sentence, a transition is carried
   out as the runner does (stop, then say the next instruction) and the time until the
   output callback pulls the instruction's first sample is measured, with the instruction
   pre-rendered and uncached; also the full effect list of a spoken "next" (stop, 'heard'
   and 'step' earcons, pre-rendered instruction) -> first sound.

Output: a real PortAudio device when one is found (a PulseAudio null sink works headless),
else a thread that pulls 20 ms blocks in real time exactly like the device callback.
Device latency (PortAudio's own estimate) comes on top of the pull time and is printed.

    .venv/bin/python scripts/bench_speech_out.py [--routine back-massage] [--transitions 30]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from voice_guide.routine.loader import load_routine
from voice_guide.routine.timeline import build_timeline
from voice_guide.speech_out import (
    EspeakRenderer,
    GuideSpeaker,
    OutputDevice,
    OutputDeviceError,
    Playback,
    PlayHandle,
    RenderCache,
    VoiceSettings,
    find_output_device,
)
from voice_guide.speech_out.device import BLOCK_SECONDS


def percentiles(values: list[float]) -> str:
    ms = sorted(v * 1000 for v in values)
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    return f"p50 {statistics.median(ms):7.2f} ms   p95 {p95:7.2f} ms   max {ms[-1]:7.2f} ms"


class RealTimePuller:
    """Stands in for the device callback: pulls one block every BLOCK_SECONDS."""

    latency = 0.0

    def __init__(self, playback: Playback) -> None:
        self._playback = playback
        self._running = True
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        block = np.zeros(int(self._playback.sample_rate * BLOCK_SECONDS), dtype=np.float32)
        next_time = time.perf_counter()
        while self._running:
            self._playback.pull_into(block)
            next_time += BLOCK_SECONDS
            time.sleep(max(0.0, next_time - time.perf_counter()))

    def close(self) -> None:
        self._running = False
        self._thread.join()


def first_sample_after(event: Callable[[], PlayHandle]) -> float:
    """Seconds from calling `event` until the handle it returns has its first sample pulled."""
    start = time.perf_counter()
    handle = event()
    while handle.start is None and not handle.done:
        time.sleep(0.0002)
    return time.perf_counter() - start


def stop_to_silence(speaker: GuideSpeaker, text: str, trials: int) -> list[float]:
    """Where the output's sound comes back on an input (a PulseAudio null sink's monitor is
    the default input): seconds from stop() to the last loud input block. Empty when no
    input device or it stays silent (a real loudspeaker without a loopback)."""
    import sounddevice as sd

    rate = speaker.playback.sample_rate
    loud: list[float] = []
    heard = threading.Event()

    def record(indata: np.ndarray, frames: int, info: object, status: object) -> None:
        if float(np.max(np.abs(indata))) > 0.02:
            loud.append(time.perf_counter())
            heard.set()

    try:
        stream = sd.InputStream(
            samplerate=rate, channels=1, blocksize=rate // 100, latency="low", callback=record
        )
    except sd.PortAudioError:
        return []
    results = []
    with stream:
        for _ in range(trials):
            heard.clear()
            speaker.say(text)
            if not heard.wait(5.0):
                return []
            time.sleep(0.3)
            stopped = time.perf_counter()
            speaker.stop()
            time.sleep(0.4)
            results.append(max(loud) - stopped)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--routine", default="back-massage")
    parser.add_argument("--transitions", type=int, default=30)
    parser.add_argument("--output-device", default=None, help="index or name; default: system")
    parser.add_argument("--virtual", action="store_true", help="never open a real device")
    args = parser.parse_args()

    routine = load_routine(args.routine)
    texts = list(dict.fromkeys(e.text for e in build_timeline(routine).entries))
    renderer = EspeakRenderer(
        VoiceSettings().overridden(routine.voice.name, routine.voice.rate, routine.voice.volume),
        routine.language,
    )
    try:
        if args.virtual:
            raise OutputDeviceError("virtual output requested")
        info = find_output_device(args.output_device)
        rate, label = info.sample_rate, f"device {info.index} ({info.name})"
    except OutputDeviceError as exc:
        info, rate, label = None, 48000, f"real-time virtual puller ({exc})"
    print(f"voice {renderer.settings}, playback {rate} Hz, {len(texts)} distinct sentences")
    print(f"output: {label}\n")

    cache = RenderCache(renderer, rate)
    uncached, audio_seconds = [], 0.0
    for text in texts:
        start = time.perf_counter()
        audio = cache.get(text)
        uncached.append(time.perf_counter() - start)
        audio_seconds += audio.seconds
    for text in texts:
        cache.prerender(text).result()  # a get() alone keeps nothing: the runner pre-renders
    cached = []
    for text in texts:
        start = time.perf_counter()
        cache.get(text)
        cached.append(time.perf_counter() - start)
    print(f"render, uncached   {percentiles(uncached)}   (n={len(uncached)})")
    print(
        f"  real-time factor {sum(uncached) / audio_seconds:.4f} ({audio_seconds:.0f} s of speech)"
    )
    print(f"render, cached     {percentiles(cached)}")

    playback = Playback(rate)
    speaker = GuideSpeaker(cache, playback)
    output: OutputDevice | RealTimePuller
    if info is not None:
        output = OutputDevice(playback, info)
        output.start()
    else:
        output = RealTimePuller(playback)
    try:
        # A PulseAudio null sink can take up to 2 s to start pulling: wait for the clock.
        deadline = time.monotonic() + 5
        while playback.clock < 0.2 and time.monotonic() < deadline:
            time.sleep(0.01)
        rng = random.Random(1)
        long_text = max(texts, key=len)
        results: dict[str, list[float]] = {"prerendered": [], "uncached": [], "full": []}
        for n in range(args.transitions):
            for mode in results:
                speaker.say(long_text)
                time.sleep(rng.uniform(0.2, 0.6))  # the transition lands mid-sentence
                if mode != "uncached":
                    text = rng.choice(texts)
                    speaker.prerender(text)
                    cache.prerender(text).result()  # ready, as the runner's prerender would be
                else:  # a sentence never rendered before (the cache cannot have it)
                    text = f"{rng.choice(texts)} Step {n} {mode}."

                def transition(mode: str = mode, text: str = text) -> PlayHandle:
                    speaker.stop()
                    if mode == "full":
                        first = speaker.earcon("heard")
                        speaker.earcon("step")
                        speaker.say(text)
                        assert first is not None
                        return first
                    return speaker.say(text)

                results[mode].append(first_sample_after(transition))
                speaker.stop()
        print(f"\n'next' -> first sample pulled of the next instruction (n={args.transitions}):")
        print(f"  pre-rendered     {percentiles(results['prerendered'])}")
        print(f"  uncached         {percentiles(results['uncached'])}")
        print("  full 'next' effects (stop, heard + step earcons, say) -> first sound:")
        print(f"                   {percentiles(results['full'])}")
        print(f"  + output latency reported by PortAudio: {output.latency * 1000:.0f} ms")
        if isinstance(output, OutputDevice):
            print(f"  output underflows: {output.underflows}")
            stops = stop_to_silence(speaker, long_text, args.transitions)
            if stops:
                print(f"\nstop() -> last loud block heard on the monitor (n={len(stops)}):")
                print(f"                   {percentiles(stops)}  (includes input latency)")
    finally:
        output.close()


if __name__ == "__main__":
    main()
