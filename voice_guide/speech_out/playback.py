"""The pull-based player: whoever consumes audio (the PortAudio output callback, the virtual
room, a WAV writer) pulls the next frames; the samples pulled are the clock.

Stream time = frames pulled / sample_rate. Every utterance records the stream time of its
first and last sample and its text, which is what the listener needs to ignore the guide's
own voice (and its echo tail). `stop()` empties the queue under a short lock, so the very next
pull - at most one audio block later - is silence.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Final

import numpy as np

from voice_guide.audio_ring import AudioRing

TAP_SECONDS: Final = 20
"""Seconds of played audio kept for `played()`: what the echo check compares the mic with."""
HISTORY: Final = 32
"""How many finished utterances `history` keeps (minutes of speech: plenty for an echo tail)."""


@dataclass(eq=False)
class PlayHandle:
    """One utterance given to the player; times are stream seconds, filled in as it plays."""

    text: str
    """What is being said ('' for an earcon)."""
    kind: str
    """'speech', or 'earcon:<name>' for a tone."""
    seconds: float
    """Length of its audio."""
    start: float | None = None
    """Stream time of its first sample; None until it starts (and if stopped before)."""
    end: float | None = None
    """Stream time just after its last played sample (the cut point when stopped)."""
    stopped: bool = False
    """True when stop() cut it (or dropped it before it started)."""
    _done: threading.Event = field(default_factory=threading.Event, repr=False)

    @property
    def done(self) -> bool:
        """True once it has played to the end or was stopped."""
        return self._done.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until done (never call from an audio callback); False on timeout."""
        return self._done.wait(timeout)

    def overlaps(self, start: float, end: float, now: float) -> bool:
        """True when it sounded at some time in [start, end] (stream seconds)."""
        if self.start is None:
            return False
        return self.start <= end and start <= (self.end if self.end is not None else now)


@dataclass(eq=False)
class _Item:
    handle: PlayHandle
    samples: np.ndarray
    position: int = 0


class Playback:
    """Queue of utterances played one after another, plus overlays (earcons) mixed on top."""

    def __init__(self, sample_rate: int) -> None:
        if sample_rate <= 0:
            raise ValueError(f"sample rate must be positive, got {sample_rate}")
        self.sample_rate = sample_rate
        self._queue: deque[_Item] = deque()
        self._overlays: list[_Item] = []
        self._history: deque[PlayHandle] = deque(maxlen=HISTORY)
        self._tap = AudioRing(TAP_SECONDS * sample_rate)
        self._frames = 0
        # Held only for list/pointer updates and one block's copy: microseconds, so the
        # audio callback never waits on the session thread for long.
        self._lock = threading.Lock()

    # --- producer side (session thread) -------------------------------------------------

    def play(
        self, audio: np.ndarray, text: str, kind: str = "speech", overlay: bool = False
    ) -> PlayHandle:
        """Queue `audio` (float32 mono at `sample_rate`) after what is playing, or with
        `overlay` mix it on top right away. Returns its handle."""
        samples = np.ascontiguousarray(audio, dtype=np.float32).reshape(-1)
        handle = PlayHandle(text, kind, len(samples) / self.sample_rate)
        with self._lock:
            (self._overlays.append if overlay else self._queue.append)(_Item(handle, samples))
        return handle

    def stop(self) -> None:
        """Cut what is playing and drop everything queued: the next pull is silence."""
        with self._lock:
            now = self._frames / self.sample_rate
            for item in (*self._queue, *self._overlays):
                item.handle.stopped = True
                if item.handle.start is not None:
                    item.handle.end = now
                    self._history.append(item.handle)
                item.handle._done.set()
            self._queue.clear()
            self._overlays.clear()

    @property
    def speaking(self) -> bool:
        """True while anything is playing or queued."""
        return bool(self._queue or self._overlays)

    @property
    def current(self) -> PlayHandle | None:
        """The queued utterance playing now (or next), None when the queue is empty."""
        queue = self._queue
        return queue[0].handle if queue else None

    @property
    def clock(self) -> float:
        """Stream seconds pulled so far."""
        return self._frames / self.sample_rate

    @property
    def history(self) -> list[PlayHandle]:
        """Recent utterances that have started (finished or cut), oldest first."""
        with self._lock:
            return list(self._history)

    def heard_between(self, start: float, end: float) -> list[PlayHandle]:
        """Utterances (recent and playing) that sounded during [start, end] stream seconds:
        the listener drops a detection whose words are in one of these (plus an echo tail)."""
        with self._lock:
            now = self._frames / self.sample_rate
            live = [item.handle for item in (*self._queue, *self._overlays)]
            candidates = [*self._history, *live]
        return [h for h in candidates if h.overlaps(start, end, now)]

    # --- consumer side (audio callback) -------------------------------------------------

    def pull(self, n_frames: int) -> np.ndarray:
        """The next `n_frames` samples (zeros when idle); advances the clock."""
        out = np.empty(n_frames, dtype=np.float32)
        self.pull_into(out)
        return out

    def pull_into(self, out: np.ndarray) -> None:
        """Fill the 1-D float32 array `out` with the next samples, allocation-free."""
        n = len(out)
        with self._lock:
            filled = 0
            while filled < n and self._queue:
                item = self._queue[0]
                filled += self._copy(item, out[filled:], filled, add=False)
                if item.position >= len(item.samples):
                    self._queue.popleft()
                    self._finish(item, filled)
            out[filled:] = 0.0
            if self._overlays:
                # Overlays start at a block boundary, so their times are exact too.
                for item in list(self._overlays):
                    count = self._copy(item, out, 0, add=True)
                    if item.position >= len(item.samples):
                        self._overlays.remove(item)
                        self._finish(item, count)
                np.clip(out, -1.0, 1.0, out=out)
            self._tap.write(out)
            self._frames += n

    def played(self, start: float, end: float) -> np.ndarray:
        """What was pulled between `start` and `end` stream seconds (zeros for times not yet
        played or older than TAP_SECONDS)."""
        first, last = round(start * self.sample_rate), round(end * self.sample_rate)
        with self._lock:
            return self._tap.read(first, last)

    def _copy(self, item: _Item, out: np.ndarray, offset: int, add: bool) -> int:
        if item.handle.start is None:
            item.handle.start = (self._frames + offset) / self.sample_rate
        count = min(len(out), len(item.samples) - item.position)
        chunk = item.samples[item.position : item.position + count]
        if add:
            out[:count] += chunk
        else:
            out[:count] = chunk
        item.position += count
        return count

    def _finish(self, item: _Item, offset: int) -> None:
        item.handle.end = (self._frames + offset) / self.sample_rate
        self._history.append(item.handle)
        item.handle._done.set()
