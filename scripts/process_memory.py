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
    """The peak resident memory of a process tree: each sample keeps every process's own peak
    (VmHWM); `mb` is their sum, an upper bound of the tree's peak (exact when they peak at
    once, as a recognizer and its decoder do once loaded). Sample at least once while every
    process still lives."""

    def __init__(self, pid: int | str = "self") -> None:
        self.pid = pid
        self._peaks: dict[int | str, int] = {}

    def sample(self) -> None:
        """Read the peaks of the process and its living descendants."""
        for pid in (self.pid, *descendants(self.pid)):
            self._peaks[pid] = max(self._peaks.get(pid, 0), status_kb(pid, "VmHWM"))

    @property
    def mb(self) -> float:
        """Sum of the processes' peaks, MB."""
        return sum(self._peaks.values()) / 1024


def tree_rss_mb(pid: int | str = "self") -> float:
    """Resident memory now of the process and its descendants, MB."""
    return sum(status_kb(p, "VmRSS") for p in (pid, *descendants(pid))) / 1024
