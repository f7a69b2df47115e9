"""Fetching and installing Vosk models: a resumable HTTP download with a progress bar, a size and
SHA-256 check against the manifest shipped in the package, and an atomic extraction that
refuses hostile archives.

The order of operations is what keeps a half model from ever being loaded: the archive is
downloaded to `<models>/.downloads/NAME.zip.part` (never past its expected size, with stall
and total timeouts), checked, extracted into a hidden temporary directory beside the target,
checked again, given its marker file last, and only then renamed into place, or exchanged
with the model it replaces (one atomic rename or exchange on the same filesystem). One
install runs at a time per models folder, and it first removes what killed installs left.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import hashlib
import json
import os
import re
import shutil
import stat
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.client import HTTPException
from pathlib import Path, PurePosixPath
from typing import IO, Protocol
from urllib.error import HTTPError, URLError
from urllib.request import Request, urlopen

from voice_guide import __version__, paths
from voice_guide.errors import VoiceGuideError
from voice_guide.files import check_writable_target, exclusive_lock
from voice_guide.speech_in.models import (
    MARKER_NAME,
    InstalledModel,
    installed_models,
    manifest_entry,
    missing_model_files,
    tree_digest,
)

__all__ = [
    "ENV_URL",
    "BadArchive",
    "DownloadInterrupted",
    "DownloadLimits",
    "DownloadStalled",
    "IntegrityError",
    "ModelError",
    "ModelSource",
    "Progress",
    "StderrProgress",
    "UnsafeArchive",
    "check_archive",
    "download",
    "extract_model",
    "install_model",
    "installing",
    "resolve_source",
]

# Moves every download to a mirror (a base URL, or the full URL of one .zip). Tests point it
# at a server on 127.0.0.1; users behind a proxy or offline mirror use it too.
ENV_URL = "VOICE_GUIDE_MODEL_URL"
OFFICIAL_BASE_URL = "https://alphacephei.com/vosk/models"

# Zip-bomb guards. The largest Vosk models unpack to a few GB, and Kaldi files compress
# about 1.5:1, so these only stop archives that no real model resembles.
MAX_UNPACKED_BYTES = 8 * 1024**3
MAX_COMPRESSION_RATIO = 50
MAX_MEMBERS = 20_000

# Download guards: a server that trickles (a byte every few seconds never trips a socket
# timeout) or sends forever must not hang the command or fill the disk.
STALL_TIMEOUT = 30.0
"""Seconds over which less than STALL_MIN_RATE arriving counts as a stalled download."""
STALL_MIN_RATE = 1024
"""Bytes per second below which a download is stalled."""
TOTAL_TIMEOUT = 3600.0
"""Seconds a whole download (all attempts) may take."""
MAX_DOWNLOAD_BYTES = 4 * 1024**3
"""The most an archive of unknown size may be (the largest Vosk archives are about 2 GB)."""

_CHUNK = 64 * 1024
_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")


class ModelError(VoiceGuideError):
    """A model could not be fetched or installed; the message says why and what to do."""


class IntegrityError(ModelError):
    """The downloaded archive is not the one the manifest (or --sha256) describes."""


class DownloadInterrupted(ModelError):
    """The connection kept dropping; the partial file is kept so a rerun resumes it."""


class DownloadStalled(DownloadInterrupted):
    """Too little arrived for too long, or the whole download took too long."""


class _Stalled(Exception):
    """One attempt made too little progress (internal: the caller retries or gives up)."""


class BadArchive(ModelError):
    """The archive is not a usable model; it is deleted so the next run fetches it again."""


class UnsafeArchive(BadArchive):
    """The archive has members that would land outside the model directory, or is a bomb."""


class Progress(Protocol):
    """Receives download progress: bytes so far and the total (None when unknown)."""

    def __call__(self, done: int, total: int | None) -> None: ...


class StderrProgress:
    """A progress bar on stderr: redrawn in place on a terminal, one line per 10 % otherwise
    (so logs and captured output stay readable)."""

    def __init__(self, label: str, stream: IO[str] | None = None, width: int = 30) -> None:
        self._label = label
        self._stream = stream if stream is not None else sys.stderr
        self._width = width
        self._tty = self._stream.isatty()
        self._started = time.monotonic()
        self._last_step = -1
        self._last_draw = 0.0

    def __call__(self, done: int, total: int | None) -> None:
        now = time.monotonic()
        rate = done / max(now - self._started, 1e-6) / 1e6
        if total:
            fraction = min(done / total, 1.0)
            step = int(fraction * 10)
            filled = int(fraction * self._width)
            bar = "#" * filled + "." * (self._width - filled)
            line = (
                f"{self._label} [{bar}] {fraction:4.0%} "
                f"{done / 1e6:.1f}/{total / 1e6:.1f} MB {rate:.1f} MB/s"
            )
        else:
            step = done // (5 * 1024 * 1024)
            line = f"{self._label} {done / 1e6:.1f} MB {rate:.1f} MB/s"
        finished = bool(total) and done >= (total or 0)
        if self._tty:
            # Redraw at most ten times a second: terminals are slow.
            if finished or now - self._last_draw >= 0.1:
                self._stream.write("\r" + line + ("\n" if finished else ""))
                self._stream.flush()
                self._last_draw = now
        elif step != self._last_step:
            self._stream.write(line + "\n")
            self._stream.flush()
        self._last_step = step


@dataclass(frozen=True)
class ModelSource:
    """Where to fetch one model and what the archive must be (None: not checked)."""

    name: str
    language: str
    url: str
    size: int | None
    sha256: str | None


def _infer_language(name: str) -> str | None:
    """The language in a Vosk model name: vosk-model-small-de-0.15 -> 'de'."""
    match = re.match(r"^vosk-model-(?:small-)?([a-z]{2,3})(?:-|$)", name)
    if match is None:
        return None
    return {"cn": "zh", "vn": "vi"}.get(match.group(1), match.group(1))


def resolve_source(
    name: str,
    *,
    base_url: str | None = None,
    language: str | None = None,
    sha256: str | None = None,
    no_verify: bool = False,
) -> ModelSource:
    """Decide URL, language and expected size/checksum for model `name`.

    `base_url` (else $VOICE_GUIDE_MODEL_URL) replaces the download location: a URL ending
    in .zip is used as is, anything else is a directory holding NAME.zip. A model missing
    from the manifest, or one with no recorded checksum, is only fetched with `sha256` given
    (from a source the user trusts) or with `no_verify`.
    """
    name = name.removesuffix(".zip")
    if not _SAFE_NAME.fullmatch(name):
        raise ModelError(f"{name!r} is not a model name (letters, digits, '.', '_' and '-' only).")
    entry = manifest_entry(name)
    base = base_url or os.environ.get(ENV_URL)
    if base:
        url = base if base.endswith(".zip") else f"{base.rstrip('/')}/{name}.zip"
    else:
        url = entry.url if entry else f"{OFFICIAL_BASE_URL}/{name}.zip"
    lang = language or (entry.language if entry else None) or _infer_language(name)
    if lang is None:
        raise ModelError(f"cannot tell the language of {name}; pass --language (e.g. en, de).")
    if no_verify:
        return ModelSource(name, lang, url, None, None)
    if sha256 is not None:
        sha256 = sha256.lower()
        if not re.fullmatch(r"[0-9a-f]{64}", sha256):
            raise ModelError("--sha256 needs 64 hexadecimal digits.")
        # The recorded size only applies to the archive the recorded checksum describes.
        size = entry.size if entry and entry.sha256 == sha256 else None
        return ModelSource(name, lang, url, size, sha256)
    if entry is None or entry.sha256 is None:
        why = "is not in the manifest" if entry is None else "has no recorded checksum"
        raise ModelError(
            f"{name} {why}, so its download cannot be checked; pass --sha256 HEX from a source "
            "you trust, or --no-verify to install it unchecked."
        )
    return ModelSource(name, lang, url, entry.size, entry.sha256)


@dataclass(frozen=True)
class DownloadLimits:
    """How long a download may stall or take, and how large it may grow."""

    stall_timeout: float = STALL_TIMEOUT
    """Seconds: a connection silent this long, or bringing less than STALL_MIN_RATE bytes/s
    over this long, has stalled (then retried with a range request, like a dropped one)."""
    total_timeout: float = TOTAL_TIMEOUT
    """Seconds for the whole download, every retry included."""
    max_bytes: int = MAX_DOWNLOAD_BYTES
    """The cap when neither the manifest nor the server says how large the archive is."""


def _open(url: str, offset: int, timeout: float):
    """Open `url`, asking for the bytes from `offset` on when resuming."""
    headers = {"User-Agent": f"voice-guide/{__version__}"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    return urlopen(Request(url, headers=headers), timeout=timeout)


def download(
    source: ModelSource,
    part: Path,
    *,
    progress: Progress | None = None,
    attempts: int = 4,
    retry_wait: float = 1.0,
    limits: DownloadLimits = DownloadLimits(),
) -> Path:
    """Download `source.url` into `part`, resuming what an earlier run left there.

    A dropped or stalled connection is retried (resuming with an HTTP Range request when
    the server supports it, restarting otherwise) up to `attempts` times; after that the
    partial file stays for the next run and DownloadInterrupted (DownloadStalled when it
    was too slow) is raised. Never more than the expected size is written: the manifest's
    size, else the server's, else `limits.max_bytes`; a server sending more is refused.
    """
    part.parent.mkdir(parents=True, exist_ok=True)
    check_writable_target(part)
    deadline = time.monotonic() + limits.total_timeout
    total: int | None = source.size
    stalled = False
    for attempt in range(attempts):
        if attempt:
            time.sleep(min(retry_wait * attempt, max(0.0, deadline - time.monotonic())))
        if time.monotonic() >= deadline:
            stalled = True
            break
        have = part.stat().st_size if part.exists() else 0
        if source.size is not None and have >= source.size:
            if have == source.size:
                return part
            part.unlink()  # longer than the archive can be: not ours, start again
            have = 0
        try:
            response = _open(source.url, have, limits.stall_timeout)
        except HTTPError as error:
            if error.code == 416 and have:
                # The server cannot serve our offset (the file changed?): start again.
                part.unlink()
                continue
            raise ModelError(
                f"{source.url} answered HTTP {error.code} {error.reason}; check the model name "
                f"or the mirror (--url / ${ENV_URL})."
            ) from None
        except (URLError, OSError, HTTPException) as error:
            reason = getattr(error, "reason", error)
            if isinstance(reason, TimeoutError):
                stalled = True
                continue  # connected but silent: like a stall
            raise ModelError(
                f"could not reach {source.url} ({reason}); check the connection, or point "
                f"--url / ${ENV_URL} at a mirror."
            ) from None
        with response:
            offset = 0
            if response.status == 206:
                match = _CONTENT_RANGE.match(response.headers.get("Content-Range", ""))
                if match is None or int(match.group(1)) != have:
                    part.unlink()  # a range we did not ask for: restart cleanly
                    continue
                offset = have
                if match.group(3) != "*":
                    total = int(match.group(3))
            else:
                length = response.headers.get("Content-Length")
                total = int(length) if length and length.isdigit() else source.size
            if source.size is not None and total is not None and total != source.size:
                raise IntegrityError(
                    f"{source.url} offers {total} bytes but {source.name} is recorded as "
                    f"{source.size} bytes; pass --sha256 HEX for the new file or --no-verify "
                    "if you trust this server."
                )
            cap = source.size or total or limits.max_bytes
            # Append when resuming, truncate when the server sent the whole file again.
            # Disk errors propagate; only network errors count as a dropped connection.
            check_writable_target(part)  # never write through a link planted there
            with part.open("ab" if offset else "wb") as out:
                try:
                    done = _copy_body(response, out, offset, total, cap, progress, limits, deadline)
                    stalled = False
                except _Stalled:
                    stalled = True
                    continue
        if done > cap:
            part.unlink()
            raise IntegrityError(
                f"{source.url} sent more than the {cap:,} bytes {source.name}.zip can be; "
                "nothing was kept. Check the mirror (--url / $VOICE_GUIDE_MODEL_URL)."
            )
        # http.client returns a short body without error when the server hangs up early.
        if total is None or done >= total:
            return part
    have = part.stat().st_size if part.exists() else 0
    of_total = f" of {total}" if total else ""
    if stalled:
        raise DownloadStalled(
            f"the download of {source.name} stalled (less than {STALL_MIN_RATE} bytes/s for "
            f"{limits.stall_timeout:g} s, or longer than {limits.total_timeout:g} s in all; "
            f"{have}{of_total} bytes so far, kept in {part}); run the same command again to "
            "resume."
        )
    raise DownloadInterrupted(
        f"the download of {source.name} kept breaking off ({have}{of_total} bytes so far, "
        f"kept in {part}); run the same command again to resume."
    )


def _copy_body(
    response,
    out: IO[bytes],
    done: int,
    total: int | None,
    cap: int,
    progress: Progress | None,
    limits: DownloadLimits,
    deadline: float,
) -> int:
    """Copy the response body to `out` until it ends, the connection drops or more than
    `cap` bytes would be reached (one byte past it is counted, never written); return the
    position reached. Raises _Stalled when too little arrives for too long."""
    if progress:
        progress(done, total)
    window_start, window_bytes = time.monotonic(), 0
    while True:
        try:
            # read1: whatever has arrived (read(n) would wait for all n bytes of a trickle).
            block = response.read1(_CHUNK)
        except TimeoutError:
            raise _Stalled from None
        except (OSError, HTTPException):
            return done  # connection dropped mid-stream: the caller resumes from here
        if not block:
            return done
        if done + len(block) > cap:
            out.write(block[: cap - done])
            return cap + 1
        out.write(block)
        done += len(block)
        if progress:
            progress(done, total)
        now = time.monotonic()
        window_bytes += len(block)
        if now >= deadline:
            raise _Stalled
        if now - window_start >= limits.stall_timeout:
            if window_bytes < STALL_MIN_RATE * limits.stall_timeout:
                raise _Stalled
            window_start, window_bytes = now, 0


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_archive(archive: Path, source: ModelSource) -> str:
    """Check the archive's size and SHA-256 against `source`; return its SHA-256.

    On a mismatch the file is deleted (a resumed download may have glued two different
    files together) and IntegrityError names both values and the way to override.
    """
    size = archive.stat().st_size
    actual = _sha256_of(archive)
    size_bad = source.size is not None and size != source.size
    sha_bad = source.sha256 is not None and actual != source.sha256
    if size_bad or sha_bad:
        archive.unlink()
        # Only what was checked is named as expected (a --sha256 archive has no known size).
        expected = [f"{source.size} bytes"] if source.size is not None else []
        expected += [f"SHA-256 {source.sha256}"] if source.sha256 is not None else []
        raise IntegrityError(
            f"{source.name}.zip failed its integrity check: expected {', '.join(expected)}; "
            f"got {size} bytes, SHA-256 {actual}. The file was "
            f"deleted. If you trust the new file, rerun with --sha256 {actual} "
            "(or --no-verify to skip the check)."
        )
    return actual


def _member_path(info: zipfile.ZipInfo) -> PurePosixPath | None:
    """The relative path a member may be extracted to, or None for a directory entry.

    Raises UnsafeArchive for absolute paths, drive letters, '..' and symbolic links.
    """
    raw = info.filename.replace("\\", "/")
    if raw.startswith("/") or re.match(r"^[A-Za-z]:", raw):
        raise UnsafeArchive(f"archive member {info.filename!r} has an absolute path; refused.")
    parts = [p for p in raw.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise UnsafeArchive(f"archive member {info.filename!r} points outside the model; refused.")
    if stat.S_ISLNK(info.external_attr >> 16):
        raise UnsafeArchive(f"archive member {info.filename!r} is a symbolic link; refused.")
    if info.is_dir() or not parts:
        return None
    return PurePosixPath(*parts)


def _plan(zf: zipfile.ZipFile, archive_bytes: int, max_unpacked: int):
    """Check every member before anything is written; return [(info, relative path)]."""
    infos = zf.infolist()
    if len(infos) > MAX_MEMBERS:
        raise UnsafeArchive(f"archive has {len(infos)} members (limit {MAX_MEMBERS}); refused.")
    files = [(info, rel) for info in infos if (rel := _member_path(info)) is not None]
    declared = sum(info.file_size for info, _ in files)
    if declared > max_unpacked:
        raise UnsafeArchive(
            f"archive would unpack to {declared} bytes (limit {max_unpacked}); refused."
        )
    if declared > MAX_COMPRESSION_RATIO * max(archive_bytes, 1):
        raise UnsafeArchive(
            f"archive would unpack to {declared} bytes from {archive_bytes} "
            f"(over {MAX_COMPRESSION_RATIO}:1, a zip bomb); refused."
        )
    # Vosk archives hold one top-level directory named after the model: drop it.
    tops = {rel.parts[0] for _, rel in files}
    if len(tops) == 1 and all(len(rel.parts) > 1 for _, rel in files):
        files = [(info, PurePosixPath(*rel.parts[1:])) for info, rel in files]
    return files, declared


def extract_model(
    archive: Path,
    name: str,
    language: str,
    *,
    models_dir: Path | None = None,
    source_url: str = "",
    verified: bool = True,
    max_unpacked: int = MAX_UNPACKED_BYTES,
) -> InstalledModel:
    """Unpack a model archive into `<models_dir>/<name>` atomically; return the installed model.

    Nothing appears under the final name until the tree is complete, checked and marked;
    an existing model of that name is exchanged for it in one atomic step (no instant
    without a model there).
    """
    if not _SAFE_NAME.fullmatch(name):
        raise ModelError(f"{name!r} is not a model name (letters, digits, '.', '_' and '-' only).")
    root = models_dir if models_dir is not None else paths.models_dir()
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as error:
        raise BadArchive(f"{archive.name} is not a readable zip archive ({error}).") from None
    # The temporary tree lives beside the target (same filesystem, so the rename is atomic)
    # under a hidden name that installed_models() never considers.
    try:
        root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{name}-", dir=root))
    except OSError as error:
        zf.close()
        raise ModelError(f"cannot create a folder in {root} ({error.strerror}).") from None
    try:
        with zf:
            files, declared = _plan(zf, archive.stat().st_size, max_unpacked)
            free = shutil.disk_usage(root).free
            if declared > free:
                raise ModelError(
                    f"{name} needs {declared / 1e6:.0f} MB but only {free / 1e6:.0f} MB are "
                    f"free in {root}; free some space or set VOICE_GUIDE_HOME elsewhere."
                )
            for info, rel in files:
                target = tmp.joinpath(*rel.parts)
                target.parent.mkdir(parents=True, exist_ok=True)
                # zipfile stops each member at its declared size, so `declared` bounds the
                # bytes written even when the headers lie.
                with zf.open(info) as src, target.open("wb") as out:
                    shutil.copyfileobj(src, out, _CHUNK)
        missing = missing_model_files(tmp)
        if missing:
            raise BadArchive(f"{archive.name} is not a Vosk model: missing {', '.join(missing)}.")
        count, total, tree_sha = tree_digest(tmp)
        marker = {
            "name": name,
            "language": language,
            "source_url": source_url,
            "archive_sha256": _sha256_of(archive),
            "archive_checked": verified,
            "files": count,
            "installed_bytes": total,
            "tree_sha256": tree_sha,
            "installed_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        _write_marker_last(tmp, marker)
        final = root / name
        if final.exists():
            # One atomic exchange: at every instant `final` is the old model or the new one.
            _exchange(tmp, final)  # `tmp` now holds the old model, removed below
        else:
            tmp.rename(final)
    except zipfile.BadZipFile as error:
        raise BadArchive(f"{archive.name} is damaged ({error}).") from None
    except OSError as error:
        raise ModelError(f"could not unpack {name} into {root}: {error}.") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return InstalledModel(name=name, language=language, path=final, installed_bytes=total)


_RENAME_EXCHANGE = 2  # linux/fs.h
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> None:
    """Swap two paths atomically (Linux renameat2 with RENAME_EXCHANGE)."""
    libc = ctypes.CDLL(None, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:
        raise OSError(errno.ENOSYS, "this system cannot swap folders atomically (renameat2)")
    result = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if result != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code), str(b))


@contextmanager
def installing(root: Path) -> Iterator[None]:
    """Be the only process installing into `root` while the block runs (or ModelError at
    once), and first remove what killed installs left behind: `.tmp-*` and `.old-*` trees
    (nobody else can be writing them while we hold the lock)."""
    lock = contextlib.ExitStack()
    try:
        root.mkdir(parents=True, exist_ok=True)
        lock.enter_context(exclusive_lock(root / ".install.lock"))
    except BlockingIOError:
        raise ModelError(
            f"another voice-guide is installing a model into {root}; wait for it to finish "
            "and try again."
        ) from None
    except OSError as error:
        raise ModelError(
            f"cannot create a folder in {root} ({error.strerror}); check the permissions there, "
            "or set VOICE_GUIDE_HOME to another folder."
        ) from None
    with lock:
        for stale in [*root.glob(".tmp-*"), *root.glob(".old-*")]:
            if stale.is_dir() and not stale.is_symlink():
                shutil.rmtree(stale, ignore_errors=True)
        yield


def _write_marker_last(model_dir: Path, marker: dict) -> None:
    """Write the marker through a temporary name, flushed to disk, so it is whole or absent."""
    pending = model_dir / (MARKER_NAME + ".tmp")
    with pending.open("w", encoding="utf-8") as handle:
        json.dump(marker, handle, indent=2)
        handle.flush()
        os.fsync(handle.fileno())
    pending.rename(model_dir / MARKER_NAME)


def install_model(
    source: ModelSource,
    *,
    force: bool = False,
    progress: Progress | None = None,
    models_dir: Path | None = None,
    retry_wait: float = 1.0,
    max_unpacked: int = MAX_UNPACKED_BYTES,
    on_status: Callable[[str], None] | None = None,
    limits: DownloadLimits = DownloadLimits(),
) -> InstalledModel:
    """Download, check and install one model; an installed copy is kept unless `force`.

    One install at a time per models folder (a second gets ModelError at once); trees that
    killed installs left behind are removed first."""
    root = models_dir if models_dir is not None else paths.models_dir()
    with installing(root):
        return _install(source, root, force, progress, retry_wait, max_unpacked, on_status, limits)


def _install(
    source: ModelSource,
    root: Path,
    force: bool,
    progress: Progress | None,
    retry_wait: float,
    max_unpacked: int,
    on_status: Callable[[str], None] | None,
    limits: DownloadLimits,
) -> InstalledModel:
    existing = next((m for m in installed_models(root) if m.name == source.name), None)
    if existing is not None and not force:
        if on_status:
            on_status(f"{source.name} is already installed (--force downloads it again)")
        return existing
    if on_status:
        on_status(f"downloading {source.url}")
    part = root / ".downloads" / f"{source.name}.zip.part"
    try:
        if on_status and part.exists():
            on_status(f"resuming {part.name} ({part.stat().st_size} bytes already here)")
        download(source, part, progress=progress, retry_wait=retry_wait, limits=limits)
        if on_status and (source.size or source.sha256):
            on_status("checking size and SHA-256")
        check_archive(part, source)
        if on_status:
            on_status(f"unpacking into {root / source.name}")
        try:
            model = extract_model(
                part,
                source.name,
                source.language,
                models_dir=root,
                source_url=source.url,
                verified=source.sha256 is not None,
                max_unpacked=max_unpacked,
            )
        except BadArchive:
            part.unlink()  # resuming would only hand back the same bad file
            raise
        part.unlink()
    except OSError as error:
        if error.errno == errno.ENOSPC:
            part.unlink(missing_ok=True)  # ours, and the space is what the user needs back
        # Disk full, no permission, ...: say where, not a traceback.
        raise ModelError(
            f"could not store {source.name} in {root} ({error.strerror or error}); check the "
            "free space and permissions there, or set VOICE_GUIDE_HOME to another folder."
        ) from None
    return model
