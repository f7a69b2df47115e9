"""Rendered utterances kept at the playback rate, so a transition starts speaking at once.

Key: (text, voice, rate, volume). `prerender` starts rendering the next step's instruction on
the worker while the current step runs; a later `get` of the same text waits for that render
instead of starting a second one.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Final

from voice_guide.audio import AudioBuffer
from voice_guide.speech_out.errors import RenderError, SpeechOutError
from voice_guide.speech_out.renderer import Renderer

DEFAULT_MAX_BYTES: Final = 128 * 1024 * 1024
"""About 11 minutes of float32 speech at 48 kHz: a whole routine's instructions fit."""

CacheKey = tuple[str, str | None, int, float]


class RenderCache:
    """Renders through `renderer`, resamples to `sample_rate`, keeps the results (LRU)."""

    def __init__(
        self, renderer: Renderer, sample_rate: int, max_bytes: int = DEFAULT_MAX_BYTES
    ) -> None:
        self._renderer = renderer
        self.sample_rate = sample_rate
        self._max_bytes = max_bytes
        self._entries: OrderedDict[CacheKey, AudioBuffer] = OrderedDict()
        self._pending: dict[CacheKey, Future[AudioBuffer]] = {}
        """What callers wait on, per text being rendered."""
        self._rendering: dict[CacheKey, Future[AudioBuffer]] = {}
        """The renderer's own future for each pending text (cancelled when promoted)."""
        self._bytes = 0
        # Re-entrant: a render that is already done runs its callback (`_store`) at once, in
        # the thread that holds the lock in `_lookup`.
        self._lock = threading.RLock()
        self.renders = 0
        """How many utterances were actually synthesized (not served from the cache)."""
        self.hits = 0
        """How many requests were served from the cache or an ongoing pre-render."""

    def key(self, text: str) -> CacheKey:
        """The cache key of `text` under the renderer's current settings."""
        s = self._renderer.settings
        return (text, s.voice, s.rate, s.volume)

    def cached(self, text: str) -> bool:
        """True when `text` is rendered and ready to play without waiting."""
        with self._lock:
            return self.key(text) in self._entries

    def prerender(self, text: str) -> Future[AudioBuffer]:
        """Start rendering `text` in the background, behind anything about to be said
        (no-op when cached or already pending). Pre-rendering a whole routine at the start
        is fine: a get() of a text still waiting in that queue moves it to the front."""
        with self._lock:
            return self._lookup(self.key(text), text, count_hit=False)

    def get(self, text: str, timeout: float = 15.0) -> AudioBuffer:
        """The audio of `text` at `sample_rate`: from the cache, from a pending pre-render, or
        rendered now. Raises RenderError."""
        with self._lock:
            future = self._lookup(self.key(text), text, count_hit=True)
        try:
            return future.result(timeout=timeout)
        except FutureTimeout as exc:  # not the builtin TimeoutError before Python 3.11
            raise RenderError(f"Rendering {text[:40]!r} timed out.") from exc

    def _lookup(self, key: CacheKey, text: str, count_hit: bool) -> Future[AudioBuffer]:
        # Called with the lock held; never waits. `count_hit` is True for get(): the text
        # is about to be said, so its render is urgent.
        if key in self._entries:
            self._entries.move_to_end(key)
            self.hits += count_hit
            done: Future[AudioBuffer] = Future()
            done.set_result(self._entries[key])
            return done
        if key in self._pending:
            self.hits += count_hit
            future = self._pending[key]
            if count_hit and self._rendering[key].cancel():
                # Still queued behind other pre-renders: render it now, ahead of them.
                self._submit(key, text, future, urgent=True)
            return future
        self.renders += 1
        future = Future()
        self._pending[key] = future
        self._submit(key, text, future, urgent=count_hit)
        return future

    def _submit(self, key: CacheKey, text: str, future: Future, urgent: bool) -> None:
        rendered = self._renderer.submit(text, urgent=urgent)
        self._rendering[key] = rendered
        rendered.add_done_callback(lambda f: self._store(key, f, future))

    def _store(self, key: CacheKey, rendered: Future[AudioBuffer], future: Future) -> None:
        # Runs on the worker thread right after synthesis: the resampling happens there too,
        # so a pre-rendered utterance is ready to play as is.
        if rendered.cancelled():
            return  # replaced by an urgent render of the same text
        try:
            audio = rendered.result().resampled(self.sample_rate)
        except Exception as exc:
            with self._lock:
                self._pending.pop(key, None)
                self._rendering.pop(key, None)
            future.set_exception(exc if isinstance(exc, SpeechOutError) else RenderError(str(exc)))
            return
        with self._lock:
            self._pending.pop(key, None)
            self._rendering.pop(key, None)
            self._entries[key] = audio
            self._bytes += audio.samples.nbytes
            while self._bytes > self._max_bytes and len(self._entries) > 1:
                _, old = self._entries.popitem(last=False)
                self._bytes -= old.samples.nbytes
        future.set_result(audio)
