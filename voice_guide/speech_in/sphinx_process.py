"""PocketSphinx's decoder in a child process of its own.

The pocketsphinx binding holds the GIL for a whole decoding (0.2-0.5 s for the two searches
of one utterance). In the session's process that starved the PortAudio callbacks, which
are Python: every time the listener decoded while the guide spoke, the guide's voice
stuttered (ALSA underruns) and the microphone lost blocks, so the echo the self-voice gate
compares against no longer lined up with what the microphone heard, and the guide obeyed
its own voice. In a child process the session only waits on a pipe, which releases the
GIL: the audio callbacks keep running while the child decodes.

The child runs sphinx_worker.py, a script that imports only the standard library and
pocketsphinx (not numpy, not this package: 13 MB before the model instead of 31 MB). Its
stdin and stdout carry pickled messages of plain values, its stderr is the parent's. It
exits when the pipe closes, so it never outlives the session, however the session ends.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import weakref
from dataclasses import asdict, dataclass
from multiprocessing.connection import Connection
from pathlib import Path

from voice_guide.speech_in.recognizer import RecognizerError

__all__ = ["DecoderProcess", "DecoderSetup", "Segment", "common_words_in_child"]

WORKER = Path(__file__).with_name("sphinx_worker.py")
"""The child's script (this copy's: the parent and the child are always the same version)."""

_RUN_WORKER = (
    "import runpy, sys; sys.argv[:] = sys.argv[1:]; "
    "runpy.run_path(sys.argv[0], run_name='__main__')"
)
"""Runs the script without putting its folder (this package's modules) first on sys.path,
where a module named like a standard one would shadow it; the environment is kept as it is
(pocketsphinx may be in the user's site-packages)."""

Segment = tuple[str, int, int, int]
"""One word of a decoding: (word, first frame, last frame, acoustic score)."""


@dataclass(frozen=True)
class DecoderSetup:
    """Everything the child needs to build the decoder: model path and the texts of the
    dictionary, the command grammar (search "commands") and the word loop (search "words")."""

    hmm: str
    lexicon: str
    """Dictionary lines ("next N EH K S T")."""
    grammar: str
    """JSGF text."""
    word_lm: str
    """ARPA text of the word loop's unigram language model."""


class _ChildGone(RecognizerError):
    """The child process is gone (crashed or killed)."""


class DecoderProcess:
    """A pocketsphinx Decoder in a child process; `decode()` blocks without holding the GIL."""

    def __init__(self, setup: DecoderSetup) -> None:
        """Start the child and wait until its decoder is built (RecognizerError if it fails)."""
        self._setup = setup
        self._child: subprocess.Popen[bytes] | None = None
        self.cpu_seconds = 0.0
        """CPU the child has spent decoding so far: a benchmark adds it to its own."""
        self._start()

    @property
    def pid(self) -> int:
        """The child's process id."""
        assert self._child is not None
        return self._child.pid

    def _start(self) -> None:
        child = subprocess.Popen(
            [sys.executable, "-c", _RUN_WORKER, str(WORKER)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            close_fds=True,
        )
        assert child.stdin is not None and child.stdout is not None
        self._child = child
        self._send = Connection(os.dup(child.stdin.fileno()), readable=False)
        self._receive = Connection(os.dup(child.stdout.fileno()), writable=False)
        child.stdin.close()
        child.stdout.close()
        self._finalizer = weakref.finalize(self, _stop, child, self._send, self._receive)
        self._call(asdict(self._setup))

    def decode(self, searches: tuple[str, ...], pcm: bytes) -> list[list[Segment]]:
        """The segments of one whole-utterance decoding of 16 kHz int16 `pcm` with each of
        `searches`, in order (one round trip). A child that died is started again, and this
        utterance raises RecognizerError."""
        try:
            return self._call((searches, pcm))
        except _ChildGone as error:
            self.close()
            self._start()
            raise RecognizerError(f"{error}; it was started again") from error

    def close(self) -> None:
        """End the child (it exits when its pipe closes); safe to call twice."""
        self._finalizer()

    def _call(self, message: object) -> list[list[Segment]]:
        try:
            self._send.send(message)
            kind, value, cpu = self._receive.recv()
        except (EOFError, OSError) as error:
            code = self._child.poll() if self._child is not None else None
            raise _ChildGone(
                f"the PocketSphinx decoder process ended (exit code {code}, {error!r})"
            ) from error
        if kind == "error":
            raise RecognizerError(f"PocketSphinx failed: {value}")
        self.cpu_seconds += cpu
        return value


def common_words_in_child(lm_path: Path, dictionary: Path, count: int) -> dict[str, int]:
    """The `count` words of `dictionary` the language model finds most probable, with their
    unigram log probabilities (PocketSphinx's log base 1.0001), picked by a worker process
    that exits afterwards (the model is large and only needed for this)."""
    arguments = ["common", str(lm_path), str(dictionary), str(count)]
    done = subprocess.run(
        [sys.executable, "-c", _RUN_WORKER, str(WORKER), *arguments],
        capture_output=True,
        check=False,
        timeout=120,
    )
    if done.returncode != 0:
        lines = done.stderr.decode(errors="replace").strip().splitlines()
        raise ValueError(lines[-1] if lines else f"exit code {done.returncode}")
    return json.loads(done.stdout)


def _stop(child: subprocess.Popen[bytes], *connections: Connection) -> None:
    for connection in connections:
        connection.close()
    try:
        child.wait(timeout=5)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()
