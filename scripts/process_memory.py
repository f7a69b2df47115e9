"""Resident memory of a process together with its descendants, from /proc.

The PocketSphinx decoder runs in a child process of its own (speech_in/sphinx_process.py),
so a listener's memory is that of two processes: measuring the parent alone undercounts it.
"""

from __future__ import annotations

from pathlib import Path


def descendants(pid: int | str) -> list[int]:
    """Every living descendant of `pid` (children, their children, ...)."""
    found: list[int] = []
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return found
    for task in tasks:
        try:
            children = [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
        for child in children:
            found += [child, *descendants(child)]
    return found


def status_kb(pid: int | str, field: str) -> int:
    """A /proc/PID/status figure in kB (VmRSS: resident now, VmHWM: peak); 0 once gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class TreePeak:
    """The peak resident memory of a process tree: each sample adds up the own peak (VmHWM)
    of every process alive at that moment, and `mb` is the largest such sum. An upper bound
    of the tree's peak (exact when its processes peak at once, as a recognizer and its decoder
    do once loaded); a short-lived helper that has exited before the decoder starts is not
    added to it. Sample at least once while the long-lived processes still live."""

    def __init__(self, pid: int | str = "self") -> None:
        self.pid = pid
        self._peak_kb = 0

    def sample(self) -> None:
        """Read the peaks of the process and its living descendants."""
        alive = sum(status_kb(pid, "VmHWM") for pid in (self.pid, *descendants(self.pid)))
        self._peak_kb = max(self._peak_kb, alive)

    @property
    def mb(self) -> float:
        """The largest sum seen, MB."""
        return self._peak_kb / 1024


def tree_rss_mb(pid: int | str = "self") -> float:
    """Resident memory now of the process and its descendants, MB."""
    return sum(status_kb(p, "VmRSS") for p in (pid, *descendants(pid))) / 1024
