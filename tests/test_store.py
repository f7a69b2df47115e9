"""The session database on real SQLite files: resume points, history, profiles, damaged
files moved aside, another process holding the lock, and the CLI commands."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from voice_guide.cli import _register, cli
from voice_guide.store import (
    SCHEMA_VERSION,
    DatabaseLocked,
    Profile,
    Store,
    StoreError,
)

SUMMARY = {
    "duration": 1830.0,
    "steps_done": 12,
    "steps_total": 12,
    "pressure_by_area": {"shoulders": 2, "lower back": 1},
    "ended": "completed",
}


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "nested" / "sessions.sqlite3"


def _filled_database(path: Path, sessions: int = 300) -> None:
    """A database large enough (many pages) that truncating it loses real content."""
    with Store(path) as store:
        for n in range(sessions):
            sid = store.start_session("back", "Back massage", f"person {n}", 1000.0 + n)
            store.checkpoint(sid, {"index": n, "notes": "x" * 200}, float(n))
            store.finish(sid, SUMMARY)


def test_creates_parent_folders_in_wal_mode_with_current_schema(db: Path) -> None:
    with Store(db) as store:
        assert store.notice is None
    assert db.is_file()
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert conn.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]
    conn.close()


def test_default_path_is_in_voice_guide_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VOICE_GUIDE_HOME", str(tmp_path / "home"))
    with Store() as store:
        assert store.path == tmp_path / "home" / "sessions.sqlite3"
    assert store.path.is_file()


def test_resume_point_round_trip_keeps_only_the_latest_state(db: Path) -> None:
    with Store(db) as store:
        sid = store.start_session("back", "Back massage", "Anna", 1000.0)
        assert store.unfinished() is None  # nothing to resume before the first checkpoint
        for n in range(50):
            store.checkpoint(sid, {"index": n, "preferred": {"shoulders": 2}}, n * 1.5)
    with Store(db) as store:  # a new process after the old one was killed
        point = store.unfinished("back", "anna")
    assert point is not None
    assert (point.session_id, point.routine, point.routine_title) == (sid, "back", "Back massage")
    assert point.recipient == "Anna"
    assert point.state == {"index": 49, "preferred": {"shoulders": 2}}
    assert point.session_time == 49 * 1.5
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT count(*) FROM sessions").fetchone() == (1,)
    conn.close()


def test_interrupted_session_resumes_until_completed(db: Path) -> None:
    with Store(db) as store:
        sid = store.start_session("back", "Back massage", None, 1000.0)
        store.checkpoint(sid, {"index": 3}, 300.0)
        store.finish(sid, {**SUMMARY, "steps_done": 3, "ended": "interrupted"})  # SIGTERM
        point = store.unfinished()
        assert point is not None and point.session_id == sid and point.state == {"index": 3}
        store.checkpoint(sid, {"index": 4}, 320.0)  # resumed: the same session goes on
        assert store.history()[0].status == "interrupted"
        store.finish(sid, SUMMARY)
        assert store.unfinished() is None
        assert store.history()[0].status == "completed"
        with pytest.raises(StoreError, match="already ended"):
            store.checkpoint(sid, {"index": 5}, 330.0)
        with pytest.raises(StoreError, match="does not exist"):
            store.checkpoint(sid + 1, {}, 0.0)
        with pytest.raises(ValueError, match="ended must be one of"):
            store.finish(sid, {**SUMMARY, "ended": "crashed"})


def test_unfinished_picks_the_latest_matching_session(db: Path) -> None:
    with Store(db) as store:
        anna = store.start_session("back", "Back massage", "Anna", 1000.0)
        store.checkpoint(anna, {"who": "anna"}, 10.0)
        bob = store.start_session("back", "Back massage", "Bob", 2000.0)
        store.checkpoint(bob, {"who": "bob"}, 20.0)
        feet = store.start_session("feet", "Foot massage", "Anna", 3000.0)
        store.checkpoint(feet, {"who": "anna feet"}, 30.0)

        assert store.unfinished().session_id == feet
        assert store.unfinished("back").session_id == bob
        assert store.unfinished("back", "  ANNA ").session_id == anna
        assert store.unfinished("feet", "Bob") is None
        # A later completed session supersedes the interrupted one before it.
        later = store.start_session("back", "Back massage", "Anna", 4000.0)
        store.checkpoint(later, {}, 1.0)
        store.finish(later, SUMMARY)
        assert store.unfinished("back", "Anna") is None


def test_history_is_newest_first_with_summaries_and_filters(db: Path) -> None:
    with Store(db) as store:
        first = store.start_session("back", "Back massage", "Anna", 1000.0)
        store.checkpoint(first, {}, 60.0)
        store.finish(first, SUMMARY)
        killed = store.start_session("back", "Back massage", "Bob", 3000.0)
        store.checkpoint(killed, {}, 95.5)
        early = store.start_session("feet", "Foot massage", "anna", 2000.0)
        store.finish(early, {**SUMMARY, "steps_done": 4, "ended": "ended early"})

        records = store.history()
        assert [r.session_id for r in records] == [killed, early, first]
        assert [r.status for r in records] == ["interrupted", "ended early", "completed"]
        assert (records[0].duration, records[0].steps_done, records[0].pressure_by_area) == (
            95.5,
            None,
            {},
        )
        assert records[2].pressure_by_area == {"shoulders": 2, "lower back": 1}
        assert (records[2].steps_done, records[2].steps_total, records[2].duration) == (
            12,
            12,
            1830.0,
        )
        assert [r.session_id for r in store.history("ANNA")] == [early, first]
        assert [r.session_id for r in store.history(limit=1)] == [killed]
        assert store.history("nobody") == []


def test_profiles_are_case_insensitive_and_updated_in_place(db: Path) -> None:
    with Store(db) as store:
        empty = store.profile("Anna")
        assert empty == Profile("Anna")
        assert empty.updated is None

        saved = store.save_profile(
            Profile(" Anna  Lee ", frozenset({"lower back"}), {"shoulders": 2})
        )
        assert saved.name == "Anna Lee" and saved.updated is not None
        assert store.profile("anna lee") == saved

        store.remember_pressure("ANNA LEE", "shoulders", 3)
        store.remember_pressure("anna lee", "upper back", 1)
        again = store.profile("Anna Lee")
        assert again.pressure == {"shoulders": 3, "upper back": 1}
        assert again.avoid == frozenset({"lower back"})
        assert again.name == "Anna Lee"  # the name as first typed is kept

        created = store.remember_pressure("Bob", "neck", 2)
        assert store.profile("bob") == created
        assert created.pressure == {"neck": 2}
        with pytest.raises(ValueError, match="cannot be empty"):
            store.profile("   ")


def test_profiles_survive_reopening(db: Path) -> None:
    with Store(db) as store:
        store.save_profile(Profile("Anna", frozenset({"neck"}), {"shoulders": 2}))
    with Store(db) as store:
        assert store.profile("anna").avoid == frozenset({"neck"})


def _aside_files(folder: Path) -> list[Path]:
    """The damaged databases moved aside (without their -wal)."""
    moved = folder.glob("sessions.sqlite3.corrupt-*")
    return sorted(p for p in moved if not p.name.endswith("-wal"))


def test_random_bytes_are_moved_aside_not_lost(db: Path) -> None:
    db.parent.mkdir(parents=True)
    junk = os.urandom(20_000)
    db.write_bytes(junk)
    with Store(db) as store:
        assert store.notice is not None
        assert "not an SQLite file" in store.notice
        assert store.history() == []  # a fresh, working database
        store.start_session("back", "Back massage", None, 1.0)
    (aside,) = _aside_files(db.parent)
    assert aside.read_bytes() == junk
    assert str(aside) in store.notice
    assert store.notice.count(". ") == 0 and store.notice.endswith(".")  # one sentence


def test_truncated_database_and_its_wal_are_moved_aside(db: Path) -> None:
    _filled_database(db)
    data = db.read_bytes()
    assert len(data) > 50_000
    db.write_bytes(data[: len(data) // 2])
    wal = db.with_name(db.name + "-wal")
    wal.write_bytes(b"left over")
    with Store(db) as store:
        assert store.notice is not None and "malformed" in store.notice
        assert store.history() == []
    (aside,) = _aside_files(db.parent)
    assert aside.read_bytes() == data[: len(data) // 2]
    assert aside.with_name(aside.name + "-wal").read_bytes() == b"left over"


def test_damaged_page_fails_the_integrity_check(db: Path) -> None:
    _filled_database(db)
    conn = sqlite3.connect(db)
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.close()
    data = bytearray(db.read_bytes())
    middle = (pages // 2) * page_size
    data[middle : middle + page_size] = os.urandom(page_size)  # one page of the table scribbled
    db.write_bytes(bytes(data))
    with Store(db) as store:
        assert store.notice is not None
    assert len(_aside_files(db.parent)) == 1


def test_database_from_a_newer_version_is_left_alone(db: Path) -> None:
    with Store(db):
        pass
    conn = sqlite3.connect(db)
    conn.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION + 1,))
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="newer voice-guide"):
        Store(db)
    assert _aside_files(db.parent) == []


_HOLD_LOCK = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
conn.execute("UPDATE sessions SET session_time = 1")
print("locked", flush=True)
sys.stdin.readline()
conn.execute("COMMIT")
"""


def test_database_locked_by_another_process_is_a_clear_error(db: Path) -> None:
    with Store(db) as store:
        sid = store.start_session("back", "Back massage", None, 1.0)
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD_LOCK, str(db)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdin is not None
        assert holder.stdout.readline().strip() == "locked"
        with Store(db, timeout=0.2) as store:  # opening needs no write lock
            assert store.notice is None
            with pytest.raises(DatabaseLocked, match="locked by another program"):
                store.checkpoint(sid, {"index": 1}, 5.0)
            assert len(store.history()) == 1  # readers are not blocked (WAL)
            holder.stdin.write("\n")
            holder.stdin.flush()
            assert holder.wait(timeout=10) == 0
            store.checkpoint(sid, {"index": 1}, 5.0)  # the lock is gone: it works again
            assert store.unfinished().state == {"index": 1}
    finally:
        holder.kill()
        holder.wait()
    assert _aside_files(db.parent) == []  # a busy database is never taken for a damaged one


def test_concurrent_writers_both_succeed(db: Path) -> None:
    with Store(db) as store:
        ids = [store.start_session("back", "Back massage", f"p{n}", float(n)) for n in range(2)]
    errors: list[BaseException] = []

    def write(session_id: int) -> None:
        try:
            with Store(db) as own:  # one connection each, like two processes
                for n in range(300):
                    own.checkpoint(session_id, {"n": n}, float(n))
                    own.remember_pressure("shared", f"area {session_id}", n)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=write, args=(sid,)) for sid in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with Store(db) as store:
        assert {store.unfinished(recipient=f"p{n}").state["n"] for n in range(2)} == {299}
        assert store.profile("shared").pressure == {f"area {sid}": 299 for sid in ids}


# -- the CLI -----------------------------------------------------------------------------


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("VOICE_GUIDE_HOME", str(tmp_path))
    _register()
    return tmp_path


def test_history_cli_table_json_and_filter(home: Path) -> None:
    runner = CliRunner()
    empty = runner.invoke(cli, ["history"])
    assert empty.exit_code == 0 and empty.stdout.strip() == "No sessions yet."

    with Store() as store:
        anna = store.start_session("back", "Back massage", "Anna", 1_790_000_000.0)
        store.checkpoint(anna, {}, 100.0)
        bob = store.start_session("back", "Back massage", "Bob", 1_790_100_000.0)
        store.finish(bob, SUMMARY)

    table = runner.invoke(cli, ["history"])
    assert table.exit_code == 0, table.output
    lines = table.stdout.splitlines()
    assert lines[0].split() == [
        "started",
        "routine",
        "recipient",
        "duration",
        "steps",
        "pressure",
        "status",
    ]
    assert "Bob" in lines[1] and "30:30" in lines[1] and "12/12" in lines[1]
    assert "lower back 1, shoulders 2" in lines[1] and lines[1].endswith("completed")
    assert "Anna" in lines[2] and "1:40" in lines[2] and lines[2].endswith("interrupted")

    as_json = runner.invoke(cli, ["history", "--recipient", "anna", "--json"])
    assert as_json.exit_code == 0
    (item,) = json.loads(as_json.stdout)
    assert item["recipient"] == "Anna" and item["status"] == "interrupted"
    assert item["duration"] == 100.0 and item["steps_done"] is None
    assert item["started"] == "2026-09-21T14:13:20+00:00"


def test_history_cli_reports_a_damaged_database_and_goes_on(home: Path) -> None:
    (home / "sessions.sqlite3").write_bytes(b"not a database at all" * 100)
    result = CliRunner().invoke(cli, ["history"])
    assert result.exit_code == 0 and result.stdout.strip() == "No sessions yet."
    (message,) = result.stderr.splitlines()
    assert message.startswith("voice-guide: The session database ")
    assert "was damaged (it is not an SQLite file), so it was moved to " in message
    assert len(list(home.glob("sessions.sqlite3.corrupt-*"))) == 1


def test_profile_cli_sets_shows_and_rejects_bad_input(home: Path) -> None:
    runner = CliRunner()
    unknown = runner.invoke(cli, ["profile", "Anna"])
    assert unknown.exit_code == 0 and "No profile for Anna yet" in unknown.stdout

    saved = runner.invoke(
        cli,
        [
            *("profile", "Anna", "--avoid", "lower back", "--avoid", "neck"),
            *("--pressure", "shoulders=2", "--pressure", "upper back=3"),
        ],
    )
    assert saved.exit_code == 0 and "Saved the profile of Anna." in saved.stdout
    allowed = runner.invoke(cli, ["profile", "ANNA", "--allow", "neck", "--show"])
    assert allowed.exit_code == 0
    assert "avoid:    lower-back" in allowed.stdout
    assert "pressure: shoulders 2, upper-back 3" in allowed.stdout
    with Store() as store:
        assert store.profile("anna").avoid == frozenset({"lower-back"})

    bad = runner.invoke(cli, ["profile", "Anna", "--pressure", "shoulders=firm"])
    assert bad.exit_code == 2
    assert "'shoulders=firm' is not AREA=LEVEL; write it like shoulders=2." in bad.stderr
    assert "Traceback" not in bad.output
    blank = runner.invoke(cli, ["profile", "Anna", "--avoid", "  "])
    assert blank.exit_code == 2 and "an area cannot be empty" in blank.stderr


def test_cli_locked_database_is_one_line_not_a_traceback(home: Path) -> None:
    with Store() as store:
        store.start_session("back", "Back massage", None, 1.0)
    holder = sqlite3.connect(home / "sessions.sqlite3", isolation_level=None)
    holder.execute("PRAGMA journal_mode = DELETE")  # a rollback journal: writers block readers
    holder.execute("BEGIN EXCLUSIVE")
    try:
        result = CliRunner().invoke(cli, ["history"], env={"VOICE_GUIDE_HOME": str(home)})
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert result.exit_code == 1
    assert "locked by another program" in result.stderr
    assert "Traceback" not in result.output


_KILLED_MID_SESSION = """
import os, signal, sys
from pathlib import Path
from voice_guide.store import Store
store = Store(Path(sys.argv[1]))
sid = store.start_session("back", "Back massage", "Anna", 1000.0)
for n in range(200):
    store.checkpoint(sid, {"index": n}, float(n))
os.kill(os.getpid(), signal.SIGKILL)  # no close(), no atexit: the WAL is all there is
"""


def test_checkpoints_survive_a_killed_process(db: Path) -> None:
    db.parent.mkdir(parents=True)
    killed = subprocess.run([sys.executable, "-c", _KILLED_MID_SESSION, str(db)], check=False)
    assert killed.returncode == -9
    assert db.with_name(db.name + "-wal").stat().st_size > 0
    with Store(db) as store:
        assert store.notice is None
        point = store.unfinished("back", "Anna")
    assert point is not None and point.state == {"index": 199} and point.session_time == 199.0


# -- run --resume, history and text mode, through the real CLI ---------------------------

TWO_STEPS = """\
title: {title}
steps:
  - id: first
    say: Rest your hands on the shoulders.
    duration: 20m
  - id: second
    say: Now the upper arms.
    duration: 20m
"""


def _routine(folder: Path, name: str, title: str) -> Path:
    path = folder / f"{name}.yaml"
    path.write_text(TWO_STEPS.format(title=title), encoding="utf-8")
    return path


def _typed(*args: str, stdin: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(cli, ["run", "--keyboard", "--text", *args], input=stdin, env=env)


def test_text_mode_says_what_it_heard_without_bare_markers(home: Path) -> None:
    routine = _routine(home, "arms", "Arms")
    result = _typed(str(routine), stdin="a little lighter\nbanana\nnext\nend session\nyes\n")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "heard: lighter ('a little lighter')\n" in out
    assert "not a command: 'banana' (type help to see what you can say)\n" in out
    assert "heard: next\n" in out and "heard: end ('end session')\n" in out
    assert "(step)" not in out and "(heard)" not in out and "(end)" not in out
    assert "> " not in out  # the prompt is for a terminal only
    assert out.index("heard: next") < out.index("Now the upper arms.")


def test_end_of_input_saves_exits_0_and_resume_continues(home: Path) -> None:
    routine = _routine(home, "arms", "Arms")
    first = _typed(str(routine), stdin="next\n")  # then the input ends (Ctrl-D)
    assert first.exit_code == 0, first.output
    assert (
        first.stderr.splitlines()[-1] == "Session saved. Continue it with: voice-guide run --resume"
    )
    with Store() as store:
        (record,) = store.history()
        point = store.unfinished()
    assert (record.status, record.steps_done, record.steps_total) == ("interrupted", 1, 2)
    assert point is not None and point.state is not None and point.state["index"] == 1

    second = _typed("--resume", stdin="end session\nyes\n")
    assert second.exit_code == 0, second.output
    lines = second.stdout.splitlines()
    assert lines[0].endswith("] Welcome back. Second. About 20 minutes left.")
    assert lines[1].endswith("] Now the upper arms.")  # the instruction, briefly again
    with Store() as store:
        (record,) = store.history()
    assert record.status == "ended early" and record.steps_done == 1


def test_resume_clock_continues_where_it_stopped(home: Path) -> None:
    routine = _routine(home, "arms", "Arms")
    with Store() as store:
        sid = store.start_session(str(routine), "Arms", None, 1000.0)
        state = {"phase": "running", "index": 1, "anchor_time": 0.0, "anchor_elapsed": 60.0}
        store.checkpoint(sid, state, 754.0)
    result = _typed("--resume", stdin="end session\nyes\n")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(
        "[12:34] Welcome back. Second. About 19 minutes left.\n[12:34] Now the upper arms.\n"
    )


def test_resume_without_a_routine_finds_any_routine_and_names_the_others(home: Path) -> None:
    arms, legs = _routine(home, "arms", "Arms"), _routine(home, "legs", "Legs")
    with Store() as store:
        for path, title, started in ((arms, "Arms", 1000.0), (legs, "Legs", 2000.0)):
            sid = store.start_session(str(path), title, None, started)
            store.checkpoint(
                sid, {"phase": "running", "index": 0, "anchor_time": 0, "anchor_elapsed": 0}, 9
            )
    result = _typed("--resume", stdin="end session\nyes\n" * 2)  # to the closing, then out
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("[00:09] Welcome back. First.")
    (note,) = [line for line in result.stderr.splitlines() if "also interrupted" in line]
    assert note.startswith("voice-guide: also interrupted: Arms (")
    assert note.endswith(f"); continue it with: voice-guide run {arms} --resume")
    with Store() as store:
        assert [r.status for r in store.history()] == ["ended early", "interrupted"]
    second = _typed(str(arms), "--resume", stdin="end session\nyes\n" * 2)
    assert second.exit_code == 0 and "Welcome back. First." in second.stdout
    nothing = _typed("--resume", stdin="")
    assert nothing.exit_code == 1
    assert nothing.stderr == "voice-guide: there is no interrupted session to resume.\n"


def test_history_counts_a_step_repeated_by_go_back_once(home: Path) -> None:
    routine = _routine(home, "arms", "Arms")
    result = _typed(str(routine), stdin="next\ngo back\nnext\ngo back\nnext\nend session\nyes\n")
    assert result.exit_code == 0, result.output
    with Store() as store:
        (record,) = store.history()
    assert (record.steps_done, record.steps_total, record.status) == (1, 2, "ended early")
    table = CliRunner().invoke(cli, ["history"])
    assert " 1/2 " in table.stdout


def test_hints_name_the_command_as_it_was_started(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from voice_guide.cli import hints

    routine = _routine(home, "arms", "Arms")
    launched = _typed(str(routine), stdin="", env={"VOICE_GUIDE_LAUNCHER": "scripts/run"})
    assert (
        launched.stderr.splitlines()[-1] == "Session saved. Continue it with: scripts/run --resume"
    )
    monkeypatch.setattr(sys, "argv", [".venv/bin/voice-guide"])
    monkeypatch.setenv("PATH", "/nonexistent")
    assert hints.command("run", "--resume") == ".venv/bin/voice-guide run --resume"
    monkeypatch.setattr(sys, "argv", ["/x/voice_guide/__main__.py"])
    assert hints.command("history") == f"{sys.executable} -m voice_guide history"
    monkeypatch.setenv("VOICE_GUIDE_LAUNCHER", "./scripts/run")
    assert hints.command("run", "my routine", "--resume") == "./scripts/run 'my routine' --resume"
    assert hints.command("models", "list") == f"{sys.executable} -m voice_guide models list"


def test_history_of_a_killed_session_shows_the_steps_its_checkpoint_had_done(home: Path) -> None:
    with Store() as store:
        sid = store.start_session("back", "Back massage", None, 1_790_000_000.0)
        state = {"phase": "running", "index": 3, "done": ["a", "b", "b", "c"]}
        store.checkpoint(sid, state, 95.0)
    line = CliRunner().invoke(cli, ["history"]).stdout.splitlines()[1]
    assert " 1:35 " in line and " 3/? " in line and line.endswith("interrupted")


def test_resumable_lists_the_latest_interrupted_session_of_each_routine(db: Path) -> None:
    with Store(db) as store:
        old_back = store.start_session("back", "Back massage", "Anna", 1000.0)
        store.checkpoint(old_back, {"n": 1}, 1.0)
        back = store.start_session("back", "Back massage", "Anna", 2000.0)
        store.checkpoint(back, {"n": 2}, 2.0)
        feet = store.start_session("feet", "Foot massage", "Bob", 3000.0)
        store.checkpoint(feet, {"n": 3}, 3.0)
        done = store.start_session("neck", "Neck", "Anna", 4000.0)
        store.checkpoint(done, {"n": 4}, 4.0)
        store.finish(done, SUMMARY)
        assert [p.session_id for p in store.resumable()] == [feet, back]
        assert [p.session_id for p in store.resumable("anna")] == [back]
        assert store.resumable("nobody") == []


def test_claim_is_one_writer_per_session_and_released_on_exit(db: Path) -> None:
    with Store(db) as store:
        sid = store.start_session("back", "Back massage", None, 1000.0)
        with store.claim(sid):
            lock = db.parent / "locks" / f"session-{sid}.lock"
            assert lock.read_text() == str(os.getpid())
            other = subprocess.run(
                [sys.executable, "-c", _CLAIM, str(db), str(sid)], capture_output=True, text=True
            )
            assert other.stdout.strip() == (
                f"Session {sid} is already running in another voice-guide (process "
                f"{os.getpid()}); end that one first (only one can write a session, or its "
                "changes would be lost)."
            )
            with store.claim(sid + 1):  # another session is not held by this one
                pass
        again = subprocess.run(
            [sys.executable, "-c", _CLAIM, str(db), str(sid)], capture_output=True, text=True
        )
        assert again.stdout.strip() == "claimed"


_CLAIM = """
import sys
from pathlib import Path
from voice_guide.store import SessionBusy, Store
with Store(Path(sys.argv[1])) as store:
    try:
        with store.claim(int(sys.argv[2])):
            print("claimed")
    except SessionBusy as error:
        print(error)
"""
