#!/usr/bin/env python3
"""Live end to end through a real audio device: a person's phrase to the command acted on.

A PulseAudio null sink is the room (tests/null_sink.py, the device tests' launcher): a real
`voice-guide run` plays the guide into it and listens on its monitor, and this script plays
a person's phrases (flite voices, trailing silence trimmed) into the same sink with paplay,
one at a time while the guide is quiet. The end of a phrase is the moment paplay returns
(its drain: the sink has taken the last sample); the command is acted on when its `heard`
line appears in the run's JSONL transcript (flushed per line, polled every 10 ms). Prints
p50/p95 of that delay per phrase and overall, the phrases missed or heard wrong, and the
run's peak RSS and CPU per second of session.

With `--nobody MINUTES` nobody speaks: the guide reads the back massage's instructions (steps
of TALK_STEP, no answers needed) into the sink for that long, hearing all of its own voice;
everything it acted on is a self-trigger. It also counts the ALSA underruns the run reported
(each one a gap in the guide's voice).

    .venv/bin/python scripts/bench_live.py --trials 24 --markdown /tmp/live.md
    .venv/bin/python scripts/bench_live.py --nobody 5
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import wave
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))  # null_sink.py
sys.path.insert(0, str(Path(__file__).resolve().parent))  # process_memory.py
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from null_sink import NullSink, SinkError, null_sink
from process_memory import TreePeak

from voice_guide.commands import Command, parse_command
from voice_guide.routine.loader import load_routine

ROOT = Path(__file__).resolve().parent.parent

PHRASES = [
    "a little lighter",
    "pause",
    "continue",
    "a bit stronger",
    "how long",
    "lighter",
    "pause",
    "keep going",
    "stronger",
    "that feels great",
    "repeat that",
]
"""Said in this order, cycled: every pause is followed by a phrase that resumes."""
VOICES = ["rms", "slt", "awb", "kal16"]
STEPS = 20
ROUTINE = """\
title: Live latency
pressure:
  levels:
    1: {name: feather, technique: Fingertips only.}
    2: {name: light, technique: Flat palms.}
    3: {name: medium, technique: Heels of the hands.}
    4: {name: firm, technique: Forearms.}
  start: 2
steps:
""" + "".join(
    f"  - {{id: glide-{n}, say: Glide your palms slowly over the shoulders., duration: 3m, "
    "area: shoulders}\n"
    for n in range(1, STEPS + 1)
)
"""STEPS timed steps of the same stroke: a "next" heard by mistake moves on and the run goes
on listening (one step would end the session)."""
POLL = 0.01
"""Seconds between reads of the transcript."""
TALK_STEP = "20s"
"""Step length of the --nobody routine: most steps' instructions take longer to say, so the
guide talks nearly all the time."""
HEARD_WITHIN = 3.0
"""A command heard later than this after the phrase ends counts as missed."""
SECONDS_PER_WORD = 0.45
"""A sentence queued by a `say` line lasts at most this long per word (espeak-ng's default
rate is about 2.9 words a second): a sentence still being rendered is not silence yet."""
QUIET_FOR = 1.2
"""The room counts as quiet after this long without a frame louder than SILENCE_DBFS on the
sink's monitor (the self-voice gate still drops words heard in the guide's echo tail)."""
SILENCE_DBFS = -45.0


# -- the person's phrases -----------------------------------------------------------------


def trimmed_phrase(text: str, voice: str, folder: Path) -> Path:
    """flite's rendering of `text`, cut after the last 10 ms frame louder than SILENCE_DBFS
    (so paplay ends when the speech ends)."""
    raw = folder / f"{voice}-{text.replace(' ', '_')}.raw.wav"
    subprocess.run(["flite", "-voice", voice, "-t", text, "-o", str(raw)], check=True)
    with wave.open(str(raw), "rb") as source:
        params = source.getparams()
        samples = np.frombuffer(source.readframes(params.nframes), dtype=np.int16)
    frame = params.framerate // 100
    frames = samples[: len(samples) // frame * frame].reshape(-1, frame).astype(np.float64)
    level = 20 * np.log10(np.sqrt(np.mean(frames**2, axis=1)) / 32768 + 1e-12)
    loud = np.flatnonzero(level > SILENCE_DBFS)
    end = (int(loud[-1]) + 1) * frame if len(loud) else len(samples)
    path = folder / f"{voice}-{text.replace(' ', '_')}.wav"
    with wave.open(str(path), "wb") as target:
        target.setparams(params)
        target.writeframes(samples[:end].tobytes())
    return path


# -- the run and its transcript -----------------------------------------------------------


class Transcript:
    """Follows a JSONL transcript as it is written, noting the wall time each line appeared."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lines: list[tuple[float, dict[str, Any]]] = []
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._follow, daemon=True)
        self._thread.start()

    def _follow(self) -> None:
        offset = 0
        while not self._done.is_set():
            if self.path.exists():
                with self.path.open("rb") as handle:
                    handle.seek(offset)
                    chunk = handle.read()
                complete = chunk[: chunk.rfind(b"\n") + 1]
                offset += len(complete)
                seen = time.monotonic()
                self.lines += [(seen, _event(line)) for line in complete.splitlines()]
            self._done.wait(POLL)

    def since(self, wall: float) -> list[tuple[float, dict[str, Any]]]:
        return [(seen, event) for seen, event in list(self.lines) if seen >= wall]

    def queued_until(self) -> float:
        """Wall time the guide's queued sentences should be over (they play back to back)."""
        end = 0.0
        for seen, event in list(self.lines):
            if event["event"] == "say":
                end = max(end, seen) + SECONDS_PER_WORD * len(event["text"].split())
        return end

    def stop(self) -> None:
        self._done.set()
        self._thread.join()


def _event(line: bytes) -> dict[str, Any]:
    """One transcript line; a line that is not JSON (seen once, mid-write under load) is
    kept as an 'unreadable' event rather than ending the follower."""
    try:
        return json.loads(line)
    except json.JSONDecodeError:
        return {"event": "unreadable", "t": 0.0, "line": line.decode(errors="replace")}


class RoomLevel:
    """Listens to the sink's monitor (parec) and notes the last time anything was loud."""

    def __init__(self, sink: NullSink) -> None:
        self.loud_at = time.monotonic()
        self._child = subprocess.Popen(
            [
                "parec",
                f"--device={sink.sink}.monitor",
                "--format=s16le",
                "--rate=16000",
                "--channels=1",
                "--raw",
            ],
            env={**os.environ, **sink.env},
            stdout=subprocess.PIPE,
        )
        self._thread = threading.Thread(target=self._follow, daemon=True)
        self._thread.start()

    def _follow(self) -> None:
        assert self._child.stdout is not None
        threshold = 32768 * 10 ** (SILENCE_DBFS / 20)
        while frame := self._child.stdout.read(320):  # 10 ms
            samples = np.frombuffer(frame[: len(frame) // 2 * 2], dtype=np.int16)
            if np.sqrt(np.mean(samples.astype(np.float64) ** 2)) > threshold:
                self.loud_at = time.monotonic()

    def stop(self) -> None:
        self._child.terminate()
        self._child.wait()
        self._thread.join()


def quiet_at(transcript: Transcript, room: RoomLevel) -> float:
    """Wall time the guide is quiet: nothing queued is left to say and the room is silent."""
    return max(transcript.queued_until(), room.loud_at) + QUIET_FOR


@dataclass(frozen=True)
class Trial:
    """One phrase played into the room and what the run made of it."""

    phrase: str
    voice: str
    expected: Command
    result: str
    """'heard', 'wrong' (another command) or 'missed'."""
    delay: float | None
    """Seconds from the end of the phrase to its `heard` line appearing."""
    stream_delay: float | None
    """The listener's own view, in microphone-stream time: the decision minus the end of
    speech its endpointer found (what the virtual-room benchmarks measure)."""
    player_startup: float
    """paplay's wall time minus the phrase's duration: its start-up and drain overhead."""
    detail: str = ""


def wait_until(predicate: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(POLL)
    return False


def play_trial(
    sink: NullSink, room: RoomLevel, transcript: Transcript, phrase: str, voice: str, wav: Path
) -> Trial:
    expected = parse_command(phrase)
    assert expected is not None
    with wave.open(str(wav), "rb") as clip:
        duration = clip.getnframes() / clip.getframerate()
    wait_until(lambda: time.monotonic() >= quiet_at(transcript, room), 60)
    began = time.monotonic()
    subprocess.run(["paplay", str(wav)], env={**os.environ, **sink.env}, check=True, timeout=30)
    ended = time.monotonic()

    def heard() -> list[tuple[float, dict[str, Any]]]:
        return [(s, e) for s, e in transcript.since(began) if e["event"] == "heard"]

    wait_until(lambda: bool(heard()) or time.monotonic() > ended + HEARD_WITHIN, HEARD_WITHIN + 1)
    found = [(s, e) for s, e in heard() if s <= ended + HEARD_WITHIN]
    right = [(s, e) for s, e in found if e["command"] == expected.value]
    startup = ended - began - duration
    if right:
        seen, event = right[0]
        stream = event["detected_at"] - event["end"]
        return Trial(phrase, voice, expected, "heard", seen - ended, stream, startup)
    if found:
        wrong = ", ".join(e["command"] for _, e in found)
        return Trial(phrase, voice, expected, "wrong", None, None, startup, wrong)
    return Trial(phrase, voice, expected, "missed", None, None, startup)


@dataclass(frozen=True)
class RunStats:
    """What the `voice-guide run` child cost."""

    listener: str
    peak_mb: float
    cpu: float
    session: float
    load: float
    ended: bool
    """The session ended (a misheard "end" confirmed, or every step done) before the last
    phrase: phrases after that are misses."""


def start_run(
    sink: NullSink, work: Path, engine: str, routine_text: str = ROUTINE
) -> subprocess.Popen[str]:
    routine = work / "live-latency.yaml"
    routine.write_text(routine_text, encoding="utf-8")
    env = {**os.environ, **sink.env, "VOICE_GUIDE_HOME": str(work / "home")}
    argv = [sys.executable, "-m", "voice_guide", "run", str(routine), "--engine", engine]
    argv += ["--transcript", str(work / "live.jsonl")]
    return subprocess.Popen(
        argv,
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=(work / "run.err").open("w"),
        text=True,
    )


def stop_run(child: subprocess.Popen[str], transcript: Transcript, work: Path) -> RunStats:
    """Ctrl-C the run (it saves the session) and read what it cost."""
    peak = TreePeak(child.pid)
    peak.sample()  # the run and its decoder process, each one's peak so far
    os.kill(child.pid, signal.SIGINT)  # not send_signal: its poll() would reap the child
    _, _, usage = os.wait4(child.pid, 0)
    transcript.stop()
    stderr = (work / "run.err").read_text(encoding="utf-8")
    lines = [line for line in stderr.splitlines() if "listening with" in line]
    events = [e for _, e in transcript.lines]
    return RunStats(
        lines[0].removeprefix("voice-guide: ").strip() if lines else "not reported",
        peak.mb,
        usage.ru_utime + usage.ru_stime,
        max((e["t"] for e in events), default=0.0),
        os.getloadavg()[0],
        any(e["event"] == "end" for e in events),
    )


# -- report -------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> str:
    if not values:
        return "-"
    return f"{float(np.percentile(values, q)):.2f}"


def report(trials: list[Trial], stats: RunStats, engine: str) -> str:
    delays = [t.delay for t in trials if t.delay is not None]
    streams = [t.stream_delay for t in trials if t.stream_delay is not None]
    counts = Counter(t.result for t in trials)
    rows = []
    for phrase in dict.fromkeys(t.phrase for t in trials):
        mine = [t for t in trials if t.phrase == phrase]
        own = [t.delay for t in mine if t.delay is not None]
        wrong = [t.detail for t in mine if t.result == "wrong"]
        rows.append(
            f"| {phrase!r} | {len(mine)} | {len(own)} | "
            f"{sum(t.result == 'missed' for t in mine)} | {', '.join(wrong) or 0} | "
            f"{percentile(own, 50)} | {percentile(own, 95)} |"
        )
    startup = statistics.median(t.player_startup for t in trials) if trials else 0.0
    head = (
        f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {os.cpu_count()} "
        f"cores (load average {stats.load:.1f}); git {git_head()}; --engine {engine}: "
        f"{stats.listener}.\n\n"
        f"{len(trials)} phrases ({', '.join(VOICES)}) played into a PulseAudio null sink while "
        f"the guide was quiet: {counts['heard']} acted on, {counts['missed']} missed, "
        f"{counts['wrong']} heard as another command. End of phrase (paplay drained) -> "
        f"`heard` in the transcript: p50 {percentile(delays, 50)} s, p95 "
        f"{percentile(delays, 95)} s (targets 0.30 / 0.45 s); the listener's own view (stream "
        f"time, decision - end of speech it found) p50 {percentile(streams, 50)} s, p95 "
        f"{percentile(streams, 95)} s. paplay took {startup * 1000:.0f} "
        f"ms longer than the audio (median). The run: peak RSS {stats.peak_mb:.0f} MB, "
        f"{stats.cpu:.1f} s of CPU in {stats.session:.0f} s of session "
        f"(CPU {stats.cpu / stats.session if stats.session else 0:.2f} s per second, "
        "speech out included)."
        + (" The session ended before the last phrase." if stats.ended else "")
        + "\n"
    )
    table = [
        "| phrase | said | acted on | missed | wrong | delay p50 s | delay p95 s |",
        "|---|---|---|---|---|---|---|",
        *rows,
    ]
    trial_lines = [
        f"- {t.phrase!r} {t.voice}: {t.result}"
        + (f" {t.detail}" if t.detail else "")
        + (f", {t.delay:.2f} s" if t.delay is not None else "")
        + (f" (stream {t.stream_delay:.2f} s)" if t.stream_delay is not None else "")
        for t in trials
    ]
    return "\n".join([head, *table, "", "Every trial:", "", *trial_lines])


def git_head() -> str:
    done = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    )
    return done.stdout.strip() or "unknown"


def session(
    sink: NullSink,
    work: Path,
    engine: str,
    plan: list[tuple[str, str]],
    clips: dict[tuple[str, str], Path],
) -> tuple[list[Trial], RunStats]:
    """One `voice-guide run` on the sink, the planned phrases played into it one by one."""
    child = start_run(sink, work, engine)
    transcript = Transcript(work / "live.jsonl")
    room = RoomLevel(sink)
    trials = []
    try:
        if wait_until(lambda: any(e["event"] == "step" for _, e in transcript.lines), 120):
            for n, (phrase, voice) in enumerate(plan, 1):
                trials.append(
                    play_trial(sink, room, transcript, phrase, voice, clips[phrase, voice])
                )
                print(f"{n}/{len(plan)} {phrase!r} {voice}: {trials[-1].result}", file=sys.stderr)
    finally:
        room.stop()
        stats = stop_run(child, transcript, work)
    return trials, stats


def talkative_routine() -> str:
    """Every instruction of the built-in back massage, as TALK_STEP steps nobody has to answer
    (the pressure scale of ROUTINE)."""
    says = [step.say for step in load_routine("back-massage").all_steps]
    steps = [
        {"id": f"talk-{n}", "say": text, "duration": TALK_STEP}
        for n, text in enumerate(says * 4, 1)
    ]
    routine = {"title": "Talking room", "pressure": yaml.safe_load(ROUTINE)["pressure"]}
    return yaml.safe_dump({**routine, "steps": steps}, sort_keys=False, allow_unicode=True)


def nobody_session(sink: NullSink, work: Path, engine: str, minutes: float) -> str:
    """The guide talks into the null sink (its whole voice back in the microphone) for
    `minutes` with nobody there: what it acted on is its own voice. When that paused the
    session, a person answers once the room is quiet (what the guide last asked for: "yes"
    or "continue"), so the guide goes on talking; those answers are not counted."""
    child = start_run(sink, work, engine, talkative_routine())
    transcript = Transcript(work / "live.jsonl")
    room = RoomLevel(sink)
    answers = {w: trimmed_phrase(w, "slt", work) for w in ("yes", "continue")}
    started = time.monotonic()
    try:
        if not wait_until(lambda: any(e["event"] == "step" for _, e in transcript.lines), 120):
            return "the run never started a step"
        started = time.monotonic()
        while time.monotonic() < started + 60 * minutes:
            if _paused(transcript) and time.monotonic() >= quiet_at(transcript, room):
                answer = answers[_asked_for(transcript)]
                subprocess.run(["paplay", str(answer)], env={**os.environ, **sink.env}, check=True)
                wait_until(lambda: not _paused(transcript), 5)
            time.sleep(0.2)
    finally:
        room.stop()
        stats = stop_run(child, transcript, work)
    wall = time.monotonic() - started
    events = [e for _, e in transcript.lines]
    heard = [e for e in events if e["event"] == "heard"]
    own = [e for e in heard if e["command"] not in ("yes", "resume") or e["phrase"] is None]
    ignored = Counter(e["reason"].split(":")[0] for e in events if e["event"] == "ignored")
    said = sum(len(e["text"].split()) for e in events if e["event"] == "say")
    underruns = (work / "run.err").read_text(encoding="utf-8").count("underrun occurred")
    acted = ", ".join(f"{e['command']} ({e['phrase']!r} at {e['t']:.1f} s)" for e in own)
    return (
        f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {os.cpu_count()} "
        f"cores (load average {stats.load:.1f}); git {git_head()}; --engine {engine}: "
        f"{stats.listener}.\n\n"
        f"Nobody in the room, the guide's voice all back in the microphone (null sink, echo "
        f"gain 1.0): {wall / 60:.1f} min, {said} words said. Acted on its own voice: "
        f"{len(own)}{' (' + acted + ')' if acted else ''}; answers played to go on: "
        f"{len(heard) - len(own)} heard. Ignored: "
        + (", ".join(f"{reason} {n}" for reason, n in ignored.most_common()) or "none")
        + f". ALSA underruns reported: {underruns}. Unreadable transcript lines: "
        f"{sum(e['event'] == 'unreadable' for e in events)}. Peak RSS {stats.peak_mb:.0f} MB, CPU "
        f"{stats.cpu / wall:.2f} s per second.\n"
    )


def _paused(transcript: Transcript) -> bool:
    """The session is paused (its last pause has no resume after it)."""
    kinds = [e["event"] for _, e in list(transcript.lines) if e["event"] in ("pause", "resume")]
    return bool(kinds) and kinds[-1] == "pause"


def _asked_for(transcript: Transcript) -> str:
    """The answer the guide last asked for: "yes" (the pain check) or "continue"."""
    says = [e["text"] for _, e in list(transcript.lines) if e["event"] == "say"]
    return "yes" if says and "Say yes" in says[-1] else "continue"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=24, help="phrases to play")
    parser.add_argument("--engine", default="auto", help="auto or an engine's name")
    parser.add_argument("--markdown", type=Path, help="also write the report to this file")
    parser.add_argument("--work", type=Path, help="keep the transcript and clips here")
    parser.add_argument(
        "--nobody",
        type=float,
        metavar="MINUTES",
        help="instead of phrases: the guide talks for MINUTES with nobody in the room; "
        "report what it acted on (its own voice) and the audio underruns",
    )
    args = parser.parse_args(argv)
    if args.nobody is not None:
        return nobody_main(args)
    unknown = [p for p in PHRASES if parse_command(p) is None]
    if unknown:
        parser.error(f"not command phrases in en.yaml (any more): {unknown}; edit this script")
    with tempfile.TemporaryDirectory(prefix="bench-live-") as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        plan = [(PHRASES[n % len(PHRASES)], VOICES[n % len(VOICES)]) for n in range(args.trials)]
        clips = {(p, v): trimmed_phrase(p, v, work) for p, v in set(plan)}
        try:
            (work / "pulse").mkdir(exist_ok=True)
            with null_sink(work / "pulse") as sink:
                trials, stats = session(sink, work, args.engine, plan, clips)
        except SinkError as error:
            print(f"bench_live: {error}", file=sys.stderr)
            return 2
    if not trials:
        print(f"bench_live: the run never started a step: {stats.listener}", file=sys.stderr)
        return 1
    text = report(trials, stats, args.engine)
    print(text)
    if args.markdown:
        args.markdown.write_text(text + "\n", encoding="utf-8")
    return 0


def nobody_main(args: argparse.Namespace) -> int:
    """--nobody: one talking session with nobody in the room."""
    with tempfile.TemporaryDirectory(prefix="bench-live-") as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        try:
            (work / "pulse").mkdir(exist_ok=True)
            with null_sink(work / "pulse") as sink:
                text = nobody_session(sink, work, args.engine, args.nobody)
        except SinkError as error:
            print(f"bench_live: {error}", file=sys.stderr)
            return 2
    print(text)
    if args.markdown:
        args.markdown.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
