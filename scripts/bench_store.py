"""Benchmark the session database: how fast checkpoints are, and how big the file gets.

The runner checkpoints at every event. This writes a two-hour session's worth of
checkpoints (default 20,000: one every 0.36 s of session time) with a state shaped like
the state machine's `to_dict()`, and prints checkpoints per second, latency percentiles,
the file sizes during and after the session, and the time to open the result (which
includes the damage check).

    .venv/bin/python scripts/bench_store.py [--checkpoints 20000] [--sessions 500]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from voice_guide.store import Store

SUMMARY = {
    "duration": 7200.0,
    "steps_done": 12,
    "steps_total": 12,
    "pressure_by_area": {"shoulders": 2, "upper back": 3, "lower back": 1},
    "ended": "completed",
}


def state(n: int) -> dict[str, object]:
    """A realistic checkpoint: the fields of session.SessionState.to_dict()."""
    return {
        "phase": "running",
        "index": n % 12,
        "pressure": 2 + n % 3,
        "anchor_time": n * 0.36,
        "anchor_elapsed": (n % 100) * 0.36,
        "cues_said": n % 4,
        "paused_from": None,
        "ask_deadline": None,
        "done": [f"step-{i}" for i in range(n % 12)],
        "preferred": {"shoulders": 2, "upper back": 3, "lower back": 1},
        "avoid": ["neck"],
    }


def size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


def kib(n: int) -> str:
    return f"{n / 1024:.0f} KiB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoints", type=int, default=20_000)
    parser.add_argument("--sessions", type=int, default=500, help="past sessions in history")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "sessions.sqlite3"
        wal = db.with_name(db.name + "-wal")
        with Store(db) as store:
            for n in range(args.sessions):  # a well-used database, not an empty one
                sid = store.start_session("back", "Back massage", f"person {n % 20}", n)
                store.checkpoint(sid, state(n), 7200.0)
                store.finish(sid, SUMMARY)
            before_db, before_wal = size(db), size(wal)

            sid = store.start_session("back", "Back massage", "Anna", time.time())
            states = [state(n) for n in range(args.checkpoints)]
            latencies = []
            start = time.perf_counter()
            for n, data in enumerate(states):
                t0 = time.perf_counter()
                store.checkpoint(sid, data, n * 0.36)
                latencies.append(time.perf_counter() - t0)
            elapsed = time.perf_counter() - start
            during_db, during_wal = size(db), size(wal)
            store.finish(sid, SUMMARY)

            t0 = time.perf_counter()
            history = store.history(limit=50)
            history_ms = (time.perf_counter() - t0) * 1000
        after_db, after_wal = size(db), size(wal)

        t0 = time.perf_counter()
        with Store(db) as reopened:
            assert reopened.notice is None
        open_ms = (time.perf_counter() - t0) * 1000

    latencies.sort()
    us = [latencies[int(q * (len(latencies) - 1))] * 1e6 for q in (0.5, 0.99, 1.0)]
    print(f"checkpoints:        {args.checkpoints} (state of {len(str(states[-1]))} chars)")
    print(f"checkpoints/s:      {args.checkpoints / elapsed:,.0f}")
    print(f"latency us:         p50 {us[0]:.0f}, p99 {us[1]:.0f}, max {us[2]:.0f}")
    print(f"latency mean us:    {statistics.fmean(latencies) * 1e6:.0f}")
    slow = sum(latency > 0.005 for latency in latencies)
    print(f"over 5 ms:          {slow} of {len(latencies)}")
    print(f"before, {args.sessions} past sessions: db {kib(before_db)} + wal {kib(before_wal)}")
    print(f"during the session: db {kib(during_db)} + wal {kib(during_wal)}")
    print(f"after close:        db {kib(after_db)} + wal {kib(after_wal)}")
    print(f"history(50):        {history_ms:.1f} ms ({len(history)} rows)")
    print(f"open + quick_check: {open_ms:.1f} ms")


if __name__ == "__main__":
    main()
