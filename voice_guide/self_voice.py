"""Telling the guide's own voice from the person's.

The listener keeps running while the guide speaks (so "stop" and "ouch" can interrupt),
which means it also hears the guide through the room. A detection is the guide's own
voice when its words were in an utterance that sounded during the detection (or in the
echo tail just after it). While the guide is speaking only the barge-in commands
(pause, pain, next) act: the others are more likely the guide's words misheard than a
person talking over it, and a person asks again once the guide is quiet.
"""

from __future__ import annotations

from dataclasses import dataclass
from difflib import SequenceMatcher

from voice_guide.commands import Command, normalize
from voice_guide.speech_in.listener import Detection
from voice_guide.speech_out.playback import Playback

BARGE_IN = frozenset({Command.PAUSE, Command.PAIN, Command.NEXT})
"""Commands that act even while the guide is speaking."""


@dataclass
class SelfVoiceGate:
    """Decides which detections to act on. Times are the listener's stream seconds;
    `offset` maps them onto the playback clock (0 when both come from the same stream)."""

    playback: Playback
    echo_tail: float = 0.4
    """Seconds after an utterance ends during which its echo can still be heard."""
    offset: float = 0.0

    def reason_to_ignore(self, detection: Detection) -> str | None:
        """Why the detection is not acted on, or None to act on it."""
        start = detection.start - self.offset - self.echo_tail
        end = detection.end - self.offset
        sounding = [h for h in self.playback.heard_between(start, end) if h.text]
        for handle in sounding:
            if sounds_like_part_of(detection.heard, handle.text):
                return f"own voice: in {handle.text!r}"
        if sounding and detection.command not in BARGE_IN:
            return "guide speaking: only pause, ouch and next interrupt"
        return None


SIMILAR = 0.75
"""How alike (0..1, difflib ratio) a phrase and a stretch of the guide's words must be to
count as the guide's own words misheard."""


def sounds_like_part_of(phrase: str, text: str) -> bool:
    """True when `phrase` is, or nearly is, a run of words in `text`: the same words, a word
    inside a longer one ('pause' in 'paused', 'ow' in 'now'), or a close spelling."""
    said = normalize(phrase).split()
    words = normalize(text).split()
    if not said or len(words) < len(said):
        return False
    target = " ".join(said)
    for i in range(len(words) - len(said) + 1):
        window = words[i : i + len(said)]
        if len(said) == 1 and said[0] in window[0]:
            return True
        if SequenceMatcher(None, target, " ".join(window)).ratio() >= SIMILAR:
            return True
    return False
