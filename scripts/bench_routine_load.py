"""How long loading, linting and refusing routines takes, and the peak memory it needs.

Prints one line per case: median milliseconds over several runs and peak traced memory.
Run: .venv/bin/python scripts/bench_routine_load.py
"""

from __future__ import annotations

import statistics
import time
import tracemalloc
from collections.abc import Callable
from importlib import resources

import yaml

from voice_guide.cli.routines import preview_lines
from voice_guide.routine.lint import lint
from voice_guide.routine.loader import MAX_BYTES, MAX_STEPS, RoutineError, parse_routine
from voice_guide.routine.model import Routine
from voice_guide.routine.timeline import build_timeline


def _largest_valid() -> str:
    """A valid routine just under the size limit (many timed steps, long instructions)."""
    head = "title: Large\nsteps:\n"
    say = "Glide your palms slowly up the back, then out over the shoulders. " * 3
    step = (
        f"  - id: s{{n}}\n    say: {say.strip()}\n    duration: 40s\n"
        "    cues: [{{at: halfway, say: Slow and even.}}]\n"
    )
    parts, size, n = [head], len(head), 0
    while size + len(step) + 8 < MAX_BYTES and n < MAX_STEPS:
        parts.append(step.format(n=n))
        size += len(parts[-1])
        n += 1
    return "".join(parts)


def _many_cues(count: int) -> str:
    """One 3-hour step with `count` evenly spread cues (beyond the loader's cue limit)."""
    lines = [
        "title: Many cues",
        "steps:",
        "  - id: long",
        "    say: Work slowly.",
        "    duration: 3h",
    ]
    lines.append("    cues:")
    lines += [f"      - {{at: {n * 10800 // count + 1}s, say: Cue {n}.}}" for n in range(count)]
    return "\n".join(lines) + "\n"


def _bomb() -> str:
    lines = ["a: &a [" + ", ".join(["lol"] * 9) + "]"]
    for previous, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{previous}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def _measure(label: str, action: Callable[[], object], runs: int = 7) -> None:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    tracemalloc.start()
    action()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    print(f"{label:<44} {statistics.median(times) * 1000:8.1f} ms  peak {peak / 1e6:6.1f} MB")


def _refused(text: str) -> Callable[[], None]:
    def run() -> None:
        try:
            parse_routine(text, "hostile.yaml")
        except RoutineError:
            return
        raise AssertionError("a hostile file was accepted")

    return run


def main() -> None:
    builtin = resources.files("voice_guide.routine").joinpath("builtin/back-massage.yaml")
    back = builtin.read_text("utf-8")
    large = _largest_valid()
    loaded = parse_routine(back, "back-massage.yaml")
    print(f"back-massage.yaml: {len(back.encode()) / 1024:.1f} KiB")
    print(f"largest valid routine: {len(large.encode()) / 1024:.0f} KiB")
    _measure("load back-massage (parse + validate)", lambda: parse_routine(back, "b.yaml"))
    _measure("lint back-massage", lambda: lint(loaded))
    _measure("timeline back-massage", lambda: build_timeline(loaded.routine))
    _measure("load largest valid routine (~256 KiB)", lambda: parse_routine(large, "l.yaml"), 3)
    _measure("refuse alias bomb (9^9 expansion)", _refused(_bomb()))
    for count in (2000, 4000):
        # The model alone, without the loader's limits: what the session engine costs.
        many = Routine.model_validate(yaml.safe_load(_many_cues(count)))
        _measure(f"preview 3-hour step, {count} cues (no limit)", lambda r=many: preview_lines(r))
    _measure("refuse 4000 cues in one step (limit)", _refused(_many_cues(4000)))
    _measure("refuse 10 MB text (size check first)", _refused("#" * 10_000_000))
    _measure("refuse 100-deep nesting", _refused("a: " + "[" * 100 + "]" * 100))


if __name__ == "__main__":
    main()
