"""PocketSphinx's decoder in a child process of its own.

The pocketsphinx binding holds the GIL for a whole decoding (0.2-0.5 s for the two searches
of one utterance). In the session's process that starved the PortAudio callbacks, which
are Python: every time the listener decoded while the guide spoke, the guide's voice
stuttered (ALSA underruns) and the microphone lost blocks, so the echo the self-voice gate
compares against no longer lined up with what the microphone heard, and the guide obeyed
its own voice. In a child process the session only waits on a pipe, which releases the
GIL: the audio callbacks keep running while the child decodes.

The child is `python -m voice_guide.speech_in.sphinx_process`: its stdin and stdout carry
pickled messages (both ends are this module), its stderr is the parent's. It exits when the
pipe closes, so it never outlives the session, however the session ends.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import weakref
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from voice_guide.speech_in.recognizer import RecognizerError

__all__ = ["DecoderProcess", "DecoderSetup", "Segment"]

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
            [sys.executable, "-m", __name__],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            close_fds=True,
            env=_same_package_env(),
        )
        assert child.stdin is not None and child.stdout is not None
        self._child = child
        self._send = Connection(os.dup(child.stdin.fileno()), readable=False)
        self._receive = Connection(os.dup(child.stdout.fileno()), writable=False)
        child.stdin.close()
        child.stdout.close()
        self._finalizer = weakref.finalize(self, _stop, child, self._send, self._receive)
        self._call(self._setup)

    def decode(self, search: str, pcm: bytes) -> list[Segment]:
        """The segments of one whole-utterance decoding of 16 kHz int16 `pcm` with `search`.
        A child that died is started again, and this utterance raises RecognizerError."""
        try:
            return self._call((search, pcm))
        except RecognizerError as error:
            self.close()
            self._start()
            raise RecognizerError(f"{error}; it was started again") from error

    def close(self) -> None:
        """End the child (it exits when its pipe closes); safe to call twice."""
        self._finalizer()

    def _call(self, message: object) -> list[Segment]:
        try:
            self._send.send(message)
            kind, value, cpu = self._receive.recv()
        except (EOFError, OSError) as error:
            code = self._child.poll() if self._child is not None else None
            raise RecognizerError(
                f"the PocketSphinx decoder process ended (exit code {code}, {error!r})"
            ) from error
        if kind == "error":
            raise RecognizerError(f"PocketSphinx failed: {value}")
        self.cpu_seconds += cpu
        return value


def _same_package_env() -> dict[str, str]:
    """This environment, with the directory this voice_guide was imported from first on the
    child's path: a script run from a checkout (sys.path changed, nothing installed, or
    another copy installed) must not start a child of another version."""
    import voice_guide

    root = str(Path(voice_guide.__file__).resolve().parent.parent)
    path = [root, *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(path)}


def _stop(child: subprocess.Popen[bytes], *connections: Connection) -> None:
    for connection in connections:
        connection.close()
    try:
        child.wait(timeout=5)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()


def _build(setup: DecoderSetup) -> Any:
    """The pocketsphinx Decoder with both searches (imported here: only the child needs it)."""
    from pocketsphinx import Decoder

    with tempfile.TemporaryDirectory() as tmp:
        lexicon = Path(tmp) / "words.dict"
        lexicon.write_text(setup.lexicon, encoding="utf-8")
        word_lm = Path(tmp) / "words.arpa"
        word_lm.write_text(setup.word_lm, encoding="utf-8")
        decoder = Decoder(
            hmm=setup.hmm,
            dict=str(lexicon),
            lm=None,
            bestpath=False,
            dither=True,
            seed=1,  # dither is random: fixed seed, reproducible results
            logfn=os.devnull,
        )
        decoder.add_jsgf_string("commands", setup.grammar)
        decoder.add_lm_file("words", str(word_lm))
    return decoder


def _decode(decoder: Any, search: str, pcm: bytes) -> list[Segment]:
    decoder.activate_search(search)
    decoder.start_utt()
    decoder.process_raw(pcm, False, True)
    decoder.end_utt()
    # seg() is None when the search found no path at all (e.g. a long echo of speech).
    segments = decoder.seg() or []
    return [(s.word, s.start_frame, s.end_frame, s.ascore) for s in segments]


def _serve(receive: Connection, send: Connection) -> None:
    """The child's loop: the setup first, then (search, pcm) requests until the pipe closes."""
    decoder = None
    while True:
        try:
            message = receive.recv()
        except EOFError:
            return
        started = time.process_time()
        try:
            if decoder is None:
                decoder = _build(message)
                segments = []
            else:
                segments = _decode(decoder, *message)
        except Exception as error:  # reported to the parent, which raises RecognizerError
            send.send(("error", f"{type(error).__name__}: {error}", 0.0))
        else:
            send.send(("ok", segments, time.process_time() - started))


if __name__ == "__main__":
    # Messages go out on the original stdout; anything else written to fd 1 goes to stderr.
    out = os.dup(1)
    os.dup2(2, 1)
    _serve(Connection(os.dup(0), writable=False), Connection(out, readable=False))
