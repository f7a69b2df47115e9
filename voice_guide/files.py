"""Safe file primitives: every file voice-guide reads or writes for the user goes through here.

Reading opens a path only if it is a regular file (a FIFO would block `open()` or `read()`
forever, a device node can be endless). Writing never touches the target until the new
content is complete: it goes to a temporary file in the same folder, is flushed to disk and
renamed over the target in one step, and on any failure (an exception, Ctrl-C) only that
temporary file is removed. A target that exists and is not a regular file (a device node, a
FIFO, a folder) or is a symbolic link is refused before anything is written: voice-guide
never deletes a path it did not create and never writes through a link it did not make.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import signal
import stat
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Literal

__all__ = [
    "NotARegularFile",
    "SymlinkRefused",
    "append_regular",
    "atomic_write",
    "check_writable_target",
    "exclusive_lock",
    "open_regular",
]

_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


class NotARegularFile(OSError):
    """The path exists but is a FIFO, a device, a socket or a folder; `strerror` says which."""

    def __init__(self, path: str | os.PathLike[str], mode: int) -> None:
        super().__init__(errno.EINVAL, f"it is {_kind(mode)}, not a regular file", str(path))


class SymlinkRefused(OSError):
    """The target to write is a symbolic link; writing through it could land anywhere."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        super().__init__(
            errno.ELOOP, "it is a symbolic link; give the real path instead", str(path)
        )


def open_regular(path: str | os.PathLike[str], mode: Literal["rb", "r"] = "rb") -> IO:
    """Open `path` for reading, refusing anything that is not a regular file.

    Opened non-blocking, so a FIFO with no writer cannot hang the open; then checked with
    fstat on the open descriptor (no race between the check and the use). Symbolic links are
    followed (reading through one is harmless). Raises FileNotFoundError, IsADirectoryError,
    NotARegularFile or another OSError.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        mode_bits = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode_bits):
            raise IsADirectoryError(errno.EISDIR, "it is a folder, not a file", str(path))
        if not stat.S_ISREG(mode_bits):
            raise NotARegularFile(path, mode_bits)
        os.set_blocking(fd, True)
        return os.fdopen(fd, mode, encoding="utf-8" if mode == "r" else None)
    except BaseException:
        os.close(fd)
        raise


def check_writable_target(path: str | os.PathLike[str]) -> bool:
    """Whether `path` exists (True) or not (False), raising if it must not be written:
    SymlinkRefused for a symbolic link, NotARegularFile for a FIFO, device, socket or folder,
    FileNotFoundError naming the folder when the folder to write into does not exist.
    """
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        folder = Path(path).parent
        if not folder.is_dir():
            raise FileNotFoundError(
                errno.ENOENT, f"the folder {folder} does not exist", str(path)
            ) from None
        return False
    if stat.S_ISLNK(info.st_mode):
        raise SymlinkRefused(path)
    if not stat.S_ISREG(info.st_mode):
        raise NotARegularFile(path, info.st_mode)
    return True


@contextlib.contextmanager
def exclusive_lock(path: str | os.PathLike[str]) -> Iterator[int]:
    """Hold an exclusive `flock` on `path` (created if missing, never through a symbolic
    link) while the block runs; yields its descriptor. BlockingIOError at once if another
    process holds it. The kernel releases the lock however the process ends, so a killed
    holder never leaves it taken; the file stays (unlinking it would race a new holder)."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        yield fd
    finally:
        os.close(fd)


def _place_new(temp: Path, path: Path) -> None:
    """Give `temp` the name `path`, failing (FileExistsError) rather than replacing anything."""
    try:
        os.link(temp, path)  # fails if the name appeared meanwhile: nothing is replaced
    except OSError as error:
        if error.errno not in (errno.EPERM, errno.ENOTSUP, errno.EMLINK, errno.EXDEV):
            raise
        # A filesystem without hard links (FAT, some network mounts): check, then rename.
        if os.path.lexists(path):
            raise FileExistsError(errno.EEXIST, "it already exists", str(path)) from None
        os.rename(temp, path)
        return
    temp.unlink()


def _fsync_folder(folder: Path) -> None:
    # The rename is only durable once the folder's entry is on disk; some filesystems
    # cannot open a folder for this, which is no reason to fail the write.
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _new_file_mode() -> int:
    # mkstemp makes 0600 files; a written file should get the usual 0666 minus the umask.
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


_STOP_SIGNALS = frozenset({signal.SIGINT, signal.SIGTERM})


def _block_stop_signals() -> set[signal.Signals] | None:
    """Hold SIGINT and SIGTERM pending (in the main thread, where Python handles signals);
    returns the mask to restore."""
    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)


def _unblock(previous: set[signal.Signals] | None) -> None:
    """Restore the mask: a stop signal that arrived meanwhile is delivered now."""
    if previous is not None:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


@contextlib.contextmanager
def atomic_write(
    target: str | os.PathLike[str],
    mode: Literal["wb", "w"] = "wb",
    *,
    exclusive: bool = False,
) -> Iterator[IO]:
    """Write `target` all at once: yields a file (a temporary one in the same folder); when
    the block ends normally it is flushed, fsynced and renamed over `target`.

    On any exception (KeyboardInterrupt and SystemExit included) the temporary file is
    removed and `target` is exactly as it was. `exclusive`: fail with FileExistsError if
    `target` exists (checked again at the rename, which then never replaces anything). The
    target is refused up front if it is a symbolic link or not a regular file; an existing
    file keeps its permission bits.
    """
    path = Path(target)
    exists = check_writable_target(path)
    if exists and exclusive:
        raise FileExistsError(errno.EEXIST, "it already exists", str(path))
    permissions = stat.S_IMODE(path.stat().st_mode) if exists else _new_file_mode()
    # Ctrl-C or SIGTERM between creating the temporary file and the `try` below would leave
    # it behind: the stop signals wait until it is known (they are delivered at the unblock).
    blocked = _block_stop_signals()
    try:
        fd, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except BaseException:
        _unblock(blocked)
        raise
    temp = Path(temp_name)
    try:
        _unblock(blocked)
        with os.fdopen(fd, mode, encoding="utf-8" if mode == "w" else None) as file:
            yield file
            file.flush()
            os.fchmod(file.fileno(), permissions)
            os.fsync(file.fileno())
        if exclusive:
            _place_new(temp, path)
        else:
            check_writable_target(path)  # a link or device planted while we wrote
            os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    _fsync_folder(path.parent)


def append_regular(target: str | os.PathLike[str], *, truncate: bool) -> IO[str]:
    """Open `target` for writing text line by line (a transcript: each line must survive a
    killed process, so it cannot wait for a rename), creating it if needed.

    Refuses a symbolic link or anything but a regular file before touching it (O_NOFOLLOW,
    then fstat on the open descriptor); `truncate` empties an existing file only after
    those checks passed, otherwise lines are appended.
    """
    check_writable_target(target)
    flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    try:
        fd = os.open(target, flags, 0o666)  # the umask applies
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise SymlinkRefused(target) from None
        raise
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise NotARegularFile(target, info.st_mode)
        os.set_blocking(fd, True)
        if truncate:
            os.ftruncate(fd, 0)
        return os.fdopen(fd, "a", encoding="utf-8")
    except BaseException:
        os.close(fd)
        raise
