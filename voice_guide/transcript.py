"""The session transcript: one JSON object per line, each with `t` (session seconds) and
`event`, plus an optional readable echo for people watching a terminal."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import sys
from pathlib import Path
from typing import Any, TextIO

from voice_guide.effects import Ended, PressureChanged, Report, Unused
from voice_guide.files import append_regular
from voice_guide.safe_text import printable

_READABLE = {
    "step": lambda d: f"-- step {d['index'] + 1}: {d['title']}",
    "say": lambda d: f"guide: {d['text']}",
    "person": lambda d: f"person: {d['phrase']!r}",
    "heard": lambda d: f"heard {d['command']} ({d['phrase']!r})",
    "ignored": lambda d: f"ignored {d['phrase']!r}: {d['reason']}",
    "pressure": lambda d: f"pressure {d['level']}" + (f" on {d['area']}" if d.get("area") else ""),
    "pause": lambda d: f"paused ({d['reason']})",
    "resume": lambda d: "resumed",
    "restore": lambda d: "restored from checkpoint",
    "end": lambda d: f"end: {d.get('summary', d)}",
    "fault": lambda d: f"fault: {d['message']}",
    "skipped": lambda d: f"left out: {', '.join(d['ids'])}",
    "stand_in": lambda d: f"{d['command']} for nobody ({d['reason']})",
}


class Transcript:
    """Writes events to a JSONL file (flushed per line) and/or a readable stream."""

    def __init__(
        self, path: Path | None = None, echo: TextIO | None = None, append: bool = False
    ) -> None:
        """`append` continues an existing file (a resumed session); otherwise it starts anew."""
        # Line by line (each survives a killed process), never through a link or into a FIFO.
        self._file = append_regular(path, truncate=not append) if path else None
        self._path = path
        self._echo = echo
        self.events: list[dict[str, Any]] = []

    def write(self, t: float, event: str, **data: Any) -> None:
        """Record one event at session time `t`."""
        record = {"t": round(t, 3), "event": event, **data}
        self.events.append(record)
        if self._file:
            try:
                self._file.write(json.dumps(record, ensure_ascii=False) + "\n")
                self._file.flush()
            except OSError as error:  # a full disk must not end the session
                self._give_up(error)
        if self._echo and event in _READABLE:
            minutes, seconds = divmod(t, 60)
            line = printable(_READABLE[event](data))
            print(f"[{int(minutes):02d}:{seconds:04.1f}] {line}", file=self._echo, flush=True)

    def report(self, t: float, report: Report) -> None:
        """Record one of the state machine's reports under its documented event name."""
        if isinstance(report, Unused):
            return  # a command with no meaning here: its `heard` line already says it all
        self.write(t, report.event, **report_fields(report))

    def _give_up(self, error: OSError) -> None:
        print(
            f"voice-guide: the transcript {self._path} cannot be written ({error.strerror}); "
            "the session goes on without it.",
            file=sys.stderr,
            flush=True,
        )
        with contextlib.suppress(OSError):
            self._file.close()  # type: ignore[union-attr]
        self._file = None

    def close(self) -> None:
        """Close the file."""
        if self._file:
            try:
                self._file.close()
            except OSError as error:  # the last lines did not fit on the disk
                self._give_up(error)
            self._file = None


def report_fields(report: Report) -> dict[str, Any]:
    """The transcript fields of a report (`pressure` keeps `level`, `area`, `reason`)."""
    if isinstance(report, PressureChanged):
        fields: dict[str, Any] = {
            "level": report.level,
            "area": report.areas[0] if report.areas else None,
            "reason": report.reason,
        }
        if len(report.areas) > 1:
            fields["areas"] = list(report.areas)
        return fields
    if isinstance(report, Ended):
        return {"summary": report.summary.to_dict()}
    return dataclasses.asdict(report)
