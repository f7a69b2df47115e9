"""How long `voice-guide draft` takes on how-to texts, and the peak memory it needs.

Prints one line per case: median milliseconds over several runs, peak traced memory, and
the steps drafted (or the sentence a too-long guide gets). The cases: the three test guides
(plain text, Markdown, a saved web page) and large generated guides near the 2 MiB limit.
Run: .venv/bin/python scripts/bench_draft.py
"""

from __future__ import annotations

import contextlib
import statistics
import time
import tracemalloc
from pathlib import Path

from voice_guide.draft import GuideError, draft_routine

GUIDES = Path(__file__).resolve().parent.parent / "tests" / "data" / "guides"
SECTION = (
    "Section {n}\n\nKnead the shoulders for {m} minutes with firm pressure, working out "
    "toward the arms. Never press on the spine.\n\n"
)


def _large_text(size: int) -> bytes:
    """A plain-text guide of about `size` bytes: many short sections."""
    parts, total, n = [], 0, 0
    while total < size:
        parts.append(SECTION.format(n=n, m=n % 3 + 1))
        total += len(parts[-1])
        n += 1
    return "".join(parts).encode()


def _large_page(size: int) -> bytes:
    """The test web page with its article repeated to about `size` bytes."""
    page = (GUIDES / "stretching.html").read_text()
    head, rest = page.split("<h2>Neck</h2>", 1)
    body, tail = rest.split("</article>", 1)
    chunk = "<h2>Neck</h2>" + body
    return (head + chunk * max(1, size // len(chunk)) + "</article>" + tail).encode()


def _measure(name: str, data: bytes, guide: str, runs: int) -> None:
    times = []
    outcome = ""
    for _ in range(runs):
        start = time.perf_counter()
        try:
            drafted = draft_routine(data, guide, "routine.yaml")
            outcome = f"{len(drafted.routine.steps)} steps, {len(drafted.text) // 1024} KiB"
        except GuideError as error:
            outcome = str(error).split(" — ")[0].split(": ", 1)[1]
        times.append((time.perf_counter() - start) * 1000)
    tracemalloc.start()
    with contextlib.suppress(GuideError):
        draft_routine(data, guide, "routine.yaml")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    print(
        f"{name:<34} {len(data) // 1024:>5} KiB  {statistics.median(times):>9.1f} ms  "
        f"peak {peak / 1024:8.0f} KiB  {outcome}"
    )


def main() -> None:
    """Print the table."""
    for path in sorted(GUIDES.iterdir()):
        _measure(path.name, path.read_bytes(), str(path), runs=11)
    _measure("text guide, 30 KiB", _large_text(30_000), "large.txt", runs=3)
    _measure("text near 2 MiB (too many steps)", _large_text(2_000_000), "huge.txt", runs=1)
    _measure("web page, 60 KiB", _large_page(60_000), "large.html", runs=3)
    _measure("web page near 2 MiB (too many)", _large_page(2_000_000), "huge.html", runs=1)


if __name__ == "__main__":
    main()
