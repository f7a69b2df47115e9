"""Rendered utterances kept at the playback rate, so a transition starts speaking at once.

Key: (text, voice, rate, volume). `prerender` starts rendering the next step's instruction on
the worker while the current step runs; a later `get` of the same text waits for that render
instead of starting a second one.

Only pre-rendered texts are kept: they are the routine's own sentences, said again whenever
the step comes round (repeat, back, a looped routine). A text that is only `get` (a time
announcement, an answer to "how long") is rendered, handed over and dropped: keeping every
such one-off sentence made a long session's memory grow by about 4.6 MB per hour.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Final

from voice_guide.audio import AudioBuffer
from voice_guide.speech_out.errors import RenderError, SpeechOutError
from voice_guide.speech_out.renderer import Renderer

DEFAULT_MAX_BYTES: Final = 128 * 1024 * 1024
"""About 11 minutes of float32 speech at 48 kHz: a whole routine's instructions fit."""

CacheKey = tuple[str, str | None, int, float]


@dataclass(eq=False)
class _Pending:
    """A text being rendered."""

    result: Future[AudioBuffer]
    """What callers wait on: the audio at the cache's rate."""
    keep: bool
    """Store it when done: it was pre-rendered, so it will be said (again)."""
    rendering: Future[AudioBuffer] | None = None
    """The renderer's own future (cancelled when a get() makes the render urgent)."""


class RenderCache:
    """Renders through `renderer`, resamples to `sample_rate`, keeps the pre-rendered results
    (LRU, `max_bytes`)."""

    def __init__(
        self, renderer: Renderer, sample_rate: int, max_bytes: int = DEFAULT_MAX_BYTES
    ) -> None:
        self._renderer = renderer
        self.sample_rate = sample_rate
        self._max_bytes = max_bytes
        self._entries: OrderedDict[CacheKey, AudioBuffer] = OrderedDict()
        self._pending: dict[CacheKey, _Pending] = {}
        self._bytes = 0
        # Re-entrant: a render that is already done runs its callback (`_store`) at once, in
        # the thread that holds the lock in `_lookup`.
        self._lock = threading.RLock()
        self.renders = 0
        """How many utterances were actually synthesized (not served from the cache)."""
        self.hits = 0
        """How many get() calls were served from the cache or an ongoing render."""

    def key(self, text: str) -> CacheKey:
        """The cache key of `text` under the renderer's current settings."""
        s = self._renderer.settings
        return (text, s.voice, s.rate, s.volume)

    def cached(self, text: str) -> bool:
        """True when `text` is rendered, kept, and ready to play without waiting."""
        with self._lock:
            return self.key(text) in self._entries

    @property
    def nbytes(self) -> int:
        """Bytes of audio kept (at most `max_bytes`, unless one utterance alone is larger)."""
        with self._lock:
            return self._bytes

    def prerender(self, text: str) -> Future[AudioBuffer]:
        """Start rendering `text` in the background, behind anything about to be said, and
        keep the result for every later get() (no-op when cached or already pending; a
        pending one-off render of the same text is kept too). Pre-rendering a whole routine
        at the start is fine: a get() of a text still waiting in that queue moves it to the
        front."""
        with self._lock:
            return self._lookup(self.key(text), text, prerender=True)

    def get(self, text: str, timeout: float = 15.0) -> AudioBuffer:
        """The audio of `text` at `sample_rate`: from the cache, from a pending render, or
        rendered now. A text never pre-rendered is not kept: the caller's reference (the
        playback's, while it plays) is its only one. Raises RenderError."""
        with self._lock:
            future = self._lookup(self.key(text), text, prerender=False)
        try:
            return future.result(timeout=timeout)
        except FutureTimeout as exc:  # not the builtin TimeoutError before Python 3.11
            raise RenderError(f"Rendering {text[:40]!r} timed out.") from exc

    def _lookup(self, key: CacheKey, text: str, prerender: bool) -> Future[AudioBuffer]:
        # Called with the lock held; never waits. A get() is about to be said: its render
        # is urgent.
        if key in self._entries:
            self._entries.move_to_end(key)
            self.hits += not prerender
            done: Future[AudioBuffer] = Future()
            done.set_result(self._entries[key])
            return done
        pending = self._pending.get(key)
        if pending is not None:
            pending.keep |= prerender
            if not prerender:
                self.hits += 1
                if pending.rendering is not None and pending.rendering.cancel():
                    # Still queued behind other pre-renders: render it now, ahead of them.
                    self._submit(key, text, pending, urgent=True)
            return pending.result
        self.renders += 1
        pending = _Pending(Future(), keep=prerender)
        self._pending[key] = pending
        self._submit(key, text, pending, urgent=not prerender)
        return pending.result

    def _submit(self, key: CacheKey, text: str, pending: _Pending, urgent: bool) -> None:
        rendered = self._renderer.submit(text, urgent=urgent)
        pending.rendering = rendered
        rendered.add_done_callback(lambda f: self._store(key, f, pending))

    def _store(self, key: CacheKey, rendered: Future[AudioBuffer], pending: _Pending) -> None:
        # Runs on the worker thread right after synthesis: the resampling happens there too,
        # so a pre-rendered utterance is ready to play as is.
        if rendered.cancelled():
            return  # replaced by an urgent render of the same text
        try:
            audio = rendered.result().resampled(self.sample_rate)
        except Exception as exc:
            with self._lock:
                self._settle(key, pending)
            error = exc if isinstance(exc, SpeechOutError) else RenderError(str(exc))
            pending.result.set_exception(error)
            return
        with self._lock:
            self._settle(key, pending)
            if pending.keep:
                self._entries[key] = audio
                self._bytes += audio.samples.nbytes
                while self._bytes > self._max_bytes and len(self._entries) > 1:
                    _, old = self._entries.popitem(last=False)
                    self._bytes -= old.samples.nbytes
        pending.result.set_result(audio)

    def _settle(self, key: CacheKey, pending: _Pending) -> None:
        # Called with the lock held, once the render is over.
        del self._pending[key]
        pending.rendering = None  # no cycle through the future's callback: freed at once
