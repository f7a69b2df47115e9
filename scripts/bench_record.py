"""Benchmark of the recorded-voice path: how many lines each built-in routine asks the giver
to record and how long finding them takes (what `check` adds once a routine has
recordings), how long a recorded line takes to be ready to play compared with synthesizing
it, and how close to the synthetic voice's loudness a recording plays.

    .venv/bin/python scripts/bench_record.py

The stand-in recordings are espeak-ng renderings of each line in another voice at another
volume (any WAV stands for a person here: what is measured is the lookup, the file read
and the level matching, not the voice).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from voice_guide.library import available_routines, read_routine
from voice_guide.recordings import open_recordings
from voice_guide.speech_out.cache import RenderCache
from voice_guide.speech_out.loudness import loudness, matched
from voice_guide.speech_out.recorded import RecordedRenderer, voice_level
from voice_guide.speech_out.renderer import EspeakRenderer, VoiceSettings
from voice_guide.spoken_lines import spoken_lines

RUNS = 3
SAMPLE_RATE = 48000


def _lines() -> None:
    print("routine                     lines  keyed  find (median of 3)")
    for info in available_routines():
        loaded = read_routine(info.path)
        times = []
        for _ in range(RUNS):
            started = time.perf_counter()
            lines = spoken_lines(loaded)
            times.append(time.perf_counter() - started)
        keyed = sum(line.key is not None for line in lines)
        print(f"{info.name:<26} {len(lines):6d} {keyed:6d}  {statistics.median(times):.2f} s")


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def _playing() -> None:
    loaded = read_routine("neck-and-shoulders")
    lines = spoken_lines(loaded)[:30]
    voice = EspeakRenderer(VoiceSettings(), loaded.routine.language)
    person = EspeakRenderer(VoiceSettings(voice="en-gb+f3", volume=0.4))
    level = voice_level(voice)
    with tempfile.TemporaryDirectory() as folder:
        routine = Path(folder) / "r.yaml"
        routine.write_bytes(Path(loaded.source).read_bytes())
        store = open_recordings(read_routine(routine))
        for line in lines:
            take = person.render(line.text)
            clip = matched(take, loudness(take), level)
            store.add(line, clip, loudness(clip))
        recorded = RenderCache(RecordedRenderer(voice, store), SAMPLE_RATE)
        synthetic = RenderCache(voice, SAMPLE_RATE)
        recorded.get("warm up")  # the one-off reference render
        for name, cache in (("recorded", recorded), ("synthesized", synthetic)):
            times, errors = [], []
            for line in lines:
                started = time.perf_counter()
                audio = cache.get(line.text)
                times.append(1000 * (time.perf_counter() - started))
                errors.append(abs(loudness(audio) - level))
            print(
                f"{name:<12} ready to play p50 {_percentile(times, 0.5):5.1f} ms, "
                f"p95 {_percentile(times, 0.95):5.1f} ms; loudness off the voice's "
                f"{level:.1f} LUFS by p50 {_percentile(errors, 0.5):.1f} dB, "
                f"max {max(errors):.1f} dB ({len(lines)} lines)"
            )


if __name__ == "__main__":
    _lines()
    _playing()
