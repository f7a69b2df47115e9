"""The PocketSphinx decoder process (started by sphinx_process.DecoderProcess; not a module to
import): it builds the decoder from the setup it is sent, then answers decoding requests.

Standard library and pocketsphinx only, so the process stays small. Messages on stdin and
stdout (multiprocessing Connections, pickled plain values):
  -> {hmm, lexicon, grammar, word_lm}      <- ("ok", [], cpu)
  -> (searches, pcm: 16 kHz int16 bytes)   <- ("ok", [[(word, first, last, ascore), ...],
                                                      ...one list per search], cpu)
  any failure                              <- ("error", "Type: message", 0.0)
cpu is the process time the request took. The loop ends when stdin closes.

`sphinx_worker.py common LM DICTIONARY COUNT` instead prints the COUNT dictionary words the
language model finds most probable, as JSON {word: log probability (base 1.0001)}, and exits.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any


def _build(setup: dict[str, str]) -> Any:
    """The pocketsphinx Decoder with both searches: "commands" (JSGF) and "words" (ARPA)."""
    from pocketsphinx import Decoder

    with tempfile.TemporaryDirectory() as tmp:
        lexicon = Path(tmp) / "words.dict"
        lexicon.write_text(setup["lexicon"], encoding="utf-8")
        word_lm = Path(tmp) / "words.arpa"
        word_lm.write_text(setup["word_lm"], encoding="utf-8")
        decoder = Decoder(
            hmm=setup["hmm"],
            dict=str(lexicon),
            lm=None,
            bestpath=False,
            dither=True,
            seed=1,  # dither is random: fixed seed, reproducible results
            logfn=os.devnull,
        )
        decoder.add_jsgf_string("commands", setup["grammar"])
        decoder.add_lm_file("words", str(word_lm))
    return decoder


def _decode(decoder: Any, search: str, pcm: bytes) -> list[tuple[str, int, int, int]]:
    decoder.activate_search(search)
    decoder.start_utt()
    decoder.process_raw(pcm, False, True)
    decoder.end_utt()
    # seg() is None when the search found no path at all (e.g. a long echo of speech).
    segments = decoder.seg() or []
    return [(s.word, s.start_frame, s.end_frame, s.ascore) for s in segments]


def _serve(receive: Connection, send: Connection) -> None:
    """The child's loop: the setup first, then (searches, pcm) requests until the pipe closes."""
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
                searches, pcm = message
                segments = [_decode(decoder, search, pcm) for search in searches]
        except Exception as error:  # reported to the parent, which raises RecognizerError
            send.send(("error", f"{type(error).__name__}: {error}", 0.0))
        else:
            send.send(("ok", segments, time.process_time() - started))


def _common_words(lm_path: str, dictionary: str, count: int) -> dict[str, int]:
    """The `count` most probable dictionary words of the language model (unigram)."""
    from pocketsphinx import NGramModel

    model = NGramModel.readfile(lm_path)
    with open(dictionary, encoding="utf-8") as lines:
        words = {line.split(maxsplit=1)[0] for line in lines if line.strip()}
    scored = sorted(
        ((model.prob([w]), w) for w in words if "(" not in w and not w.startswith("<")),
        reverse=True,
    )
    return {w: p for p, w in scored[:count]}


if __name__ == "__main__" and sys.argv[1:2] == ["common"]:
    lm, words_file, how_many = sys.argv[2:5]
    picked = _common_words(lm, words_file, int(how_many))
    sys.stdout.write(json.dumps(picked))
elif __name__ == "__main__":
    # Messages go out on the original stdout; anything else written to fd 1 goes to stderr.
    out = os.dup(1)
    os.dup2(2, 1)
    _serve(Connection(os.dup(0), writable=False), Connection(out, readable=False))
