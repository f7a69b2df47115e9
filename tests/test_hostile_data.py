"""Hostile data: files, databases, archives and servers, on real parts.

A real tmpfs fills up (mounted per test: CI runs as root), real FIFOs, device nodes and
symbolic links stand where files should be, real processes get real signals, and a real HTTP
server on 127.0.0.1 stalls or never ends. Each case asserts the exact outcome: the one-line
message and exit code, the user's file untouched, no traceback, bounded time.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import json
import os
import pty
import pwd
import random
import shutil
import signal
import sqlite3
import stat
import subprocess
import sys
import tempfile
import threading
import time
import wave
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from voice_guide.cli import cli
from voice_guide.files import (
    NotARegularFile,
    SymlinkRefused,
    append_regular,
    atomic_write,
    open_regular,
)
from voice_guide.speech_in.model_install import (
    DownloadLimits,
    IntegrityError,
    ModelSource,
    download,
    installing,
)
from voice_guide.speech_in.models import find_model
from voice_guide.store import Store

ROOT = os.geteuid() == 0
needs_root = pytest.mark.skipif(
    not ROOT, reason="mounting a tmpfs and making device nodes needs root (CI runs as root)"
)

TINY_ROUTINE = """\
title: Tiny
steps:
  - id: only
    say: Rest your hands.
    duration: 3s
"""


@pytest.fixture(autouse=True)
def _user_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOICE_GUIDE_HOME", str(tmp_path / "home"))


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY_ROUTINE, encoding="utf-8")
    return path


@contextlib.contextmanager
def tmpfs(size: str) -> Iterator[Path]:
    """A real tmpfs of `size` (mount's notation) mounted on a fresh folder."""
    if not ROOT:
        pytest.skip("mounting a tmpfs needs root (CI runs as root)")
    folder = Path(tempfile.mkdtemp(prefix="vg-tmpfs-"))
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:  # root in a container without CAP_SYS_ADMIN
        folder.rmdir()
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=True)
        folder.rmdir()


@pytest.fixture
def full_disk() -> Iterator[Path]:
    """A real 256 KiB tmpfs; fill() leaves it with no free byte."""
    with tmpfs("256k") as folder:
        yield folder


def fill(folder: Path) -> None:
    """Write zeros into `folder` until the filesystem refuses another byte."""
    fd = os.open(folder / "filler", os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for size in (65536, 4096, 1):
            with contextlib.suppress(OSError):
                while os.write(fd, b"\0" * size):
                    pass
    finally:
        os.close(fd)


@pytest.fixture
def device(tmp_path: Path) -> Path:
    """A real character device node (a copy of /dev/null's numbers) inside tmp_path."""
    if not ROOT:
        pytest.skip("making a device node needs root (CI runs as root)")
    path = tmp_path / "device.wav"
    os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    return path


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "pipe.wav"
    os.mkfifo(path)
    return path


@pytest.fixture
def planted_link(tmp_path: Path) -> tuple[Path, Path]:
    """(a symbolic link, the precious file it points at)."""
    precious = tmp_path / "precious.txt"
    precious.write_text("keep me\n", encoding="utf-8")
    link = tmp_path / "link.wav"
    link.symlink_to(precious)
    return link, precious


def refused_through(result: Result, precious: Path) -> None:
    """The command refused to write through a planted link; what it points at is intact."""
    assert one_line(result).endswith("it is a symbolic link; give the real path instead.")
    assert precious.read_text(encoding="utf-8") == "keep me\n"


def leftovers(folder: Path) -> list[str]:
    """Temporary files an atomic write left behind (there must be none)."""
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def last_line(result: Result) -> str:
    """The last line a failing command printed on stderr (after its status lines)."""
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    return result.stderr.splitlines()[-1]


def one_line(result: Result, progress: str | None = None) -> str:
    """The single line a failing command printed on stderr (no traceback anywhere), besides
    an optional `progress` label line."""
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert not isinstance(result.exception, Exception) or isinstance(
        result.exception, SystemExit
    ), result.exception
    lines = [line for line in result.stderr.splitlines() if line.strip() and line != progress]
    assert len(lines) == 1, lines
    return lines[0]


# -- files.py: the primitives -----------------------------------------------------------


def test_atomic_write_creates_the_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    with atomic_write(target, "w") as file:
        file.write("hello\n")
        assert not target.exists()  # nothing at the target until the end
    assert target.read_text(encoding="utf-8") == "hello\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~_umask()
    assert leftovers(tmp_path) == []


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@pytest.mark.parametrize("failure", [RuntimeError("boom"), KeyboardInterrupt(), SystemExit(1)])
def test_atomic_write_failure_keeps_the_old_content(tmp_path: Path, failure: BaseException) -> None:
    target = tmp_path / "out.txt"
    target.write_text("old\n", encoding="utf-8")
    with pytest.raises(type(failure)), atomic_write(target, "w") as file:
        file.write("half of the new")
        raise failure
    assert target.read_text(encoding="utf-8") == "old\n"
    assert leftovers(tmp_path) == []


def test_atomic_write_keeps_the_permissions_of_the_file_it_replaces(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    target.write_text("old\n", encoding="utf-8")
    target.chmod(0o640)
    with atomic_write(target, "w") as file:
        file.write("new\n")
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert target.read_text(encoding="utf-8") == "new\n"


def test_atomic_write_exclusive_never_replaces(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    target.write_text("old\n", encoding="utf-8")
    with pytest.raises(FileExistsError), atomic_write(target, "w", exclusive=True):
        pass
    assert target.read_text(encoding="utf-8") == "old\n"
    assert leftovers(tmp_path) == []


def test_atomic_write_refuses_a_fifo_without_blocking(fifo: Path) -> None:
    started = time.monotonic()
    with pytest.raises(NotARegularFile, match="named pipe"), atomic_write(fifo):
        pass
    assert time.monotonic() - started < 1
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    assert leftovers(fifo.parent) == []


def test_atomic_write_refuses_a_device_node_and_keeps_it(device: Path) -> None:
    with pytest.raises(NotARegularFile, match="character device"), atomic_write(device):
        pass
    assert stat.S_ISCHR(device.lstat().st_mode)


def test_atomic_write_refuses_a_folder(tmp_path: Path) -> None:
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "inside").write_text("x", encoding="utf-8")
    with pytest.raises(NotARegularFile, match="a folder"), atomic_write(folder):
        pass
    assert (folder / "inside").read_text(encoding="utf-8") == "x"


def test_atomic_write_refuses_a_symlink_and_leaves_both_ends(
    planted_link: tuple[Path, Path],
) -> None:
    link, precious = planted_link
    with pytest.raises(SymlinkRefused, match="symbolic link"), atomic_write(link):
        pass
    assert link.is_symlink()
    assert precious.read_text(encoding="utf-8") == "keep me\n"


def test_atomic_write_on_a_full_disk_keeps_the_old_file(full_disk: Path) -> None:
    target = full_disk / "out.bin"
    target.write_bytes(b"old")
    fill(full_disk)
    with pytest.raises(OSError) as raised, atomic_write(target) as file:
        for _ in range(100):
            file.write(b"x" * 65536)
    assert raised.value.errno == errno.ENOSPC
    assert target.read_bytes() == b"old"
    assert leftovers(full_disk) == []


def test_open_regular_refuses_a_fifo_at_once(fifo: Path) -> None:
    started = time.monotonic()
    with pytest.raises(NotARegularFile, match="named pipe"):
        open_regular(fifo)
    assert time.monotonic() - started < 1


def test_open_regular_refuses_a_device_and_a_folder(device: Path, tmp_path: Path) -> None:
    with pytest.raises(NotARegularFile, match="character device"):
        open_regular(device)
    with pytest.raises(IsADirectoryError):
        open_regular(tmp_path)


def test_open_regular_reads_through_a_symlink(planted_link: tuple[Path, Path]) -> None:
    link, _ = planted_link
    with open_regular(link, "r") as file:
        assert file.read() == "keep me\n"


def test_append_regular_refuses_links_fifos_and_devices(
    planted_link: tuple[Path, Path], fifo: Path, device: Path
) -> None:
    link, precious = planted_link
    with pytest.raises(SymlinkRefused):
        append_regular(link, truncate=True)
    assert precious.read_text(encoding="utf-8") == "keep me\n"
    started = time.monotonic()
    with pytest.raises(NotARegularFile):
        append_regular(fifo, truncate=True)
    with pytest.raises(NotARegularFile):
        append_regular(device, truncate=False)
    assert time.monotonic() - started < 1


def test_append_regular_appends_or_truncates(tmp_path: Path) -> None:
    target = tmp_path / "t.jsonl"
    target.write_text("one\n", encoding="utf-8")
    with append_regular(target, truncate=False) as file:
        file.write("two\n")
    assert target.read_text(encoding="utf-8") == "one\ntwo\n"
    with append_regular(target, truncate=True) as file:
        file.write("three\n")
    assert target.read_text(encoding="utf-8") == "three\n"


# -- render -o, demo --out, new, --transcript -------------------------------------------


def _render(tiny: Path, target: Path) -> Result:
    return CliRunner().invoke(cli, ["render", str(tiny), "-o", str(target)])


def test_render_refuses_a_device_node_and_keeps_it(tiny: Path, device: Path) -> None:
    line = one_line(_render(tiny, device))
    assert line == (
        f"voice-guide: Could not write {device}: it is a character device, not a regular file."
    )
    assert stat.S_ISCHR(device.lstat().st_mode)


def test_render_refuses_a_fifo(tiny: Path, fifo: Path) -> None:
    line = one_line(_render(tiny, fifo))
    assert "named pipe (FIFO), not a regular file" in line
    assert stat.S_ISFIFO(fifo.lstat().st_mode)


def test_render_refuses_a_symlink(tiny: Path, planted_link: tuple[Path, Path]) -> None:
    link, precious = planted_link
    refused_through(_render(tiny, link), precious)


@pytest.mark.audio
def test_render_on_a_full_disk_keeps_the_old_track(tiny: Path, full_disk: Path) -> None:
    target = full_disk / "session.wav"
    target.write_bytes(b"an old track")
    fill(full_disk)
    line = one_line(_render(tiny, target), progress="Rendering Tiny")
    assert line == f"voice-guide: Could not write {target}: No space left on device."
    assert target.read_bytes() == b"an old track"
    assert leftovers(full_disk) == []


@pytest.mark.audio
def test_render_replaces_an_existing_track_whole(tiny: Path, tmp_path: Path) -> None:
    target = tmp_path / "session.wav"
    target.write_bytes(b"an old track")
    result = _render(tiny, target)
    assert result.exit_code == 0, result.output
    assert target.read_bytes()[:4] == b"RIFF"
    assert leftovers(tmp_path) == []


def test_demo_refuses_out_and_transcript_that_are_not_files(
    tiny: Path, device: Path, planted_link: tuple[Path, Path]
) -> None:
    result = CliRunner().invoke(cli, ["demo", str(tiny), "--out", str(device)])
    assert one_line(result) == (
        f"voice-guide: cannot write {device}: it is a character device, not a regular file."
    )
    link, precious = planted_link
    refused_through(
        CliRunner().invoke(cli, ["demo", str(tiny), "--transcript", str(link)]), precious
    )


def test_new_refuses_a_planted_schema_link_and_writes_nothing(
    tmp_path: Path, planted_link: tuple[Path, Path]
) -> None:
    _, precious = planted_link
    folder = tmp_path / "routines"
    folder.mkdir()
    (folder / "routine.schema.json").symlink_to(precious)
    result = CliRunner().invoke(cli, ["new", "evening", "--dir", str(folder)])
    assert one_line(result) == (
        f"{folder / 'routine.schema.json'}: cannot write (it is a symbolic link; give the real "
        "path instead) — choose another --dir"
    )
    assert precious.read_text(encoding="utf-8") == "keep me\n"
    assert not (folder / "evening.yaml").exists()


def test_new_never_replaces_a_dangling_link(tmp_path: Path) -> None:
    folder = tmp_path / "routines"
    folder.mkdir()
    (folder / "evening.yaml").symlink_to(tmp_path / "elsewhere.yaml")
    result = CliRunner().invoke(cli, ["new", "evening", "--dir", str(folder)])
    assert one_line(result).endswith("already exists — choose another name or remove it")
    assert not (tmp_path / "elsewhere.yaml").exists()
    assert (folder / "evening.yaml").is_symlink()


def test_new_on_a_full_disk_leaves_no_half_routine(full_disk: Path) -> None:
    fill(full_disk)
    result = CliRunner().invoke(cli, ["new", "evening", "--dir", str(full_disk)])
    assert one_line(result) == (
        f"{full_disk / 'evening.yaml'}: cannot write (No space left on device) — choose "
        "another --dir"
    )
    assert not (full_disk / "evening.yaml").exists()
    assert leftovers(full_disk) == []


def _run_text(args: list[str], stdin: str = "end session\n") -> Result:
    return CliRunner().invoke(cli, ["run", "--keyboard", "--text", *args], input=stdin)


def test_run_refuses_a_transcript_that_is_a_fifo_or_a_link(
    tiny: Path, fifo: Path, planted_link: tuple[Path, Path]
) -> None:
    started = time.monotonic()
    line = one_line(_run_text([str(tiny), "--transcript", str(fifo)]))
    assert line == (
        f"voice-guide: cannot write the transcript {fifo}: it is a named pipe (FIFO), not a "
        "regular file."
    )
    assert time.monotonic() - started < 5
    link, precious = planted_link
    refused_through(_run_text([str(tiny), "--transcript", str(link)]), precious)


@pytest.mark.audio
def test_demo_out_is_a_complete_wav_replacing_the_old_one(tiny: Path, tmp_path: Path) -> None:
    out = tmp_path / "room.wav"
    out.write_bytes(b"an old recording")
    result = CliRunner().invoke(
        cli, ["demo", str(tiny), "--no-person", "--quiet", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    with wave.open(str(out)) as wav:
        seconds = wav.getnframes() / wav.getframerate()
    assert 3 < seconds < 30
    assert leftovers(tmp_path) == []


# -- the session database: only real damage moves it aside ------------------------------


def _healthy_database(path: Path) -> bytes:
    """A database with one finished session, closed (WAL folded in); returns its bytes."""
    with Store(path) as store:
        sid = store.start_session("tiny", "Tiny", "Anna", 1000.0)
        store.checkpoint(sid, {"index": 0}, 2.0)
        store.finish(sid, SUMMARY)
    return path.read_bytes()


SUMMARY = {
    "duration": 61.0,
    "steps_done": 1,
    "steps_total": 1,
    "pressure_by_area": {"shoulders": 2},
    "ended": "completed",
}


def _history(home: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["history", *args], env={"VOICE_GUIDE_HOME": str(home)})


def test_history_on_a_full_disk_leaves_the_database_alone(full_disk: Path) -> None:
    db = full_disk / "sessions.sqlite3"
    before = _healthy_database(db)
    fill(full_disk)
    line = one_line(_history(full_disk))
    assert line == (
        f"voice-guide: The session database {db} cannot be written: the disk is full; free some "
        "space and try again (the file was left as it is)."
    )
    assert db.read_bytes() == before
    assert not list(full_disk.glob("*.corrupt-*"))


def test_run_on_a_full_disk_is_one_sentence_and_moves_nothing(full_disk: Path, tiny: Path) -> None:
    db = full_disk / "sessions.sqlite3"
    before = _healthy_database(db)
    fill(full_disk)
    result = CliRunner().invoke(
        cli,
        ["run", str(tiny), "--keyboard", "--text"],
        input="end session\n",
        env={"VOICE_GUIDE_HOME": str(full_disk)},
    )
    assert one_line(result).startswith(
        f"voice-guide: The session database {db} cannot be written: the disk is full"
    )
    assert db.read_bytes() == before
    assert not list(full_disk.glob("*.corrupt-*"))


@pytest.fixture
def read_only_home(full_disk: Path) -> Iterator[tuple[Path, bytes]]:
    """A healthy database on a filesystem remounted read-only."""
    before = _healthy_database(full_disk / "sessions.sqlite3")
    subprocess.run(["mount", "-o", "remount,ro", str(full_disk)], check=True)
    yield full_disk, before
    subprocess.run(["mount", "-o", "remount,rw", str(full_disk)], check=True)


def test_history_on_a_read_only_disk_leaves_the_database_alone(
    read_only_home: tuple[Path, bytes],
) -> None:
    home, before = read_only_home
    db = home / "sessions.sqlite3"
    line = one_line(_history(home))
    assert line.startswith(f"voice-guide: The session database {db} cannot be ")
    assert line.endswith("(the file was left as it is).")
    assert db.read_bytes() == before
    assert sorted(p.name for p in home.iterdir()) == ["sessions.sqlite3"]


@pytest.mark.parametrize("shm", ["folder", "fifo", "link to nowhere"])
def test_an_odd_shm_file_never_moves_the_database_aside(tmp_path: Path, shm: str) -> None:
    home = tmp_path / "home"
    db = home / "sessions.sqlite3"
    before = _healthy_database(db)
    index = home / "sessions.sqlite3-shm"
    if shm == "folder":
        index.mkdir()
    elif shm == "fifo":
        os.mkfifo(index)
    else:
        index.symlink_to(tmp_path / "missing" / "shm")
    started = time.monotonic()
    result = _history(home)
    assert time.monotonic() - started < 10
    assert "Traceback" not in result.output
    if result.exit_code == 0:
        assert "Tiny" in result.stdout
    else:
        assert one_line(result).endswith("(the file was left as it is).")
    assert db.read_bytes() == before
    assert not list(home.glob("*.corrupt-*"))


@pytest.mark.parametrize("kind", ["fifo", "folder", "device"])
def test_a_database_path_that_is_not_a_file_is_refused_at_once(tmp_path: Path, kind: str) -> None:
    home = tmp_path / "home"
    home.mkdir()
    db = home / "sessions.sqlite3"
    if kind == "fifo":
        os.mkfifo(db)
    elif kind == "folder":
        db.mkdir()
    else:
        if not ROOT:
            pytest.skip("making a device node needs root (CI runs as root)")
        os.mknod(db, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    started = time.monotonic()
    line = one_line(_history(home))
    assert time.monotonic() - started < 5
    assert line.startswith(f"voice-guide: The session database {db} cannot be read (it is ")
    assert line.endswith("(it was left as it is).")
    assert db.exists() and not list(home.glob("*.corrupt-*"))


def test_real_damage_is_still_moved_aside_whole(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    db = home / "sessions.sqlite3"
    db.write_bytes(b"these are my notes, not a database" * 100)
    result = _history(home)
    assert result.exit_code == 0
    (aside,) = home.glob("sessions.sqlite3.corrupt-*")
    assert aside.read_bytes() == b"these are my notes, not a database" * 100
    assert result.stderr.startswith(f"voice-guide: The session database {db} was damaged")
    assert result.stdout == "No sessions yet.\n"


def _corrupt_row(home: Path, **columns: object) -> int:
    """Start and checkpoint a session of the tiny routine, then overwrite columns by hand."""
    with Store(home / "sessions.sqlite3") as store:
        sid = store.start_session(str(TINY_PATH[0]), "Tiny", None, 1000.0)
        store.checkpoint(sid, {"phase": "running"}, 5.0)
    conn = sqlite3.connect(home / "sessions.sqlite3")
    for column, value in columns.items():
        conn.execute(f"UPDATE sessions SET {column} = ? WHERE id = ?", (value, sid))
    conn.commit()
    conn.close()
    return sid


TINY_PATH: list[Path] = []


@pytest.fixture
def tiny_home(tmp_path: Path, tiny: Path) -> Path:
    TINY_PATH[:] = [tiny]
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    return home


def _resume(home: Path, *args: str, stdin: str = "end session\n") -> Result:
    return CliRunner().invoke(
        cli,
        ["run", *args, "--resume", "--keyboard", "--text"],
        input=stdin,
        env={"VOICE_GUIDE_HOME": str(home)},
    )


@pytest.mark.parametrize(
    ("state", "reason"),
    [
        ("{not json", "its saved state is damaged (not readable JSON)"),
        ('["a", "list"]', "its saved state is damaged (not readable JSON)"),
        ('{"phase": "flying", "index": 0}', "its saved state is damaged (ValueError: "),
        ('{"phase": "running"}', "its saved state is damaged (KeyError: "),
        (
            '{"phase": "running", "index": "x", "anchor_time": 0, "anchor_elapsed": 0}',
            "its saved state is damaged (ValueError: ",
        ),
        (
            '{"phase": "running", "index": 7, "anchor_time": 0, "anchor_elapsed": 0}',
            "the routine changed since (it has 1 step now, the session was at step 8)",
        ),
        (
            '{"phase": "running", "index": -1, "anchor_time": 0, "anchor_elapsed": 0}',
            "the routine changed since (it has 1 step now, the session was at step 0)",
        ),
        (
            '{"phase": "running", "index": 0, "anchor_time": 0, "anchor_elapsed": 0,'
            ' "done": ["warm-up"]}',
            "the routine changed since (steps warm-up are gone)",
        ),
    ],
)
def test_resume_of_a_row_that_no_longer_fits_explains_and_offers_a_fresh_start(
    tiny_home: Path, state: str, reason: str
) -> None:
    _corrupt_row(tiny_home, state=state)
    result = _resume(tiny_home)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.splitlines()
    assert lines[0].startswith(
        "voice-guide: the interrupted session of Tiny cannot be continued: " + reason
    )
    assert lines[1] == f"voice-guide: start it over with: voice-guide run {TINY_PATH[0]}"
    assert len(lines) == 2


@pytest.mark.parametrize(
    ("columns", "problem"),
    [
        (
            {
                "pressure": "{broken",
                "ended": "completed",
                "duration": 6,
                "steps_done": 1,
                "steps_total": 1,
            },
            "the pressure per area is unreadable",
        ),
        (
            {"pressure": '{"back": "firm"}', "ended": "completed", "duration": 60},
            "the pressure per area is unreadable; the number of steps is unreadable",
        ),
        (
            {"duration": "an hour", "ended": "completed", "steps_done": 1, "steps_total": 1},
            "the duration is unreadable",
        ),
        ({"started_at": "yesterday"}, "the start time is unreadable"),
        ({"ended": "exploded"}, "unknown ending 'exploded'"),
        ({"session_time": "x", "routine_title": 42}, "the duration is unreadable"),
        ({"state": "{broken"}, None),  # an interrupted session's steps are just unknown
    ],
)
def test_history_shows_damaged_rows_without_what_cannot_be_read(
    tiny_home: Path, columns: dict[str, object], problem: str | None
) -> None:
    sid = _corrupt_row(tiny_home, **columns)
    result = _history(tiny_home)
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    assert len(result.stdout.splitlines()) == 2  # header + the row
    as_json = _history(tiny_home, "--json")
    assert as_json.exit_code == 0
    (item,) = json.loads(as_json.stdout)
    assert item["session_id"] == sid
    expected = f"voice-guide: session {sid} is shown without what could not be read ({problem}).\n"
    assert result.stderr == (expected if problem else "")


# -- live sessions in real processes: one writer, "saved" only when saved ----------------

LONG_ROUTINE = """\
title: Long
steps:
  - {id: first, say: Rest your hands on the shoulders., duration: 20m}
  - {id: second, say: Now the upper arms., duration: 20m}
  - {id: third, say: Now the hands., duration: 20m}
"""


def _session(home: Path, *args: str) -> subprocess.Popen[str]:
    """`voice-guide run ... --keyboard --text` in its own process, stdin kept open."""
    env = {**os.environ, "VOICE_GUIDE_HOME": str(home), "PYTHONUNBUFFERED": "1"}
    env.pop("VOICE_GUIDE_LAUNCHER", None)
    return subprocess.Popen(
        [sys.executable, "-m", "voice_guide", "run", *args, "--keyboard", "--text"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _peek(process: subprocess.Popen[str]) -> str:
    """The first line the process printed (blocks until it prints one)."""
    assert process.stdout is not None
    return process.stdout.readline()


def _saved_state(home: Path) -> tuple[dict | None, float]:
    with Store(home / "sessions.sqlite3") as store:
        point = store.unfinished()
    assert point is not None
    return point.state, point.session_time


def _wait_for(predicate, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def _checkpointed(home: Path) -> bool:
    try:
        with Store(home / "sessions.sqlite3") as store:
            return store.unfinished() is not None
    except Exception:
        return False


@pytest.fixture
def long_routine(tmp_path: Path) -> Path:
    path = tmp_path / "long.yaml"
    path.write_text(LONG_ROUTINE, encoding="utf-8")
    return path


def test_a_second_resume_of_a_running_session_is_refused_in_one_sentence(
    tmp_path: Path, long_routine: Path
) -> None:
    home = tmp_path / "home"
    first = _session(home, str(long_routine))
    try:
        _wait_for(lambda: _checkpointed(home))
        first.send_signal(signal.SIGTERM)
        assert first.wait(timeout=20) == 130
        writer = _session(home, "--resume")
        _wait_for(lambda: "Welcome back" in _peek(writer))
        started = time.monotonic()
        second = _session(home, "--resume")
        out, err = second.communicate("stronger\n", timeout=20)
        assert time.monotonic() - started < 15
        assert second.returncode == 1, err
        (line,) = err.splitlines()
        assert line == (
            f"voice-guide: Session 1 is already running in another voice-guide (process "
            f"{writer.pid}); end that one first (only one can write a session, or its changes "
            "would be lost)."
        )
        assert out == ""
        assert writer.poll() is None  # the first writer goes on undisturbed
    finally:
        for process in (first, writer):
            if process.poll() is None:
                process.kill()
                process.wait()
    # A killed writer leaves no lock behind: the session can be resumed again.
    third = _session(home, "--resume")
    out, err = third.communicate("", timeout=30)
    assert third.returncode == 0, err
    assert "Welcome back. First." in out


def test_keyboard_session_checkpoints_time_worked_inside_a_step(
    tmp_path: Path, long_routine: Path
) -> None:
    home = tmp_path / "home"
    session = _session(home, str(long_routine))
    try:
        _wait_for(lambda: _checkpointed(home))
        time.sleep(7)  # no command typed: only the periodic checkpoint saves this time
    finally:
        session.kill()  # SIGKILL: nothing is saved on the way out
        session.wait()
    state, session_time = _saved_state(home)
    assert state is not None and state["index"] == 0
    assert session_time >= 5.0
    history = _history(home)
    assert " 0:05 " in history.stdout or " 0:06 " in history.stdout or " 0:07 " in history.stdout


def test_a_disk_full_mid_session_is_never_called_saved(full_disk: Path, long_routine: Path) -> None:
    session = _session(full_disk, str(long_routine))
    assert session.stdin is not None
    try:
        _wait_for(lambda: _checkpointed(full_disk))
        session.stdin.write("next\n")
        session.stdin.flush()
        _wait_for(lambda: (_saved_state(full_disk)[0] or {}).get("index") == 1)
        fill(full_disk)
        session.stdin.write("next\n")  # the third step: not saved
        session.stdin.flush()
        time.sleep(1.5)
        session.send_signal(signal.SIGTERM)
        _, err = session.communicate(timeout=20)
    finally:
        if session.poll() is None:
            session.kill()
    assert session.returncode == 130, err
    lines = err.splitlines()
    assert lines[0] == (
        f"voice-guide: could not save the session (The session database "
        f"{full_disk / 'sessions.sqlite3'} cannot be written: the disk is full; free some space "
        "and try again (the file was left as it is).)"
    )
    assert lines[-1].startswith(
        f"voice-guide: the last part of the session could not be saved; {sys.executable} -m "
        "voice_guide run --resume continues from 00:0"
    )
    assert "Session saved" not in err
    assert len([line for line in lines if line]) == 2, lines  # the failure once, the goodbye
    (full_disk / "filler").unlink()
    resumed = _session(full_disk, "--resume")
    out, err = resumed.communicate("", timeout=30)
    assert resumed.returncode == 0, err
    assert out.splitlines()[0].endswith("] Welcome back. Second. About 20 minutes left.")


def test_typed_session_on_a_terminal_shows_a_prompt_and_ctrl_d_saves(
    tmp_path: Path, long_routine: Path
) -> None:
    home = tmp_path / "home"
    env = {**os.environ, "VOICE_GUIDE_HOME": str(home), "PYTHONUNBUFFERED": "1"}
    env.pop("VOICE_GUIDE_LAUNCHER", None)
    controller, terminal = pty.openpty()
    try:
        session = subprocess.Popen(
            [sys.executable, "-m", "voice_guide", "run", str(long_routine), "--keyboard", "--text"],
            stdin=terminal,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        assert session.stdout is not None
        head = os.read(session.stdout.fileno(), 8)  # blocks until the guide starts talking
        os.write(controller, b"lighter\n")
        time.sleep(1.0)
        os.write(controller, b"\x04")  # Ctrl-D at the start of a line: end of input
        out, err = session.communicate(timeout=20)
        out = head + out
    finally:
        os.close(controller)
        os.close(terminal)
    assert session.returncode == 0, err
    # Each printed line starts where the prompt was ("\r"), and the prompt comes back after it.
    assert b"Rest your hands on the shoulders.\n> \rheard: lighter\n> \r[00:00] " in out
    assert out.endswith(b"> \n")
    assert err.decode().splitlines()[-1] == (
        f"Session saved. Continue it with: {sys.executable} -m voice_guide run --resume"
    )


# -- model downloads from hostile servers, installs that are killed or swapped -----------

MODEL_FILES = {
    "am/final.mdl": 200_000,
    "conf/model.conf": 100,
    "conf/mfcc.conf": 100,
    "graph/HCLr.fst": 100_000,
    "graph/Gr.fst": 50_000,
}
MODEL = "vosk-model-small-xx-0.1"


def _model_zip(seed: int = 0) -> bytes:
    buffer = io.BytesIO()
    rng = random.Random(seed)
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for rel, size in MODEL_FILES.items():
            archive.writestr(f"{MODEL}/{rel}", rng.randbytes(size))
    return buffer.getvalue()


@dataclass
class Hostile:
    """A real HTTP server on 127.0.0.1 that misbehaves as told."""

    mode: str = "serve"  # serve | endless | trickle | silent-body | no-headers
    body: bytes = b""
    url: str = ""
    requests: int = 0


@pytest.fixture
def hostile() -> Iterator[Hostile]:
    state = Hostile()
    stop = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            state.requests += 1
            if state.mode == "no-headers":
                stop.wait(30)
                return
            self.send_response(200)
            if state.mode == "serve":
                self.send_header("Content-Length", str(len(state.body)))
                self.end_headers()
                self.wfile.write(state.body)
                return
            self.send_header("Connection", "close")  # no length: the body ends when we close
            self.end_headers()
            try:
                while not stop.is_set():
                    if state.mode == "endless":
                        self.wfile.write(b"\0" * 65536)
                    elif state.mode == "trickle":
                        self.wfile.write(b"x")
                        self.wfile.flush()
                        stop.wait(0.3)
                    else:  # silent-body: headers, then nothing at all
                        stop.wait(0.2)
            except OSError:
                pass  # the client gave up: that is the point

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}/{MODEL}.zip"
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield state
    stop.set()
    httpd.shutdown()
    httpd.server_close()


def _download(*args: str, home: Path | None = None) -> Result:
    env = {"VOICE_GUIDE_HOME": str(home)} if home else None
    return CliRunner().invoke(cli, ["models", "download", *args], env=env)


def _home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.mark.parametrize("mode", ["trickle", "silent-body", "no-headers"])
def test_a_stalling_server_is_given_up_on_in_bounded_time(
    hostile: Hostile, tmp_path: Path, mode: str
) -> None:
    hostile.mode = mode
    started = time.monotonic()
    result = _download(
        MODEL, "--url", hostile.url, "--no-verify", "--language", "xx",
        "--stall-timeout", "0.5", "--timeout", "2",
    )  # fmt: skip
    elapsed = time.monotonic() - started
    assert elapsed < 8, elapsed
    line = last_line(result)
    assert line.startswith(
        f"voice-guide: the download of {MODEL} stalled (less than 1024 bytes/s for 0.5 s, "
        "or longer than 2 s in all; "
    )
    assert line.endswith("run the same command again to resume.")
    assert hostile.requests >= 1


def test_an_endless_body_stops_at_the_expected_size(hostile: Hostile, tmp_path: Path) -> None:
    hostile.mode = "endless"
    part = tmp_path / "x.zip.part"
    source = ModelSource(MODEL, "xx", hostile.url, size=300_000, sha256="0" * 64)
    with pytest.raises(IntegrityError) as raised:
        download(source, part, retry_wait=0, limits=DownloadLimits(stall_timeout=2))
    assert str(raised.value) == (
        f"{hostile.url} sent more than the 300,000 bytes {MODEL}.zip can be; nothing was kept. "
        "Check the mirror (--url / $VOICE_GUIDE_MODEL_URL)."
    )
    assert not part.exists()


def test_an_endless_body_without_any_size_stops_at_the_cap(
    hostile: Hostile, tmp_path: Path
) -> None:
    hostile.mode = "endless"
    part = tmp_path / "x.zip.part"
    source = ModelSource(MODEL, "xx", hostile.url, size=None, sha256=None)
    with pytest.raises(IntegrityError, match="sent more than the 1,000,000 bytes"):
        download(source, part, retry_wait=0, limits=DownloadLimits(max_bytes=1_000_000))
    assert not part.exists()


@pytest.fixture
def big_disk() -> Iterator[Path]:
    """A real 48 MiB tmpfs (room for the 41 MB English model, not for an endless one)."""
    with tmpfs("48m") as folder:
        yield folder


def test_the_english_model_from_an_endless_server_never_fills_the_disk(
    hostile: Hostile, big_disk: Path
) -> None:
    hostile.mode = "endless"
    result = _download("vosk-model-small-en-us-0.15", "--url", hostile.url, home=big_disk)
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert result.stderr.splitlines()[-1] == (
        f"voice-guide: {hostile.url} sent more than the 41,205,931 bytes "
        "vosk-model-small-en-us-0.15.zip can be; nothing was kept. Check the mirror "
        "(--url / $VOICE_GUIDE_MODEL_URL)."
    )
    assert shutil.disk_usage(big_disk).used < 1_000_000  # nothing left behind


def test_a_download_that_fills_the_disk_is_one_line_and_frees_it(
    hostile: Hostile, full_disk: Path
) -> None:
    hostile.mode = "endless"
    result = _download(MODEL, "--url", hostile.url, "--no-verify", "--language", "xx",
                       home=full_disk)  # fmt: skip
    line = last_line(result)
    assert line.startswith(
        f"voice-guide: could not store {MODEL} in {full_disk / 'models'} (No space"
    )
    assert not (full_disk / "models" / ".downloads" / f"{MODEL}.zip.part").exists()


def _install(tmp_path: Path, hostile: Hostile, seed: int = 0, *extra: str) -> Result:
    hostile.mode, hostile.body = "serve", _model_zip(seed)
    return _download(
        MODEL, "--url", hostile.url, "--sha256", hashlib.sha256(hostile.body).hexdigest(),
        *extra, home=_home(tmp_path),
    )  # fmt: skip


def test_force_reinstall_never_leaves_a_moment_without_the_model(
    hostile: Hostile, tmp_path: Path
) -> None:
    assert _install(tmp_path, hostile, 0).exit_code == 0
    model_file = _home(tmp_path) / "models" / MODEL / "am" / "final.mdl"
    missing = threading.Event()
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            if not model_file.exists():
                missing.set()

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        for seed in (1, 2, 3):
            result = _install(tmp_path, hostile, seed, "--force")
            assert result.exit_code == 0, result.output
    finally:
        done.set()
        watcher.join()
    assert not missing.is_set()
    assert model_file.read_bytes()[:16] == random.Random(3).randbytes(200_000)[:16]
    assert sorted(p.name for p in (_home(tmp_path) / "models").iterdir()) == [
        ".downloads",
        ".install.lock",
        MODEL,
    ]


def test_a_model_that_fails_verify_is_never_loaded(
    hostile: Hostile, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VOICE_GUIDE_HOME", str(_home(tmp_path)))
    assert _install(tmp_path, hostile).exit_code == 0
    model_dir = _home(tmp_path) / "models" / MODEL
    assert find_model("xx") == model_dir
    weights = model_dir / "am" / "final.mdl"
    weights.write_bytes(bytes(len(weights.read_bytes())))  # same size, other content
    assert find_model("xx") == model_dir  # only a full check can tell
    verify = CliRunner().invoke(cli, ["models", "verify"])
    assert verify.exit_code == 1
    assert verify.stdout.startswith(f"FAILED {MODEL}: files changed since install")
    assert find_model("xx") is None
    listing = CliRunner().invoke(cli, ["models", "list"]).stdout
    assert f"* {MODEL}" not in listing
    assert (
        "\nNot loaded (failed verify or changed since install; reinstall with voice-guide "
        f"models download NAME --force):\n    {MODEL}\n"
    ) in listing
    assert _install(tmp_path, hostile, 0, "--force").exit_code == 0
    assert find_model("xx") == model_dir
    assert CliRunner().invoke(cli, ["models", "verify"]).exit_code == 0


def test_a_truncated_model_file_is_not_loaded_even_unverified(
    hostile: Hostile, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VOICE_GUIDE_HOME", str(_home(tmp_path)))
    assert _install(tmp_path, hostile).exit_code == 0
    graph = _home(tmp_path) / "models" / MODEL / "graph" / "Gr.fst"
    graph.write_bytes(graph.read_bytes()[:1000])
    assert find_model("xx") is None


# Each member is followed by a pause, so the install is still at work when it is killed
# (on a loaded machine a full-speed install could finish, and clean up, between two polls).
_KILLED_INSTALL = """
import shutil, sys, time
from pathlib import Path
from voice_guide.speech_in.model_install import extract_model
copy = shutil.copyfileobj
def slow_copy(*args, **kwargs):
    copy(*args, **kwargs)
    time.sleep(0.2)
shutil.copyfileobj = slow_copy
extract_model(Path(sys.argv[1]), sys.argv[2], "xx", models_dir=Path(sys.argv[3]))
"""


def test_killed_installs_leave_nothing_behind_after_the_next_install(
    hostile: Hostile, tmp_path: Path
) -> None:
    models = _home(tmp_path) / "models"
    models.mkdir(parents=True)
    archive = tmp_path / "big.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as zf:
        for n in range(40):
            zf.writestr(f"{MODEL}/am/part{n}", random.Random(n).randbytes(1_000_000))
    for n in range(1, 4):
        killed = subprocess.Popen(
            [sys.executable, "-c", _KILLED_INSTALL, str(archive), MODEL, str(models)]
        )
        _wait_for(lambda n=n: len({p.parent.parent for p in models.glob(".tmp-*/am/*")}) >= n)
        killed.send_signal(signal.SIGKILL)
        assert killed.wait(timeout=10) == -signal.SIGKILL
    assert len(list(models.glob(".tmp-*"))) == 3
    assert _install(tmp_path, hostile).exit_code == 0
    assert sorted(p.name for p in models.iterdir()) == [".downloads", ".install.lock", MODEL]


def test_a_second_install_at_the_same_time_is_refused_at_once(
    hostile: Hostile, tmp_path: Path
) -> None:
    models = _home(tmp_path) / "models"
    with installing(models):
        started = time.monotonic()
        result = _install(tmp_path, hostile)
        assert time.monotonic() - started < 5
    assert one_line(result) == (
        f"voice-guide: another voice-guide is installing a model into {models}; wait for it to "
        "finish and try again."
    )
    assert not (models / MODEL).exists()


def test_a_transcript_on_a_full_disk_is_dropped_and_the_session_goes_on(
    full_disk: Path, long_routine: Path, tmp_path: Path
) -> None:
    fill(full_disk)
    transcript = full_disk / "t.jsonl"
    result = CliRunner().invoke(
        cli,
        ["run", str(long_routine), "--keyboard", "--text", "--transcript", str(transcript)],
        input="next\nend session\nyes\n",
        env={"VOICE_GUIDE_HOME": str(tmp_path / "home")},
    )
    assert result.exit_code == 0, result.output
    assert result.stderr == (
        f"voice-guide: the transcript {transcript} cannot be written (No space left on device); "
        "the session goes on without it.\n"
        "Session saved. Continue it with: voice-guide run --resume\n"
    )
    assert "Now the upper arms." in result.stdout
    with Store(tmp_path / "home" / "sessions.sqlite3") as store:
        (record,) = store.history()
    assert (record.status, record.steps_done) == ("interrupted", 1)  # now at the closing


@pytest.mark.parametrize(
    "columns",
    [
        {"avoid": "[broken", "pressure": "{broken"},
        {"avoid": '{"not": "a list"}', "pressure": '["not", "a map"]'},
        {"avoid": "[1, null]", "pressure": '{"shoulders": "firm", "neck": 2}', "updated": "x"},
    ],
)
def test_a_damaged_profile_row_never_breaks_a_session_or_the_profile_command(
    tmp_path: Path, tiny: Path, columns: dict[str, object]
) -> None:
    home = tmp_path / "home"
    with Store(home / "sessions.sqlite3") as store:
        store.remember_pressure("Anna", "neck", 2)
    conn = sqlite3.connect(home / "sessions.sqlite3")
    for column, value in columns.items():
        conn.execute(f"UPDATE profiles SET {column} = ?", (value,))
    conn.commit()
    conn.close()
    env = {"VOICE_GUIDE_HOME": str(home)}
    shown = CliRunner().invoke(cli, ["profile", "Anna"], env=env)
    assert shown.exit_code == 0, shown.output
    assert shown.stdout.startswith("Anna\n  avoid:    -\n")
    session = CliRunner().invoke(
        cli,
        ["run", str(tiny), "--recipient", "Anna", "--keyboard", "--text"],
        input="end session\nyes\n",
        env=env,
    )
    assert session.exit_code == 0, session.output
    assert "Traceback" not in session.output


def test_on_a_terminal_a_session_that_cannot_continue_is_offered_a_fresh_start(
    tiny_home: Path,
) -> None:
    old = _corrupt_row(tiny_home, state='{"phase": "running", "index": 9}')
    env = {**os.environ, "VOICE_GUIDE_HOME": str(tiny_home), "PYTHONUNBUFFERED": "1"}
    controller, terminal = pty.openpty()
    try:
        session = subprocess.Popen(
            [sys.executable, "-m", "voice_guide", "run", "--resume", "--keyboard", "--text"],
            stdin=terminal,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        assert session.stderr is not None
        question = os.read(session.stderr.fileno(), 4096)  # blocks until it asks
        while b"Start it over from the beginning? [y/N]" not in question:
            question += os.read(session.stderr.fileno(), 4096)
        os.write(controller, b"y\n")
        time.sleep(1.0)
        os.write(controller, b"\x04")
        out, err = session.communicate(timeout=20)
    finally:
        os.close(controller)
        os.close(terminal)
    assert session.returncode == 0, err
    assert question.decode().startswith(
        "voice-guide: the interrupted session of Tiny cannot be continued: its saved state is "
        "damaged (KeyError: "
    )
    assert out.startswith(b"[00:00] Welcome. Today: Tiny.")
    with Store(tiny_home / "sessions.sqlite3") as store:
        sessions = [r.session_id for r in store.history()]
    assert sessions == [old + 1, old]  # a new session; the old row is kept as it was


PRESSURE_ROUTINE = """\
title: Pressed
pressure:
  levels:
    1: {name: light, technique: Fingertips.}
    2: {name: medium, technique: Palms.}
    3: {name: firm, technique: Thumbs.}
  start: 1
steps:
  - {id: a, say: Work the shoulders., duration: 20m, area: shoulders}
  - {id: b, say: Work the back., duration: 20m, area: back}
"""


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (
            lambda text: text.replace("    3: {name: firm, technique: Thumbs.}\n", ""),
            "its pressure scale has 2 levels now, the session was at level 3",
        ),
        (lambda text: text.split("pressure:")[0] + "steps:" + text.split("steps:")[1],
         "it has no pressure scale now"),
    ],
)  # fmt: skip
def test_resume_after_the_pressure_scale_changed_explains_instead_of_crashing(
    tmp_path: Path, change, reason: str
) -> None:
    routine = tmp_path / "pressed.yaml"
    routine.write_text(PRESSURE_ROUTINE, encoding="utf-8")
    env = {"VOICE_GUIDE_HOME": str(tmp_path / "home")}
    first = CliRunner().invoke(
        cli, ["run", str(routine), "--keyboard", "--text"], input="stronger\nstronger\n", env=env
    )
    assert first.exit_code == 0 and "Firm. Thumbs." in first.stdout
    routine.write_text(change(PRESSURE_ROUTINE), encoding="utf-8")
    again = CliRunner().invoke(cli, ["run", "--resume", "--keyboard", "--text"], env=env)
    assert again.exit_code == 1
    assert again.stderr.splitlines() == [
        f"voice-guide: the interrupted session of Pressed cannot be continued: the routine "
        f"changed since ({reason}).",
        f"voice-guide: start it over with: voice-guide run {routine}",
    ]


def test_a_link_planted_as_the_partial_download_is_never_written_through(
    hostile: Hostile, tmp_path: Path, planted_link: tuple[Path, Path]
) -> None:
    _, precious = planted_link
    downloads = _home(tmp_path) / "models" / ".downloads"
    downloads.mkdir(parents=True)
    (downloads / f"{MODEL}.zip.part").symlink_to(precious)
    line = last_line(_install(tmp_path, hostile))
    assert line == (
        f"voice-guide: could not store {MODEL} in {_home(tmp_path) / 'models'} (it is a symbolic "
        "link; give the real path instead); check the free space and permissions there, or "
        "set VOICE_GUIDE_HOME to another folder."
    )
    assert precious.read_text(encoding="utf-8") == "keep me\n"


_AS_NOBODY = """
import os, pwd, sys
from click.testing import CliRunner
from voice_guide.cli import cli
import voice_guide.store, voice_guide.wiring  # loaded as root; then the rights of nobody
nobody = pwd.getpwnam("nobody")
os.setgroups([])
os.setgid(nobody.pw_gid)
os.setuid(nobody.pw_uid)
result = CliRunner().invoke(cli, ["history"], env={"VOICE_GUIDE_HOME": sys.argv[1]})
print(result.exit_code)
print(result.stderr, end="")
"""


@pytest.mark.parametrize("unreadable", ["sessions.sqlite3-shm", "sessions.sqlite3"])
def test_an_unreadable_database_or_shm_is_one_sentence_and_never_moved(
    request: pytest.FixtureRequest, unreadable: str
) -> None:
    if not ROOT:
        pytest.skip("dropping to another user needs root (CI runs as root)")
    # Under /tmp itself: pytest's own folders are closed to other users.
    home = Path(tempfile.mkdtemp(prefix="vg-nobody-")) / "home"
    request.addfinalizer(lambda: shutil.rmtree(home.parent))
    before = _healthy_database(home / "sessions.sqlite3")
    for path in (home.parent, home, home / "sessions.sqlite3"):
        os.chown(path, pwd.getpwnam("nobody").pw_uid, -1)
    target = home / unreadable
    target.touch()
    os.chown(target, 0, 0)
    target.chmod(0)
    done = subprocess.run(
        [sys.executable, "-c", _AS_NOBODY, str(home)], capture_output=True, text=True, timeout=60
    )
    code, line = done.stdout.splitlines()
    assert code == "1", done.stdout + done.stderr
    db = home / "sessions.sqlite3"
    if unreadable.endswith("-shm"):
        assert line == (
            f"voice-guide: The session database {db} cannot be used (unable to open database "
            f"file); check the free space and the permissions of {home} and of the -wal and "
            "-shm files there (the file was left as it is)."
        )
        assert db.read_bytes() == before
    else:
        assert line == (
            f"voice-guide: The session database {db} cannot be read (Permission denied); move "
            "it away or set VOICE_GUIDE_HOME to another folder (it was left as it is)."
        )
    assert not list(home.glob("*.corrupt-*"))
