#!/usr/bin/env python3
"""Live-session benchmarks: `voice-guide demo` in the virtual room, run as a child process.

Three benchmarks, each reading the demo's JSONL transcript afterwards:

- soak: a routine that loops the built-in back massage past two hours (generated here, step
  ids made unique per loop), a scripted person saying a command every few minutes. Reports
  the child's RSS (first stable value after start-up, last value, peak), wall time and speed,
  timer drift per step, and the person's commands: acted on, missed, heard as another
  command, gated; plus false accepts (commands heard with nobody speaking).
- barge-in: one run per trial, the person says one command two seconds after a step starts
  (the guide is speaking), the run is cut shortly after. Reports the share detected and acted
  on, the delay from the end of the phrase to the detection, and from the detection to the
  speech being stopped.
- self-trigger: nobody speaks; the guide's own voice comes back at several echo gains and over
  noise and music beds. Reports the commands acted on per hour of the guide's speech and the
  detections the self-voice gate dropped, by reason.

    .venv/bin/python scripts/bench_session.py all --markdown /tmp/session-results.md
    .venv/bin/python scripts/bench_session.py soak --plot docs/session-soak-rss.png
    .venv/bin/python scripts/bench_session.py all --quick          # a smoke run of a few minutes

The guide's speech time (for self-triggers per hour, and to check that a barge-in phrase
really started over the guide's voice) is rebuilt from the transcript: every `say` event is
rendered with the project's own renderer at the routine's voice settings and played back to
back from the time it was queued, cut at `stop_speech` events, exactly as the Playback does.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))  # process_memory.py
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from process_memory import TreePeak, tree_rss_mb

from voice_guide.commands import Command, parse_command
from voice_guide.commands.prompts import prompts
from voice_guide.routine.loader import load_routine
from voice_guide.routine.model import Routine
from voice_guide.routine.timeline import build_timeline
from voice_guide.session import ASK_TIMEOUT

ROOT = Path(__file__).resolve().parent.parent
BUILTIN = ROOT / "voice_guide" / "routine" / "builtin"
MATCH_WINDOW = 1.5
"""A command counts as heard when detected at most this long after the phrase ends."""
POLL = 0.2
"""Seconds between /proc samples of the child's memory."""
STABLE_MB = 2.0
STABLE_SECONDS = 2.0
"""Start-up is over when RSS stays within STABLE_MB for STABLE_SECONDS of wall time."""
TIMER_MOVES = {Command.NEXT, Command.BACK, Command.END, Command.YES, Command.NO}
"""Commands that move to another step: a step change they caused is no timer event."""


# -- running the demo ---------------------------------------------------------------------


def demo_command() -> list[str]:
    """`voice-guide` from the same environment as this interpreter."""
    script = Path(sys.executable).parent / "voice-guide"
    return [str(script)] if script.exists() else [sys.executable, "-m", "voice_guide"]


@dataclass
class Sample:
    """One /proc reading of the child."""

    wall: float
    session: float | None
    """Latest transcript time when sampled (None before the first event)."""
    rss_mb: float
    load: float
    """The machine's 1-minute load average (other work slows the child down)."""


@dataclass
class DemoRun:
    """What one `voice-guide demo` child did."""

    events: list[dict[str, Any]]
    wall: float
    cpu: float
    peak_mb: float
    samples: list[Sample]
    returncode: int
    stderr: str

    @property
    def session_seconds(self) -> float:
        return max((e["t"] for e in self.events), default=0.0)

    @property
    def unspoken(self) -> int:
        """Utterances the guide printed instead of saying: the render did not finish within
        the speaker's wall-clock timeout (a loaded machine), so the room never heard them."""
        return self.stderr.count("could not render speech")

    @property
    def load(self) -> float | None:
        """Mean load average of the machine during the run."""
        return statistics.fmean(s.load for s in self.samples) if self.samples else None

    @property
    def listener(self) -> str:
        """The demo's own line naming the engine it listened with (and why auto chose it)."""
        lines = [line for line in self.stderr.splitlines() if "listening with" in line]
        return lines[0].removeprefix("voice-guide: ").strip() if lines else "not reported"

    @property
    def ended(self) -> bool:
        return any(e["event"] == "end" for e in self.events)

    def start_rss(self) -> Sample | None:
        """The first stable RSS once the session clock runs (model loaded, speech rendered)."""
        running = [s for s in self.samples if s.session is not None]
        for i, sample in enumerate(running):
            window = [s.rss_mb for s in running[i:] if s.wall - sample.wall <= STABLE_SECONDS]
            later = running[i:][len(window) :]
            if later and max(window) - min(window) <= STABLE_MB:
                return sample
        return running[0] if running else None

    def end_rss(self) -> Sample | None:
        """The last RSS while the session was still running (not during the exit)."""
        final = self.session_seconds
        running = [s for s in self.samples if s.session is not None and s.session < final]
        return running[-1] if running else (self.samples[-1] if self.samples else None)


def run_demo(
    routine: str | Path, options: Sequence[str], transcript: Path, *, engine: str
) -> DemoRun:
    """Run `voice-guide demo ROUTINE OPTIONS --engine E --transcript T --quiet`, sampling its
    memory."""
    transcript.unlink(missing_ok=True)
    argv = [*demo_command(), "demo", str(routine), *options, "--engine", engine]
    argv += ["--transcript", str(transcript), "--quiet"]
    started = time.monotonic()
    child = subprocess.Popen(
        argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=ROOT
    )
    samples: list[Sample] = []
    peak = TreePeak(child.pid)
    stderr: list[str] = []
    reader = threading.Thread(target=lambda: stderr.extend(child.stderr or []), daemon=True)
    reader.start()
    done = threading.Event()

    def sample() -> None:
        latest: float | None = None
        offset = 0
        while not done.is_set():
            if transcript.exists():
                with transcript.open("rb") as handle:
                    handle.seek(offset)
                    chunk = handle.read()
                complete = chunk[: chunk.rfind(b"\n") + 1]
                offset += len(complete)
                for line in complete.splitlines():
                    latest = json.loads(line)["t"]
            rss = tree_rss_mb(child.pid)  # the demo and its PocketSphinx decoder process
            if rss > 0:
                load = os.getloadavg()[0]
                samples.append(Sample(time.monotonic() - started, latest, rss, load))
                peak.sample()
            done.wait(POLL)

    poller = threading.Thread(target=sample, daemon=True)
    poller.start()
    # wait4 gives this child's CPU time with its decoder process's (RUSAGE_CHILDREN would
    # mix runs); the peak RSS is the process tree's, from the samples.
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    wall = time.monotonic() - started
    done.set()
    poller.join()
    reader.join()
    if child.returncode not in (0, 1):  # 1: cut by --max-minutes before the end
        print(
            f"voice-guide demo exited {child.returncode}: {''.join(stderr)[-800:]}", file=sys.stderr
        )
    events = [json.loads(line) for line in transcript.read_text(encoding="utf-8").splitlines()]
    return DemoRun(
        events,
        wall,
        usage.ru_utime + usage.ru_stime,
        peak.mb,
        samples,
        child.returncode,
        "".join(stderr),
    )


def say_option(at: float, phrase: str) -> list[str]:
    """A `--say 'M:SS.s PHRASE'` option."""
    minutes, seconds = divmod(at, 60)
    return ["--say", f"{int(minutes)}:{seconds:04.1f} {phrase}"]


# -- the routine and the guide's speech ---------------------------------------------------


def loops_for(name: str, minutes: float) -> int:
    """How many repeats of built-in `name` last over `minutes` when nobody speaks."""
    return int(minutes * 60 // build_timeline(load_routine(name)).total) + 1


def loop_routine(name: str, loops: int, folder: Path) -> Path:
    """Write a routine that repeats built-in `name` `loops` times: step ids get -2, -3, ...
    and section titles (2), (3), ... per repeat; everything else is kept."""
    data = yaml.safe_load((BUILTIN / f"{name}.yaml").read_text(encoding="utf-8"))
    sections = []
    for n in range(1, loops + 1):
        for section in data["sections"]:
            copy = json.loads(json.dumps(section))
            if n > 1:
                copy["title"] = f"{section['title']} ({n})"
                for step in copy["steps"]:
                    step["id"] = f"{step['id']}-{n}"
            sections.append(copy)
    looped = {**data, "title": f"{data['title']} x{loops}", "sections": sections}
    path = folder / f"{name}-x{loops}.yaml"
    path.write_text(yaml.safe_dump(looped, sort_keys=False, allow_unicode=True), "utf-8")
    return path


class SpeechTimes:
    """Seconds each sentence the guide says takes to play, rendered like the demo does."""

    def __init__(self, routine: Routine) -> None:
        from voice_guide.speech_in.audio import SAMPLE_RATE
        from voice_guide.speech_out.cache import RenderCache
        from voice_guide.speech_out.renderer import EspeakRenderer
        from voice_guide.wiring import routine_voice

        settings = routine_voice(routine, None, None, None)
        self._cache = RenderCache(EspeakRenderer(settings, routine.language), SAMPLE_RATE)
        self._seconds: dict[str, float] = {}

    def seconds(self, text: str) -> float:
        if text not in self._seconds:
            audio = self._cache.get(text)
            self._seconds[text] = len(audio.samples) / audio.sample_rate
        return self._seconds[text]

    def intervals(self, events: Iterable[dict[str, Any]]) -> list[tuple[float, float]]:
        """When the guide's voice was playing: says queue back to back, stop_speech cuts."""
        spans: list[tuple[float, float]] = []
        for event in events:
            t = event["t"]
            if event["event"] == "stop_speech":
                spans = [(a, min(b, t)) for a, b in spans if a < t]
            elif event["event"] == "say":
                begin = max(t, spans[-1][1] if spans else 0.0)
                spans.append((begin, begin + self.seconds(event["text"])))
        return spans


def speaking_at(spans: Sequence[tuple[float, float]], t: float) -> bool:
    return any(a <= t < b for a, b in spans)


# -- reading a transcript -----------------------------------------------------------------


@dataclass
class Outcome:
    """What became of one thing the person said."""

    phrase: str
    expected: Command
    start: float
    end: float
    result: str
    """'heard', 'wrong', 'gated' (detected, dropped by the self-voice gate), 'missed', or
    'not said' (a polite phrase still waiting for the guide to be quiet when the run ended)."""
    heard: dict[str, Any] | None = None
    detail: str = ""

    @property
    def delay(self) -> float | None:
        """Seconds from the end of the phrase to the detection."""
        return self.heard["t"] - self.end if self.heard and self.result == "heard" else None


def person_outcomes(events: list[dict[str, Any]]) -> list[Outcome]:
    """Match each person phrase with what the listener made of it."""
    outcomes = []
    for person in (e for e in events if e["event"] == "person"):
        expected = parse_command(person["phrase"])
        if expected is None:
            raise SystemExit(f"{person['phrase']!r} is not a command phrase (see en.yaml)")
        lo, hi = person["start"], person["end"] + MATCH_WINDOW
        near = [e for e in events if lo <= e["t"] <= hi]
        heard = [e for e in near if e["event"] == "heard"]
        right = [e for e in heard if e["command"] == expected.value]
        gated = [e for e in near if e["event"] == "ignored" and e.get("command") == expected.value]
        if right:
            outcome = Outcome(person["phrase"], expected, lo, person["end"], "heard", right[0])
        elif heard:
            wrong = ", ".join(e["command"] for e in heard)
            outcome = Outcome(
                person["phrase"], expected, lo, person["end"], "wrong", heard[0], wrong
            )
        elif gated:
            reason = gated[0]["reason"][:90]
            outcome = Outcome(person["phrase"], expected, lo, person["end"], "gated", None, reason)
        else:
            outcome = Outcome(person["phrase"], expected, lo, person["end"], "missed")
        outcomes.append(outcome)
    return outcomes


def false_accepts(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Commands acted on with no person phrase (or its match window) around them."""
    spoken = [(e["start"], e["end"] + MATCH_WINDOW) for e in events if e["event"] == "person"]
    return [
        e for e in events if e["event"] == "heard" and not any(a <= e["t"] <= b for a, b in spoken)
    ]


def ignored_by_reason(events: list[dict[str, Any]]) -> Counter[str]:
    return Counter(e["reason"].split(":")[0] for e in events if e["event"] == "ignored")


@dataclass
class Drift:
    step_id: str
    expected: float
    actual: float

    @property
    def ms(self) -> float:
        return (self.actual - self.expected) * 1000


def timer_drift(events: list[dict[str, Any]], routine: Routine) -> tuple[list[Drift], int]:
    """For each step change made by the timer: its time minus the previous step's start +
    its duration (ASK_TIMEOUT for an offer nobody answered) + the time paused in between.
    Returns the drifts and how many step changes a command made instead (not timed)."""
    durations = {step.id: step.duration for step in routine.all_steps}
    marks = [i for i, e in enumerate(events) if e["event"] in ("step", "end")]
    moves = {c.value for c in TIMER_MOVES}
    drifts: list[Drift] = []
    moved = 0
    for a, b in itertools.pairwise(marks):
        begin, finish = events[a], events[b]
        between = events[a + 1 : b]
        if (
            any(
                e["event"] == "heard" and e["command"] in moves
                for e in between
                if e["t"] == finish["t"]
            )
            or stalled_at(between) is not None
        ):
            moved += 1  # a command changed the step (the timer cannot while paused)
            continue
        asked = any(
            e["event"] == "say" and e["kind"] == "question" and e["t"] == begin["t"]
            for e in events[a : a + 12]
        )
        resumes = [e["t"] for e in between if e["event"] == "resume"]
        if asked:
            expected = (resumes[-1] if resumes else begin["t"]) + ASK_TIMEOUT
        else:
            duration = durations[begin["id"]]
            if duration is None:
                continue
            expected = begin["t"] + duration + paused_seconds(between)
        drifts.append(Drift(begin["id"], expected, finish["t"]))
    return drifts, moved


def percentile(values: Sequence[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def poisson_upper(count: int, confidence: float = 0.95) -> float:
    """One-sided upper confidence bound of a Poisson mean after seeing `count` events (3.0
    for none: the 'rule of three')."""
    lo, hi = 0.0, 10.0 + 5 * count

    def at_most(mean: float) -> float:
        term = total = math.exp(-mean)
        for k in range(1, count + 1):
            term *= mean / k
            total += term
        return total

    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if at_most(mid) > 1 - confidence else (lo, mid)
    return hi


def fmt(value: float | None, spec: str = ".2f") -> str:
    return "-" if value is None else format(value, spec)


def table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A Markdown table (also readable on a terminal)."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


# -- soak ---------------------------------------------------------------------------------

SOAK_PHRASES = [
    "a little lighter",
    "that feels great",
    "stronger",
    "how long",
    "pause",
    "repeat that",
    "lighter",
    "a bit stronger",
    "pause",
    "that feels good",
]
"""The person's commands in turn. Every pause is followed by 'continue' 20 s later and, in
case that was missed, 'keep going' halfway to the next command; the other commands too are
followed by a 'continue' halfway to the next one (a no-op while the session runs), which
gets the session going again when the guide paused itself on its own echo, as a real person
would."""


RECOVERY = ("continue", "keep going")
"""What the person says to resume, and to try again."""


def soak_script(total: float, every: float) -> list[str]:
    """--say options: a command every `every` seconds until 3 minutes before the end."""
    options: list[str] = []
    at, n = 120.0, 0
    while at < total - 180:
        phrase = SOAK_PHRASES[n % len(SOAK_PHRASES)]
        options += say_option(at, phrase)
        if phrase == "pause":
            options += say_option(at + 20, RECOVERY[0]) + say_option(at + every / 2, RECOVERY[1])
        else:
            options += say_option(at + every / 2, RECOVERY[0])
        at, n = at + every, n + 1
    return options


def paused_seconds(events: list[dict[str, Any]]) -> float:
    """Session seconds spent paused (up to the last event)."""
    total, since = 0.0, None
    for event in events:
        if event["event"] == "pause" and since is None:
            since = event["t"]
        elif event["event"] in ("resume", "step", "end") and since is not None:
            total, since = total + event["t"] - since, None
    if since is not None and events:
        total += events[-1]["t"] - since
    return total


def stalled_at(events: list[dict[str, Any]]) -> float | None:
    """When the session paused for the last time without resuming (None: it never sat
    paused at the end)."""
    paused: float | None = None
    for event in events:
        if event["event"] == "pause" and paused is None:
            paused = event["t"]
        elif event["event"] in ("resume", "step", "end"):
            paused = None
    return paused


def soak(args: argparse.Namespace, work: Path, out: list[str]) -> dict[str, Any]:
    minutes = 8.0 if args.quick else args.soak_minutes
    loops = loops_for("back-massage", minutes)
    path = loop_routine("back-massage", loops, work)
    routine = load_routine(path)
    nominal = build_timeline(routine).total
    if args.quick:
        nominal = minutes * 60
    options = soak_script(nominal, 90.0 if args.quick else args.soak_every)
    limit = minutes + 2 if args.quick else nominal / 60 + 30
    options += ["--max-minutes", f"{limit:.1f}"]
    print(
        f"soak: {loops} x back-massage ({nominal / 60:.0f} min nominal), "
        f"{options.count('--say')} person phrases ...",
        file=sys.stderr,
        flush=True,
    )
    run = run_demo(path, options, work / "soak.jsonl", engine=args.engine)
    drifts, moved = timer_drift(run.events, routine)
    speech_h = sum(b - a for a, b in SpeechTimes(routine).intervals(run.events)) / 3600
    outcomes = person_outcomes(run.events)
    fa = false_accepts(run.events)
    first, last = run.start_rss(), run.end_rss()
    hours = run.session_seconds / 3600
    worst = max(drifts, key=lambda d: abs(d.ms), default=None)
    results = Counter(o.result for o in outcomes)
    delays = [o.delay for o in outcomes if o.delay is not None]
    summary = {
        "loops": loops,
        "session_min": run.session_seconds / 60,
        "ended": run.ended,
        "wall_s": run.wall,
        "cpu_s": run.cpu,
        "speed": run.session_seconds / run.wall,
        "rss_start_mb": first.rss_mb if first else None,
        "rss_start_at_min": (first.session or 0) / 60 if first else None,
        "rss_end_mb": last.rss_mb if last else None,
        "rss_end_at_min": (last.session or 0) / 60 if last else None,
        "rss_peak_mb": run.peak_mb,
        "timed_steps": len(drifts),
        "command_steps": moved,
        "drift_max_ms": abs(worst.ms) if worst else None,
        "drift_mean_ms": statistics.fmean(d.ms for d in drifts) if drifts else None,
        "drift_total_ms": sum(d.ms for d in drifts),
        "phrases": len(outcomes),
        "results": dict(results),
        "delay_p50": percentile(delays, 50),
        "delay_p95": percentile(delays, 95),
        "false_accepts": len(fa),
        "false_per_hour": len(fa) / hours if hours else None,
        "speech_min": speech_h * 60,
        "false_per_speech_hour": len(fa) / speech_h if speech_h else None,
        "ignored": dict(ignored_by_reason(run.events)),
        "steps": sum(e["event"] == "step" for e in run.events),
        "paused_min": paused_seconds(run.events) / 60,
        "load": run.load,
    }
    out.append("### Soak\n")
    out.append(f"Listener: {run.listener}.\n")
    out.append(
        table(
            ["measure", "value"],
            [
                ["routine", f"back-massage looped {loops}x (generated, unique step ids)"],
                [
                    "session length",
                    f"{summary['session_min']:.1f} min" + ("" if run.ended else " (did not end)"),
                ],
                ["steps started", f"{summary['steps']} of {len(routine.all_steps)}"],
                ["utterances not rendered in time (printed, not heard)", run.unspoken],
                ["time paused", f"{summary['paused_min']:.1f} min"],
                [
                    "wall time / speed",
                    f"{run.wall:.0f} s / {summary['speed']:.1f}x real time "
                    f"(machine load average {fmt(run.load, '.1f')} on {os.cpu_count()} cores)",
                ],
                [
                    "CPU time",
                    f"{run.cpu:.0f} s: {run.session_seconds / max(run.cpu, 1e-9):.0f}x real time "
                    "per CPU second (the speed on an idle core)",
                ],
                [
                    "RSS at start",
                    f"{fmt(summary['rss_start_mb'], '.0f')} MB "
                    f"(first stable value, session minute {summary['rss_start_at_min'] or 0:.1f})",
                ],
                [
                    "RSS at end",
                    f"{fmt(summary['rss_end_mb'], '.0f')} MB (last value before the session "
                    f"ended, minute {summary['rss_end_at_min'] or 0:.1f})",
                ],
                ["peak RSS", f"{run.peak_mb:.0f} MB"],
                ["timer-driven step changes", f"{len(drifts)} (+{moved} made by a command)"],
                [
                    "timer drift max abs",
                    f"{fmt(summary['drift_max_ms'], '.0f')} ms"
                    + (f" (step {worst.step_id})" if worst else ""),
                ],
                [
                    "timer drift mean / summed",
                    f"{fmt(summary['drift_mean_ms'], '.1f')} ms / "
                    f"{summary['drift_total_ms']:.0f} ms",
                ],
                ["person phrases", len(outcomes)],
                ["  acted on (right command)", results["heard"]],
                ["  missed", results["missed"]],
                ["  heard as another command", results["wrong"]],
                ["  detected but dropped by the gate", results["gated"]],
                [
                    "delay end of phrase -> detection p50 / p95",
                    f"{fmt(summary['delay_p50'])} s / {fmt(summary['delay_p95'])} s",
                ],
                [
                    "false accepts (nobody speaking)",
                    f"{len(fa)}: {fmt(summary['false_per_hour'], '.1f')} per hour of session, "
                    f"{fmt(summary['false_per_speech_hour'], '.1f')} per hour of the guide's "
                    f"speech ({speech_h * 60:.0f} min; 95% upper bound "
                    f"{poisson_upper(len(fa)) / speech_h if speech_h else 0:.1f} per hour)",
                ],
                ["ignored detections by reason", _counts(summary["ignored"])],
            ],
        )
    )
    out.append("")
    out.append(outcome_table(outcomes))
    if fa:
        out.append(
            "\nFalse accepts: "
            + "; ".join(f"{e['t'] / 60:.1f} min {e['command']} ({e['phrase']!r})" for e in fa)
        )
    if args.plot:
        plot_rss(run, Path(args.plot))
    summary["run"] = run
    return summary


def outcome_table(outcomes: list[Outcome]) -> str:
    """Per phrase: how often acted on, missed, wrong, gated; and the delay."""
    rows = []
    for phrase in sorted({o.phrase for o in outcomes}):
        mine = [o for o in outcomes if o.phrase == phrase]
        counts = Counter(o.result for o in mine)
        delays = [o.delay for o in mine if o.delay is not None]
        wrong = Counter(o.detail for o in mine if o.result == "wrong")
        rows.append(
            [
                f"{phrase!r}",
                len(mine),
                counts["heard"],
                counts["missed"],
                counts["wrong"] and f"{counts['wrong']} ({_counts(wrong)})",
                counts["gated"],
                fmt(percentile(delays, 50)),
            ]
        )
    return table(["phrase", "said", "acted on", "missed", "wrong", "gated", "delay p50 s"], rows)


def _counts(counter: dict[str, int] | Counter[str]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(counter.items(), key=lambda kv: -kv[1])) or "-"


def plot_rss(run: DemoRun, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    points = [(s.session / 60, s.rss_mb) for s in run.samples if s.session is not None]
    fig, ax = plt.subplots(figsize=(7, 3))
    ax.plot([p[0] for p in points], [p[1] for p in points])
    ax.set_xlabel("session minutes (virtual room)")
    ax.set_ylabel("RSS of voice-guide demo, MB")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


# -- barge-in -----------------------------------------------------------------------------

BARGE_PHRASES = ["pause", "stop", "ouch", "ow", "that hurts", "next", "lighter", "stronger"]
"""Barge-in commands, and two ordinary ones for comparison (the room holds those back until
the guide is quiet, as a polite person would: they measure the same listener in silence)."""
BARGE_STEPS = {"neck-and-shoulders": [1, 2, 3, 4], "back-massage": [1, 2, 3]}
VOICES = ["rms", "slt", "awb"]
BARGE_AFTER = 15.0
"""Seconds a trial runs on after the person's phrase is due."""
POLITE_AFTER = 90.0
"""The same for lighter/stronger, which the room holds back until the guide is quiet."""
URGENT = (Command.PAUSE, Command.PAIN, Command.NEXT)
"""What the room lets the person say over the guide (and the gate lets through)."""
PROBE_TRIES = 8


@dataclass
class Trial:
    routine: str
    step: str
    phrase: str
    voice: str
    over_speech: bool
    outcome: Outcome
    acted: bool
    stop_delay: float | None
    was_speaking: bool | None
    current_step: str
    """The step going on when the person began (the planned one unless the run diverged)."""
    into_step: float
    """Seconds into that step when the person began."""


def acted_on(events: list[dict[str, Any]], heard: dict[str, Any], command: Command) -> bool:
    """Did the session do what the command asks, at the moment it was heard?"""
    now = [e for e in events if e["t"] == heard["t"]]
    if command in (Command.PAUSE, Command.PAIN):
        return any(e["event"] == "pause" and e["reason"] == command.value for e in now)
    if command is Command.NEXT:  # the next step, or the end after the last one
        return any(e["event"] in ("step", "end") for e in now)
    if command in (Command.LIGHTER, Command.STRONGER):
        answers = {prompts("en").text(key) for key in ("lightest", "deepest", "no_pressure_step")}
        return any(
            (e["event"] == "pressure" and e["reason"] == command.value)
            or (e["event"] == "say" and e["text"] in answers)
            for e in now
        )
    return any(e["event"] not in ("heard", "ignored", "person") for e in now)


@dataclass
class Probe:
    """A run with nobody speaking except 'continue' after each pause the guide's own echo
    caused, up to the last trial's time: the room is deterministic, so a trial that adds one
    phrase later on replays exactly this run up to that phrase."""

    options: list[str]
    starts: dict[int, float]
    """Step index -> session time it started."""
    recoveries: list[float]


def probe(name: str, voice: str, until: float, work: Path, engine: str) -> Probe:
    options: list[str] = []
    recoveries: list[float] = []
    for _ in range(PROBE_TRIES):
        cap = ["--person-voice", voice, "--max-minutes", f"{until / 60:.3f}"]
        nobody = [] if options else ["--no-person"]
        run = run_demo(name, [*options, *nobody, *cap], work / "probe.jsonl", engine=engine)
        stall = stalled_at(run.events)
        if stall is None:
            break
        recoveries.append(stall)
        options += say_option(stall + 0.5, RECOVERY[0])
    starts: dict[int, float] = {}
    for event in run.events:
        if event["event"] == "step":
            starts.setdefault(event["index"], event["t"])
    return Probe(options, starts, recoveries)


def barge_in(args: argparse.Namespace, work: Path, out: list[str]) -> dict[str, Any]:
    plan = {"neck-and-shoulders": [1, 2]} if args.quick else BARGE_STEPS
    phrases = ["pause", "next", "lighter"] if args.quick else BARGE_PHRASES
    trials: list[Trial] = []
    notes: list[str] = []
    listeners: set[str] = set()
    for name, steps in plan.items():
        routine = load_routine(name)
        spans = {s.index: s for s in build_timeline(routine).steps}
        speech = SpeechTimes(routine)
        for k, index in enumerate(steps):
            voice = VOICES[k % len(VOICES)]
            print(
                f"barge-in: {name} step {index} ({voice}): probing ...", file=sys.stderr, flush=True
            )
            found = probe(name, voice, spans[index].start + 60, work, args.engine)
            if found.recoveries:
                notes.append(
                    f"{name} ({voice}): the guide paused itself on its own echo at "
                    + ", ".join(f"{t:.1f} s" for t in found.recoveries)
                    + "; the person says 'continue' after each"
                )
            if index not in found.starts:
                notes.append(f"{name} ({voice}): step {index} never started; no trials there")
                continue
            # On the 0.1 s grid of --say (M:SS.s): the phrase begins exactly at `at`.
            at = math.ceil((found.starts[index] + args.barge_offset) * 10) / 10
            for phrase in phrases:
                options = [*found.options, *say_option(at, phrase), "--person-voice", voice]
                # A polite phrase waits for the guide to fall silent, which can take a while.
                after = BARGE_AFTER if parse_command(phrase) in URGENT else POLITE_AFTER
                options += ["--max-minutes", f"{(at + after) / 60:.3f}"]
                print(
                    f"barge-in: {name} step {index} at {at:.1f} s {phrase!r}",
                    file=sys.stderr,
                    flush=True,
                )
                run = run_demo(name, options, work / "barge.jsonl", engine=args.engine)
                listeners.add(run.listener)
                if run.unspoken:
                    notes.append(
                        f"{name} step {index} {phrase!r}: {run.unspoken} utterances "
                        "not rendered in time"
                    )
                trials.append(
                    judge_trial(run, name, spans[index].step_id, phrase, voice, speech, at)
                )
    rows = []
    for phrase in phrases:
        mine = [t for t in trials if t.phrase == phrase]
        over = [t for t in mine if t.over_speech]
        counts = Counter(t.outcome.result for t in mine)
        delays = [t.outcome.delay for t in mine if t.outcome.delay is not None]
        stops = [t.stop_delay for t in mine if t.stop_delay is not None]
        wrong = Counter(t.outcome.detail for t in mine if t.outcome.result == "wrong")
        rows.append(
            [
                f"{phrase!r}",
                len(mine),
                len(over),
                counts["heard"],
                sum(t.acted for t in mine),
                counts["missed"],
                counts["wrong"] and f"{counts['wrong']} ({_counts(wrong)})",
                counts["gated"],
                counts["not said"],
                fmt(percentile(delays, 50)),
                fmt(percentile(delays, 95)),
                fmt(max(stops) * 1000, ".0f") if stops else "-",
            ]
        )
    barge = [t for t in trials if parse_command(t.phrase) in URGENT and t.over_speech]
    detected = [t for t in barge if t.outcome.result == "heard"]
    all_delays = [t.outcome.delay for t in detected if t.outcome.delay is not None]
    stops = [t.stop_delay * 1000 for t in detected if t.stop_delay is not None]
    summary = {
        "trials": len(barge),
        "not_over_speech": sum(
            1 for t in trials if parse_command(t.phrase) in URGENT and not t.over_speech
        ),
        "detected": len(detected),
        "acted": sum(t.acted for t in barge),
        "delay_p50": percentile(all_delays, 50),
        "delay_p95": percentile(all_delays, 95),
        "stop_max_ms": max(stops, default=None),
        "stopped_speaking": sum(bool(t.was_speaking) for t in detected),
        "notes": notes,
    }
    out.append("### Barge-in\n")
    out.append(f"Listener: {'; '.join(sorted(listeners))}.\n")
    out.append(
        f"Barge-in commands (pause, stop, ouch, ow, that hurts, next) "
        f"begun {args.barge_offset:g} s "
        f"after a step starts, over the guide's speech: {summary['detected']}/{summary['trials']}"
        f" detected, {summary['acted']} acted on; delay end of phrase -> detection p50 "
        f"{fmt(summary['delay_p50'])} s, p95 {fmt(summary['delay_p95'])} s; detection -> "
        f"speech stopped (transcript time) max {fmt(summary['stop_max_ms'], '.0f')} ms, the "
        f"guide was still speaking at {summary['stopped_speaking']} of those stops. "
        f"{summary['not_over_speech']} barge-in trials began when the guide was already quiet "
        f"and are left out of these shares (they are in the table below).\n"
    )
    out.append(
        table(
            [
                "phrase",
                "trials",
                "over guide speech",
                "detected",
                "acted on",
                "missed",
                "wrong",
                "gated",
                "not said (no quiet moment)",
                "delay p50 s",
                "delay p95 s",
                "detect->stop max ms",
            ],
            rows,
        )
    )
    if notes:
        out.append("\nNotes: " + "; ".join(notes) + ".")
    out.append("\nPer trial (routine/step voice: result):\n")
    out.append(
        "\n".join(
            f"- {t.phrase!r} {t.routine}/{t.step} {t.voice}: {t.outcome.result}"
            + (f" {t.outcome.detail}" if t.outcome.detail else "")
            + (f", {t.outcome.delay:.2f} s" if t.outcome.delay is not None else "")
            + f"; began {t.into_step:.1f} s into step {t.current_step}"
            + ("" if t.over_speech else ", the guide was quiet then")
            for t in trials
        )
    )
    summary["trial_list"] = trials
    return summary


def judge_trial(
    run: DemoRun,
    routine: str,
    step: str,
    phrase: str,
    voice: str,
    speech: SpeechTimes,
    at: float,
) -> Trial:
    outcomes = [o for o in person_outcomes(run.events) if o.start >= at - 0.01]
    if not outcomes:  # still waiting for a quiet moment when the run was cut
        command = parse_command(phrase)
        assert command is not None
        outcomes = [Outcome(phrase, command, at, at, "not said", None, "no quiet moment")]
    outcome = outcomes[0]
    over = speaking_at(speech.intervals(run.events), outcome.start)
    acted = outcome.result == "heard" and acted_on(run.events, outcome.heard, outcome.expected)
    stop_delay = was_speaking = None
    if outcome.result == "heard":
        heard_at = outcome.heard["t"]
        stops = [e for e in run.events if e["event"] == "stop_speech" and e["t"] >= heard_at]
        if stops and stops[0]["t"] - heard_at < 1.0:
            stop_delay = stops[0]["t"] - heard_at
            was_speaking = stops[0]["was_speaking"]
    steps = [e for e in run.events if e["event"] == "step" and e["t"] <= outcome.start]
    current = steps[-1] if steps else {"id": "-", "t": 0.0}
    return Trial(
        routine,
        step,
        phrase,
        voice,
        over,
        outcome,
        acted,
        stop_delay,
        was_speaking,
        current["id"],
        outcome.start - current["t"],
    )


# -- self-trigger -------------------------------------------------------------------------

ROOMS = [
    ("echo 0.3", ["--echo-gain", "0.3"]),
    ("echo 0.5", ["--echo-gain", "0.5"]),
    ("echo 1.0", ["--echo-gain", "1.0"]),
    ("echo 0.5 + pink noise 15 dB", ["--echo-gain", "0.5", "--bed", "pink:15"]),
    ("echo 0.5 + music 10 dB", ["--echo-gain", "0.5", "--bed", "music:10"]),
]
RECOVER_EVERY = 60.0
"""Seconds between the 'continue' of the person who only wakes a self-paused session."""


def self_trigger(args: argparse.Namespace, work: Path, out: list[str]) -> dict[str, Any]:
    name = "neck-and-shoulders" if args.quick else "back-massage"
    path: str | Path = name
    if args.self_loops > 1:
        path = loop_routine(name, args.self_loops, work)
    rooms = ROOMS[1:2] if args.quick else ROOMS
    routine = load_routine(path)
    nominal = build_timeline(routine).total
    speech = SpeechTimes(routine)
    cap = ["--max-minutes", f"{nominal / 60 + 3:.1f}"]
    wake: list[str] = []
    at = RECOVER_EVERY / 2
    while at < nominal:
        wake += say_option(at, RECOVERY[0])
        at += RECOVER_EVERY
    rows, summary = [], {}
    listeners: set[str] = set()
    for label, options in rooms:
        for mode, extra in (("nobody", ["--no-person"]), ("continue/min", wake)):
            print(f"self-trigger: {label}, {mode} ...", file=sys.stderr, flush=True)
            run = run_demo(path, [*options, *extra, *cap], work / "self.jsonl", engine=args.engine)
            listeners.add(run.listener)
            spans = speech.intervals(run.events)
            spoken = sum(b - a for a, b in spans) / 3600
            triggers = false_accepts(run.events)
            ignored = ignored_by_reason(run.events)
            stall = stalled_at(run.events)
            per_hour = len(triggers) / spoken if spoken else None
            wakes = person_outcomes(run.events)
            summary[f"{label}, {mode}"] = {
                "session_min": run.session_seconds / 60,
                "speech_min": spoken * 60,
                "self_triggers": len(triggers),
                "per_hour": per_hour,
                "ignored": dict(ignored),
                "stalled_at": stall,
                "ended": run.ended,
                "wakes": dict(Counter(o.result for o in wakes)),
            }
            state = (
                "ended"
                if run.ended
                else (f"stuck paused from {stall:.1f} s" if stall is not None else "cut")
            )
            rows.append(
                [
                    label,
                    mode,
                    f"{run.session_seconds / 60:.1f} ({state})",
                    f"{spoken * 60:.1f}",
                    len(triggers),
                    fmt(per_hour, ".1f"),
                    fmt(poisson_upper(len(triggers)) / spoken if spoken else None, ".1f"),
                    _counts(Counter(f"{e['command']} ({e['phrase']!r})" for e in triggers)),
                    _counts(ignored),
                    fmt(sum(ignored.values()) / spoken if spoken else None, ".0f"),
                    f"{run.session_seconds / run.wall:.0f}x (load {fmt(run.load, '.1f')})"
                    + (f", {run.unspoken} utterances not rendered in time" if run.unspoken else ""),
                ]
            )
            if mode == "nobody" and stall is None and run.ended:
                break  # the session ran through on its own: no need to wake it
    out.append("### Self-triggers\n")
    out.append(f"Listener: {'; '.join(sorted(listeners))}.\n")
    out.append(
        "'nobody': --no-person, exactly the guide and its echo; a command the echo triggers "
        "can leave the session paused for good, and then nothing more is said. "
        f"'continue/min': the only person says 'continue' every {RECOVER_EVERY:.0f} s (a no-op "
        "while the session runs; wakes it when the guide paused itself); commands heard within "
        f"{MATCH_WINDOW} s of that are not counted as self-triggers.\n"
    )
    out.append(
        table(
            [
                "room",
                "person",
                "session min",
                "guide speech min",
                "self-triggers acted on",
                "per hour of guide speech",
                "95% upper bound per hour",
                "what was acted on",
                "ignored by reason",
                "ignored per hour of speech",
                "speed",
            ],
            rows,
        )
    )
    hours = sum(v["speech_min"] for v in summary.values()) / 60
    count = sum(v["self_triggers"] for v in summary.values())
    out.append(
        f"\nAll rooms together: {count} self-triggers in {hours * 60:.0f} min of the guide's "
        f"speech, {count / hours if hours else 0:.1f} per hour (95% upper bound "
        f"{poisson_upper(count) / hours if hours else 0:.1f} per hour)."
    )
    return summary


# -- main ---------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("which", choices=["soak", "barge-in", "self-trigger", "all"])
    parser.add_argument("--quick", action="store_true", help="a short smoke run of each")
    parser.add_argument("--markdown", type=Path, help="also write the tables to this file")
    parser.add_argument("--plot", help="soak: PNG of RSS over session time")
    parser.add_argument("--work", type=Path, help="keep transcripts and routines here")
    parser.add_argument(
        "--engine", default="auto", help="passed to every demo: auto or an engine's name"
    )
    parser.add_argument(
        "--soak-minutes",
        type=float,
        default=120.0,
        help="soak: loop the back massage until the session lasts over this long",
    )
    parser.add_argument(
        "--soak-every",
        type=float,
        default=150.0,
        help="soak: seconds between the person's commands",
    )
    parser.add_argument(
        "--barge-offset",
        type=float,
        default=2.0,
        help="barge-in: seconds after the step starts that the person speaks",
    )
    parser.add_argument(
        "--self-loops", type=int, default=1, help="self-trigger: repeats of back-massage per room"
    )
    args = parser.parse_args(argv)
    unknown = [p for p in {*SOAK_PHRASES, *BARGE_PHRASES, *RECOVERY} if not parse_command(p)]
    if unknown:
        parser.error(f"not command phrases in en.yaml (any more): {unknown}; edit this script")
    out = [
        f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on "
        f"{os.cpu_count()} cores; git {git_head()}.\n"
    ]
    with tempfile.TemporaryDirectory(prefix="bench-session-") as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        if args.which in ("soak", "all"):
            soak(args, work, out)
            out.append("")
        if args.which in ("barge-in", "all"):
            barge_in(args, work, out)
            out.append("")
        if args.which in ("self-trigger", "all"):
            self_trigger(args, work, out)
    text = "\n".join(out) + "\n"
    print(text)
    if args.markdown:
        args.markdown.write_text(text, encoding="utf-8")
    return 0


def git_head() -> str:
    """The commit measured, and whether voice_guide/ had changes not yet committed."""

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)
        return done.stdout.strip()

    dirty = git("status", "--porcelain", "--", "voice_guide")
    changed = " + uncommitted changes in voice_guide/" if dirty else ""
    return (git("rev-parse", "--short", "HEAD") or "unknown") + changed


if __name__ == "__main__":
    sys.exit(main())
