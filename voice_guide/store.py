"""SQLite persistence: the latest checkpoint of each session (for `run --resume`), the
history of past sessions, and recipient profiles, in one file in the user data directory.

One connection per Store in autocommit mode, with explicit transactions where a write
reads first. The journal is a WAL with synchronous=NORMAL: a committed checkpoint survives
a killed process (it is in the WAL before the commit returns) without an fsync per event,
and readers (`voice-guide history`) never block the running session.

Only the latest state of a session is kept (one row, updated in place), so the file does
not grow with the length of a session; the event-by-event record is the JSONL transcript.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import sqlite3
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from voice_guide import paths
from voice_guide.errors import VoiceGuideError
from voice_guide.files import exclusive_lock, open_regular

__all__ = [
    "ENDINGS",
    "SCHEMA_VERSION",
    "DatabaseLocked",
    "Profile",
    "ResumePoint",
    "SessionBusy",
    "SessionRecord",
    "Store",
    "StoreError",
    "VoiceTake",
    "normalize_name",
]

ENDINGS: Final = ("completed", "ended early", "interrupted")
"""How a session can end (`finish(summary["ended"])`); only "interrupted" can be resumed."""

_SQLITE_HEADER: Final = b"SQLite format 3\x00"

# Migration N (1-based) brings the schema from version N-1 to N. Append, never edit.
_MIGRATIONS: Final[tuple[tuple[str, ...], ...]] = (
    (
        """CREATE TABLE sessions (
            id INTEGER PRIMARY KEY,
            routine TEXT NOT NULL,
            routine_title TEXT NOT NULL,
            recipient TEXT,                       -- as typed (trimmed); NULL: nobody named
            recipient_key TEXT,                   -- casefolded, for matching
            started_at REAL NOT NULL,             -- unix time
            updated_at REAL NOT NULL,             -- unix time of the last write
            session_time REAL NOT NULL DEFAULT 0, -- session seconds at the last checkpoint
            state TEXT,                           -- JSON of the latest checkpoint
            ended TEXT,                           -- NULL while running (or killed), else ENDINGS
            duration REAL,                        -- the rest: from the summary given to finish()
            steps_done INTEGER,
            steps_total INTEGER,
            pressure TEXT                         -- JSON {area: level}
        )""",
        "CREATE INDEX sessions_by_start ON sessions (started_at)",
        """CREATE TABLE profiles (
            key TEXT PRIMARY KEY,                 -- casefolded name
            name TEXT NOT NULL,                   -- as typed (trimmed)
            avoid TEXT NOT NULL,                  -- JSON [area, ...]
            pressure TEXT NOT NULL,               -- JSON {area: level}
            updated REAL NOT NULL
        )""",
    ),
    (
        """CREATE TABLE voice_takes (
            key TEXT NOT NULL,                    -- casefolded recipient name (profiles.key)
            command TEXT NOT NULL,                -- Command value
            vector BLOB NOT NULL,                 -- embedding, float32 little-endian
            audio BLOB,                           -- 16 kHz float32 LE; only if the person agreed
            created REAL NOT NULL                 -- unix time of the enrollment
        )""",
        "CREATE INDEX voice_takes_by_key ON voice_takes (key)",
    ),
)
SCHEMA_VERSION: Final = len(_MIGRATIONS)


class StoreError(VoiceGuideError):
    """The session database cannot be used; the message says why and what to do."""


class DatabaseLocked(StoreError):
    """Another process holds the write lock longer than the busy timeout."""

    def __init__(self, path: Path) -> None:
        super().__init__(
            f"The session database {path} is locked by another program (is another "
            "voice-guide session running?); close it and try again."
        )


class SessionBusy(StoreError):
    """Another voice-guide process is running this session (it holds its writer's lock)."""

    def __init__(self, session_id: int, holder: str) -> None:
        super().__init__(
            f"Session {session_id} is already running in another voice-guide{holder}; "
            "end that one first (only one can write a session, or its changes would be lost)."
        )


@dataclass(frozen=True)
class ResumePoint:
    """Where an interrupted session stopped: enough for `run --resume` to continue it."""

    session_id: int
    routine: str
    routine_title: str
    recipient: str | None
    state: dict[str, Any] | None
    """The dict last given to `checkpoint` (the state machine's `to_dict()`); None when the
    saved text is not a JSON object (the row was damaged): the session cannot continue."""
    session_time: float
    """Session seconds at that checkpoint."""
    updated: float = 0.0
    """Unix time of that checkpoint."""


@dataclass(frozen=True)
class SessionRecord:
    """One past (or still unfinished) session, as `voice-guide history` shows it."""

    session_id: int
    routine: str
    routine_title: str
    recipient: str | None
    started: float
    """Unix time."""
    duration: float
    """Seconds of session time; for a session that never finished, up to its last checkpoint."""
    steps_done: int | None
    """None when the session never finished (killed before it could say)."""
    steps_total: int | None
    pressure_by_area: dict[str, int]
    status: str
    """One of ENDINGS; a session that never finished counts as "interrupted"."""
    problems: tuple[str, ...] = ()
    """Values of the row that could not be read (shown without them), e.g. damaged JSON."""


@dataclass(frozen=True)
class Profile:
    """What a recipient prefers: areas to leave out and a pressure level per area."""

    name: str
    avoid: frozenset[str] = frozenset()
    pressure: dict[str, int] = field(default_factory=dict)
    updated: float | None = None
    """Unix time of the last save; None for a profile that was never saved."""


@dataclass(frozen=True)
class VoiceTake:
    """One stored take of a recipient's voice (speech_in/enrollment.py gives it meaning)."""

    command: str
    vector: bytes
    audio: bytes | None
    created: float


def normalize_name(name: str) -> str:
    """A recipient name or area trimmed, inner whitespace collapsed; ValueError if empty."""
    cleaned = " ".join(name.split())
    if not cleaned:
        raise ValueError("A recipient name or area cannot be empty.")
    return cleaned


def _key(name: str) -> str:
    # Names are matched case-insensitively: "anna", " Anna " and "ANNA" are one person.
    return normalize_name(name).casefold()


def _schema_version(conn: sqlite3.Connection) -> int:
    if not conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
    ).fetchone():
        return 0
    row = conn.execute("SELECT version FROM schema_version").fetchone()
    return int(row[0]) if row else 0


# SQLite's primary result codes (the low byte of sqlite_errorcode) and, for Python 3.10,
# which has no sqlite_errorcode, the start of each one's message.
_READONLY, _IOERR, _CORRUPT, _FULL, _CANTOPEN, _NOTADB = 8, 10, 11, 13, 14, 26
_BUSY_CODES = (5, 6)  # SQLITE_BUSY, SQLITE_LOCKED
_MESSAGES = {
    _READONLY: "attempt to write a readonly database",
    _CORRUPT: "database disk image is malformed",
    _FULL: "database or disk is full",
    _NOTADB: "file is not a database",
}


def _code(error: sqlite3.Error) -> int | None:
    """The primary SQLite result code of `error`, when it can be told."""
    code = getattr(error, "sqlite_errorcode", None)
    if code is not None:
        return int(code) & 0xFF
    text = str(error).lower()
    if "locked" in text or "busy" in text:
        return _BUSY_CODES[0]
    return next((code for code, start in _MESSAGES.items() if text.startswith(start)), None)


def _is_damage(error: sqlite3.Error) -> bool:
    """Only these mean the file itself is broken; a full disk, a read-only folder, an
    unreadable -shm or -wal file are not, and never move a database aside."""
    return _code(error) in (_CORRUPT, _NOTADB)


def _nearly_full(folder: Path) -> bool:
    # A full disk often reaches SQLite as an I/O error on its -shm index, not as SQLITE_FULL.
    try:
        return shutil.disk_usage(folder).free < 64 * 1024
    except OSError:
        return False


def _failure(path: Path, error: sqlite3.Error) -> StoreError:
    """The one-sentence StoreError for an SQLite error on the database at `path`."""
    code = _code(error)
    if code in _BUSY_CODES:
        return DatabaseLocked(path)
    kept = "the file was left as it is"
    if code == _FULL or (code in (_IOERR, _CANTOPEN) and _nearly_full(path.parent)):
        return StoreError(
            f"The session database {path} cannot be written: the disk is full; free some "
            f"space and try again ({kept})."
        )
    if code == _READONLY:
        return StoreError(
            f"The session database {path} cannot be written: its file or folder is read-only; "
            f"make it writable or set VOICE_GUIDE_HOME to a writable folder ({kept})."
        )
    if code in (_CORRUPT, _NOTADB):
        return StoreError(
            f"The session database {path} is damaged ({error}); start voice-guide again and "
            "it will move the file aside and start a fresh one."
        )
    return StoreError(
        f"The session database {path} cannot be used ({error}); check the free space and the "
        f"permissions of {path.parent} and of the -wal and -shm files there ({kept})."
    )


class Store:
    """The session database. Safe to share between threads (one lock around the connection)."""

    def __init__(self, path: Path | None = None, *, timeout: float = 5.0) -> None:
        """Open (or create) the database at `path` (default: paths.database_path()).

        `timeout` is how long (s) a write waits for another process's lock before
        DatabaseLocked. A damaged file is moved aside and a fresh one started; `notice`
        then holds the one-sentence message for the caller to show (stderr), else None.
        """
        self.path = Path(path) if path is not None else paths.database_path()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise StoreError(
                f"Cannot create the folder {self.path.parent} for the session database "
                f"({error.strerror}); set VOICE_GUIDE_HOME to a writable folder."
            ) from None
        self._lock = threading.Lock()
        self._conn, self.notice = _open(self.path, timeout)
        try:
            self._migrate()
        except BaseException:
            self._conn.close()
            raise

    # -- lifecycle ---------------------------------------------------------------------

    def close(self) -> None:
        """Close the connection (the WAL is folded into the main file). Idempotent."""
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _guard(self) -> Iterator[sqlite3.Connection]:
        """The connection, under the lock, with SQLite errors turned into StoreErrors."""
        with self._lock:
            try:
                yield self._conn
            except sqlite3.Error as error:
                raise _failure(self.path, error) from None

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic write. BEGIN IMMEDIATE takes the write lock up front, so a concurrent
        writer makes us wait (busy timeout) before we read, never fail half-way."""
        with self._guard() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def _migrate(self) -> None:
        with self._guard() as conn:
            if _schema_version(conn) == SCHEMA_VERSION:
                return  # the common case needs no write lock
        with self._transaction() as conn:
            conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            version = _schema_version(conn)  # again: another process may have migrated
            if version > SCHEMA_VERSION:
                raise StoreError(
                    f"The session database {self.path} was written by a newer voice-guide "
                    f"(schema {version}, this one knows {SCHEMA_VERSION}); upgrade voice-guide."
                )
            for statements in _MIGRATIONS[version:]:
                for statement in statements:
                    conn.execute(statement)
            conn.execute("DELETE FROM schema_version")
            conn.execute("INSERT INTO schema_version VALUES (?)", (SCHEMA_VERSION,))

    # -- sessions ----------------------------------------------------------------------

    @contextmanager
    def claim(self, session_id: int) -> Iterator[None]:
        """Be the one process that writes session `session_id` while the block runs, or raise
        SessionBusy at once. The kernel drops the lock when the process ends however it
        ends, so a killed session never stays claimed."""
        path = self.path.parent / "locks" / f"session-{session_id}.lock"
        lock = contextlib.ExitStack()
        try:
            path.parent.mkdir(exist_ok=True)
            fd = lock.enter_context(exclusive_lock(path))
        except BlockingIOError:
            pid = path.read_text(encoding="ascii", errors="replace").strip()
            holder = f" (process {pid})" if pid.isdigit() else ""
            raise SessionBusy(session_id, holder) from None
        except OSError as error:
            raise StoreError(
                f"Cannot lock session {session_id} in {path.parent} ({error.strerror}); check "
                "the permissions and free space there."
            ) from None
        with lock:
            # Our pid in the lock file, for the message a second process shows.
            os.ftruncate(fd, 0)
            os.pwrite(fd, str(os.getpid()).encode(), 0)
            yield

    def start_session(
        self, routine: str, routine_title: str, recipient: str | None, started_at: float
    ) -> int:
        """Record a new session (not yet checkpointed); returns its id."""
        name = normalize_name(recipient) if recipient and recipient.strip() else None
        with self._guard() as conn:
            cursor = conn.execute(
                "INSERT INTO sessions (routine, routine_title, recipient, recipient_key,"
                " started_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
                (routine, routine_title, name, name and name.casefold(), started_at, time.time()),
            )
        return int(cursor.lastrowid or 0)

    def checkpoint(self, session_id: int, state: Mapping[str, Any], session_time: float) -> None:
        """Replace the session's saved state with `state` (one atomic UPDATE).

        Called at every event, so it is one statement and no fsync. Checkpointing an
        "interrupted" session (a resumed one) marks it running again.
        """
        data = json.dumps(state, separators=(",", ":"))
        with self._guard() as conn:
            cursor = conn.execute(
                "UPDATE sessions SET state = ?, session_time = ?, updated_at = ?, ended = NULL"
                " WHERE id = ? AND (ended IS NULL OR ended = 'interrupted')",
                (data, session_time, time.time(), session_id),
            )
        if cursor.rowcount != 1:
            raise StoreError(f"Session {session_id} does not exist or has already ended.")

    def finish(self, session_id: int, summary: Mapping[str, Any]) -> None:
        """Record how the session ended.

        `summary`: duration (s), steps_done, steps_total, pressure_by_area {area: level},
        ended (one of ENDINGS). An "interrupted" session stays resumable.
        """
        ended = summary["ended"]
        if ended not in ENDINGS:
            raise ValueError(f"ended must be one of {', '.join(ENDINGS)}, not {ended!r}")
        pressure = json.dumps(dict(summary.get("pressure_by_area") or {}))
        with self._guard() as conn:
            cursor = conn.execute(
                "UPDATE sessions SET ended = ?, duration = ?, steps_done = ?, steps_total = ?,"
                " pressure = ?, updated_at = ? WHERE id = ?",
                (
                    ended,
                    float(summary["duration"]),
                    int(summary["steps_done"]),
                    int(summary["steps_total"]),
                    pressure,
                    time.time(),
                    session_id,
                ),
            )
        if cursor.rowcount != 1:
            raise StoreError(f"Session {session_id} does not exist.")

    def unfinished(
        self, routine: str | None = None, recipient: str | None = None
    ) -> ResumePoint | None:
        """The session `run ROUTINE --resume` should continue, or None.

        That is the most recently started checkpointed session (of this routine and
        recipient, when given) if it did not complete or end early: a session started and
        completed after an interrupted one supersedes it.
        """
        rows = self._checkpointed(routine, recipient, limit=1)
        return _resume_point(rows[0]) if rows and rows[0][-1] in _RESUMABLE else None

    def resumable(self, recipient: str | None = None) -> list[ResumePoint]:
        """Every session `run --resume` could continue, newest first: per routine, the latest
        checkpointed session if it did not complete or end early."""
        points, seen = [], set()
        for row in self._checkpointed(None, recipient, limit=-1):
            if row[1] not in seen and row[-1] in _RESUMABLE:
                points.append(_resume_point(row))
            seen.add(row[1])
        return points

    def _checkpointed(
        self, routine: str | None, recipient: str | None, limit: int
    ) -> list[tuple[Any, ...]]:
        where, params = ["state IS NOT NULL"], []
        if routine is not None:
            where.append("routine = ?")
            params.append(routine)
        if recipient is not None:
            where.append("recipient_key = ?")
            params.append(_key(recipient))
        with self._guard() as conn:
            return conn.execute(
                "SELECT id, routine, routine_title, recipient, state, session_time, updated_at,"
                f" ended FROM sessions WHERE {' AND '.join(where)}"
                " ORDER BY started_at DESC, id DESC LIMIT ?",
                [*params, limit],
            ).fetchall()

    def history(self, recipient: str | None = None, limit: int = 50) -> list[SessionRecord]:
        """Past sessions, newest first (optionally only those with `recipient`)."""
        where, params = "", []
        if recipient is not None:
            where, params = "WHERE recipient_key = ?", [_key(recipient)]
        with self._guard() as conn:
            rows = conn.execute(
                "SELECT id, routine, routine_title, recipient, started_at, session_time, ended,"
                f" duration, steps_done, steps_total, pressure, state FROM sessions {where}"
                " ORDER BY started_at DESC, id DESC LIMIT ?",
                [*params, limit],
            ).fetchall()
        return [_record(row) for row in rows]

    # -- recipient profiles ------------------------------------------------------------

    def profile(self, name: str) -> Profile:
        """The recipient's profile; an empty one (updated=None) for an unknown name."""
        with self._guard() as conn:
            return self._read_profile(conn, name)

    def save_profile(self, profile: Profile) -> Profile:
        """Store `profile` (replacing any with the same name, any case); returns it as saved."""
        with self._transaction() as conn:
            return self._write_profile(conn, profile)

    def remember_pressure(self, name: str, area: str, level: int) -> Profile:
        """Set the recipient's preferred pressure for one area (creating the profile)."""
        with self._transaction() as conn:
            current = self._read_profile(conn, name)
            pressure = {**current.pressure, normalize_name(area): int(level)}
            return self._write_profile(conn, Profile(current.name, current.avoid, pressure))

    def save_voice(self, name: str, takes: Sequence[VoiceTake]) -> None:
        """Replace the recipient's voice takes with `takes` (empty: forget the voice)."""
        key = _key(name)
        with self._transaction() as conn:
            conn.execute("DELETE FROM voice_takes WHERE key = ?", (key,))
            conn.executemany(
                "INSERT INTO voice_takes (key, command, vector, audio, created)"
                " VALUES (?, ?, ?, ?, ?)",
                [(key, t.command, t.vector, t.audio, t.created) for t in takes],
            )

    def voice(self, name: str) -> list[VoiceTake]:
        """The recipient's voice takes, in the order saved (empty: never enrolled)."""
        with self._guard() as conn:
            rows = conn.execute(
                "SELECT command, vector, audio, created FROM voice_takes WHERE key = ?"
                " ORDER BY rowid",
                (_key(name),),
            ).fetchall()
        return [VoiceTake(*row) for row in rows]

    @staticmethod
    def _read_profile(conn: sqlite3.Connection, name: str) -> Profile:
        row = conn.execute(
            "SELECT name, avoid, pressure, updated FROM profiles WHERE key = ?", (_key(name),)
        ).fetchone()
        if row is None:
            return Profile(normalize_name(name))
        return _profile(row, name)

    @staticmethod
    def _write_profile(conn: sqlite3.Connection, profile: Profile) -> Profile:
        saved = Profile(
            normalize_name(profile.name),
            frozenset(normalize_name(area) for area in profile.avoid),
            {normalize_name(area): int(level) for area, level in profile.pressure.items()},
            time.time(),
        )
        conn.execute(
            "INSERT INTO profiles (key, name, avoid, pressure, updated) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (key) DO UPDATE SET name = excluded.name, avoid = excluded.avoid,"
            " pressure = excluded.pressure, updated = excluded.updated",
            (
                saved.name.casefold(),
                saved.name,
                json.dumps(sorted(saved.avoid)),
                json.dumps(saved.pressure),
                saved.updated,
            ),
        )
        return saved


# -- reading rows that may have been damaged ---------------------------------------------

_RESUMABLE: Final = (None, "interrupted")
"""`ended` values of a session that can be continued (None: killed before it could say)."""


def _json_object(text: object) -> dict[str, Any] | None:
    """`text` parsed as a JSON object, or None if it is not one (a damaged row)."""
    try:
        value = json.loads(text) if isinstance(text, (str, bytes)) else None
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _number(value: object) -> float | None:
    """A finite number stored in a row, or None for text, NULL, NaN or infinity."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def _resume_point(row: tuple[Any, ...]) -> ResumePoint:
    sid, routine, title, who, state, session_time, updated, _ended = row
    return ResumePoint(
        sid,
        str(routine),
        str(title),
        who if isinstance(who, str) else None,
        _json_object(state),
        max(0.0, _number(session_time) or 0.0),
        _number(updated) or 0.0,
    )


def _record(row: tuple[Any, ...]) -> SessionRecord:
    """A history line from a row; values that cannot be read are left out and named."""
    sid, routine, title, who, started, session_time, ended, *rest = row
    duration, steps_done, steps_total, pressure, state = rest
    problems = []
    if ended not in ENDINGS:
        if ended is not None:
            problems.append(f"unknown ending {ended!r}")
        # Running, or killed before finish(): only the checkpoint is known.
        saved = _json_object(state) or {}
        done = saved.get("done")
        duration, pressure, steps_total = session_time, None, None
        steps_done = len(set(map(str, done))) if isinstance(done, list) else None
        ended = "interrupted"
    levels = _json_object(pressure) if pressure is not None else {}
    if levels is None or not all(_number(v) is not None for v in levels.values()):
        problems.append("the pressure per area is unreadable")
        levels = {}
    seconds = _number(duration)
    if seconds is None or seconds < 0:
        problems.append("the duration is unreadable")
    if _number(started) is None:
        problems.append("the start time is unreadable")
    counts = [_number(steps_done), _number(steps_total)]
    if any(value is None for value in counts) and ended != "interrupted":
        problems.append("the number of steps is unreadable")
    return SessionRecord(
        session_id=sid,
        routine=str(routine),
        routine_title=str(title),
        recipient=who if isinstance(who, str) else None,
        started=_number(started) or 0.0,
        duration=max(0.0, seconds or 0.0),
        steps_done=None if counts[0] is None else int(counts[0]),
        steps_total=None if counts[1] is None else int(counts[1]),
        pressure_by_area={str(area): int(level) for area, level in levels.items()},
        status=ended,
        problems=tuple(problems),
    )


def _profile(row: tuple[Any, ...], name: str) -> Profile:
    """A profile row; values that cannot be read (a damaged row) count as not set."""
    who, avoid, pressure, updated = row
    try:
        areas = json.loads(avoid) if isinstance(avoid, str) else None
    except ValueError:
        areas = None
    levels = _json_object(pressure) or {}
    return Profile(
        who if isinstance(who, str) and who.strip() else normalize_name(name),
        frozenset(a for a in areas if isinstance(a, str))
        if isinstance(areas, list)
        else frozenset(),
        {str(k): int(v) for k, v in levels.items() if _number(v) is not None},
        _number(updated) or 0.0,  # the row exists: never "not saved yet"
    )


# -- opening, with damaged files moved aside ------------------------------------------


def _open(path: Path, timeout: float) -> tuple[sqlite3.Connection, str | None]:
    """Connect to `path`, first moving a damaged file aside. Returns (connection, notice)."""
    notice = None
    problem = _damage(path, timeout)
    if problem is not None:
        aside = _move_aside(path)
        notice = (
            f"The session database {path} was damaged ({problem}), so it was moved to "
            f"{aside} and a fresh one was started."
        )
    conn = _connect(path, timeout)
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        # Keep the WAL from staying large after a long session's checkpoints are folded in.
        conn.execute("PRAGMA journal_size_limit = 1048576")
    except sqlite3.Error as error:
        conn.close()
        raise _failure(path, error) from None
    return conn, notice


def _connect(path: Path, timeout: float, *, read_only: bool = False) -> sqlite3.Connection:
    # isolation_level=None: autocommit; transactions are explicit (Store._transaction).
    target = path.absolute().as_uri() + ("?mode=ro" if read_only else "")
    try:
        return sqlite3.connect(
            target, timeout=timeout, isolation_level=None, check_same_thread=False, uri=True
        )
    except sqlite3.Error as error:
        raise _failure(path, error) from None


def _damage(path: Path, timeout: float) -> str | None:
    """Why the file at `path` is not a usable SQLite database; None if it is, or is new."""
    try:
        with open_regular(path) as file:  # a FIFO here would hang the open
            head = file.read(len(_SQLITE_HEADER))
    except FileNotFoundError:
        return None
    except OSError as error:  # not a regular file, no permission, ...: not ours to move
        raise StoreError(
            f"The session database {path} cannot be read ({error.strerror}); move it away or "
            "set VOICE_GUIDE_HOME to another folder (it was left as it is)."
        ) from None
    if not head:
        return None  # an empty file is a new database to SQLite
    if head != _SQLITE_HEADER:
        return "it is not an SQLite file"
    # Read-only, so that closing this connection cannot fold in or delete the -wal file
    # that has to move aside with a damaged database.
    conn = _connect(path, timeout, read_only=True)
    try:
        rows = conn.execute("PRAGMA quick_check").fetchall()
    except sqlite3.Error as error:
        if not _is_damage(error):  # busy, full, read-only: never move a healthy file aside
            raise _failure(path, error) from None
        return str(error)
    finally:
        conn.close()
    return None if rows == [("ok",)] else "; ".join(str(row[0]) for row in rows[:3])


def _move_aside(path: Path) -> Path:
    """Rename the damaged file (and its -wal, which holds its latest writes) to
    `<name>.corrupt-<timestamp>`. Only the -shm index and an empty -wal are deleted."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    aside = path.with_name(f"{path.name}.corrupt-{stamp}")
    counter = 1
    while aside.exists():
        aside = path.with_name(f"{path.name}.corrupt-{stamp}-{counter}")
        counter += 1
    wal, shm = (path.with_name(path.name + suffix) for suffix in ("-wal", "-shm"))
    try:
        path.rename(aside)
        if wal.exists() and wal.stat().st_size:
            wal.rename(aside.with_name(aside.name + "-wal"))
        wal.unlink(missing_ok=True)
        shm.unlink(missing_ok=True)
    except OSError as error:
        raise StoreError(
            f"The session database {path} is damaged and cannot be moved aside "
            f"({error.strerror}); move it away by hand and start again."
        ) from None
    return aside
