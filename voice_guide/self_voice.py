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
        phrase = f" {normalize(detection.heard)} "
        for handle in sounding:
            if phrase in f" {normalize(handle.text)} ":
                return f"own voice: in {handle.text!r}"
        if sounding and detection.command not in BARGE_IN:
            return "guide speaking: only pause, ouch and next interrupt"
        return None
