"""Earcons: short, soft tones generated in code (no shipped files).

Each is a little melody of pure bell-like notes, so it cannot be mistaken for speech (speech
is broadband and never holds one pitch) nor for another earcon (different contour and length):

- heard:  two quick rising notes          ("got it")
- step:   three rising notes, a chime     ("moving on")
- paused: two falling notes               ("holding")
- end:    a slow falling arpeggio to a low chord ("we are done")
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

import numpy as np

PEAK: Final = 0.3
"""Peak level of an earcon (speech peaks near 0.8): soft, under the voice."""


@dataclass(frozen=True)
class _Note:
    freqs: tuple[float, ...]  # Hz; several = a chord
    at: float  # seconds from the earcon's start
    length: float  # seconds until its fade-out ends


# Notes of the C major triad (C5 E5 G5 and octaves): consonant, calm.
_C4, _C5, _E5, _G5, _C6 = 261.63, 523.25, 659.26, 783.99, 1046.5

_MELODIES: Final[dict[str, tuple[_Note, ...]]] = {
    "heard": (_Note((_G5,), 0.0, 0.09), _Note((_C6,), 0.07, 0.12)),
    "step": (_Note((_C5,), 0.0, 0.22), _Note((_E5,), 0.14, 0.22), _Note((_G5,), 0.28, 0.30)),
    "paused": (_Note((_G5,), 0.0, 0.22), _Note((_C5,), 0.18, 0.32)),
    "end": (
        _Note((_G5,), 0.0, 0.30),
        _Note((_E5,), 0.22, 0.30),
        _Note((_C5,), 0.44, 0.30),
        _Note((_C4, _C5), 0.66, 0.75),
    ),
}

EARCON_NAMES: Final = tuple(_MELODIES)


def _note(note: _Note, sample_rate: int) -> np.ndarray:
    t = np.arange(int(note.length * sample_rate)) / sample_rate
    # A sine with a faint octave: bell-like and soft; the exponential decay is what makes it
    # read as a chime rather than a beep.
    tone = sum(np.sin(2 * np.pi * f * t) + 0.15 * np.sin(4 * np.pi * f * t) for f in note.freqs)
    envelope = np.exp(-t / (note.length / 3))
    attack = min(len(t), int(0.005 * sample_rate))  # 5 ms: no click
    envelope[:attack] *= 0.5 - 0.5 * np.cos(np.linspace(0, np.pi, attack))
    release = min(len(t), int(0.02 * sample_rate))
    envelope[len(t) - release :] *= 0.5 + 0.5 * np.cos(np.linspace(0, np.pi, release))
    return tone * envelope


@lru_cache(maxsize=32)
def _generate(name: str, sample_rate: int) -> np.ndarray:
    notes = _MELODIES[name]
    total = max(n.at + n.length for n in notes)
    out = np.zeros(int(np.ceil(total * sample_rate)), dtype=np.float64)
    for note in notes:
        samples = _note(note, sample_rate)
        start = int(note.at * sample_rate)
        out[start : start + len(samples)] += samples
    out *= PEAK / np.max(np.abs(out))
    result = out.astype(np.float32)
    result.flags.writeable = False  # shared from the cache: nobody may change it
    return result


def check_name(name: str) -> None:
    """ValueError with a did-you-mean unless `name` is one of EARCON_NAMES."""
    if name not in _MELODIES:
        close = difflib.get_close_matches(name, EARCON_NAMES, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise ValueError(f"unknown earcon {name!r}; {hint}choose from {', '.join(EARCON_NAMES)}")


def earcon(name: str, sample_rate: int) -> np.ndarray:
    """The earcon `name` (one of EARCON_NAMES) as float32 mono samples at `sample_rate`."""
    check_name(name)
    return _generate(name, sample_rate)
