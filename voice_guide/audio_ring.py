"""A ring of the most recent audio, addressed by absolute frame number: what was played and
what the microphone heard, kept for the echo checks."""

from __future__ import annotations

import numpy as np


class AudioRing:
    """The last `capacity` frames of a mono float32 stream. Not thread-safe: the owner locks."""

    def __init__(self, capacity: int) -> None:
        self._ring = np.zeros(capacity, dtype=np.float32)
        self.frames = 0
        """Frames written since the start: the absolute index of the next frame."""

    def write(self, block: np.ndarray) -> None:
        """Append `block` (one or two slice copies, no allocation)."""
        size = len(self._ring)
        kept = block[-size:]
        at = (self.frames + len(block) - len(kept)) % size
        first = min(len(kept), size - at)
        self._ring[at : at + first] = kept[:first]
        self._ring[: len(kept) - first] = kept[first:]
        self.frames += len(block)

    def read(self, first: int, last: int) -> np.ndarray:
        """Frames `first` (inclusive) to `last` (exclusive); zeros where not written yet or
        already overwritten."""
        index = np.arange(first, max(first, last))
        out = np.zeros(len(index), dtype=np.float32)
        valid = (index >= max(0, self.frames - len(self._ring))) & (index < self.frames)
        out[valid] = self._ring[index[valid] % len(self._ring)]
        return out
