"""Telling the guide's own voice from the person's.

The listener keeps running while the guide speaks (so "stop" and "ouch" can interrupt),
which means it also hears the guide through the room. Two checks, both needed:

- signal, for the barge-in commands (pause, pain, next), which act even while the guide
  speaks: the played audio, delayed and scaled to fit the microphone best, must leave a
  residual (the person) of real energy; a recognizer that mishears the guide's echo as
  "wait" leaves almost none. Words are not used here: the guide's sentences are full of
  words that sound like safety words ("touch", "lower"), and a missed "ouch" is worse
  than a needless pause;
- words and timing, for every other command: a detection whose words were (or nearly
  were) in an utterance sounding at the time, or in its echo tail, is the guide's own
  voice, and while the guide speaks these commands wait: a person asks again, and they are
  far more often the guide's words misheard than someone talking over it. An engine that
  gives no transcript (`heard` is None) has no words to compare: its detections are judged
  by the signal, like the barge-in commands, and then by the timing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from difflib import SequenceMatcher

import numpy as np

from voice_guide.audio_ring import AudioRing
from voice_guide.commands import Command, normalize, vocabulary
from voice_guide.echo_canceller import MAX_DELAY as MAX_ECHO_DELAY
from voice_guide.echo_canceller import best_fit
from voice_guide.speech_in.audio import SAMPLE_RATE, resample
from voice_guide.speech_in.listener import Detection
from voice_guide.speech_out.playback import Playback

BARGE_IN = frozenset({Command.PAUSE, Command.PAIN, Command.NEXT})
"""Commands that act even while the guide is speaking."""
SIMILAR = 0.75
"""How alike (0..1, difflib ratio) a phrase and a stretch of the guide's words must be to
count as the guide's own words misheard."""
ECHO_EXPLAINED_DB = 10.0
"""The echo explains the detection when removing it lowers the microphone's energy by at
least this much (an echo-return-loss-enhancement figure): the rest is too weak to be a
person talking over the guide."""
SPEAKING_TAIL = 0.15
"""The guide counts as speaking over a detection this long after its last sample (the
room's direct echo path; the longer echo tail only matters for its own words)."""
HEAD_START = 0.3
"""How much earlier than the guide a phrase must have begun to count as the person's own
turn (the listener's pre-roll and word timings are this imprecise)."""
MIN_ECHO_WINDOW = 0.25
"""Seconds of microphone the echo is compared with, at least: an engine without word timings
places a very short utterance's detection at one instant (start == end), and an empty
window explained nothing, so the guide's own echo passed as the person."""
MIC_SECONDS = 20


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


def echo_explained_db(mic: np.ndarray, played: np.ndarray) -> float:
    """How many dB of the microphone's energy the best delayed and scaled copy of `played`
    removes. `played` starts MAX_ECHO_DELAY (or less) before `mic` and ends with it."""
    fit = best_fit(mic, played)
    if fit is None:
        return 0.0
    share = min(fit[2], 1.0 - 1e-6)
    return float(-10.0 * np.log10(1.0 - share))


@dataclass
class SelfVoiceGate:
    """Decides which detections to act on. Times are the listener's stream seconds;
    `offset` maps them onto the playback clock (0 when both come from the same stream)."""

    playback: Playback
    echo_tail: float = 0.4
    """Seconds after an utterance ends during which its echo can still be heard."""
    offset: float = 0.0
    language: str = "en"
    """Whose fillers to see through: "okay a little lighter" is the guide's own "a little
    lighter" when the guide said that."""
    _mic: AudioRing = field(default_factory=lambda: AudioRing(MIC_SECONDS * SAMPLE_RATE))

    def observe(self, block: np.ndarray) -> None:
        """Keep the microphone's recent audio (16 kHz, the blocks given to the listener)."""
        self._mic.write(block)

    def reason_to_ignore(self, detection: Detection) -> str | None:
        """Why the detection is not acted on, or None to act on it."""
        start = detection.start - self.offset
        end = detection.end - self.offset
        sounding = self.playback.heard_between(start - self.echo_tail, end)
        recent = [h for h in sounding if h.text]
        if detection.command in BARGE_IN or detection.heard is None:
            # Safety words are judged by the signal alone: the guide's sentences are full of
            # words like "touch" and "lower" that sound like "ouch" and "ow". An earcon counts
            # too: a step's tone sounds before its sentence is rendered, and was heard as "ow".
            reason = self._echo_reason(detection) if sounding else None
            if reason is not None or detection.command in BARGE_IN:
                return reason
        else:
            said = self._said(detection.heard)
            for handle in recent:
                if any(sounds_like_part_of(words, handle.text) for words in said):
                    return f"own voice: in {handle.text!r}"
        # Only a guide already sounding when the person began counts: a cue that starts over
        # a phrase the person had begun in a quiet moment does not make it the guide's. An
        # earcon counts: a step's tone plays before its sentence is rendered, and its echo
        # was heard as "we're done".
        talking = self.playback.heard_between(start - SPEAKING_TAIL, end)
        if any(h.start is not None and h.start < start + HEAD_START for h in talking):
            return "guide speaking: only pause, ouch and next interrupt"
        return None

    def _said(self, heard: str) -> list[str]:
        """The wording heard and, when it has fillers, the phrase inside it."""
        try:
            core = vocabulary(self.language).core(heard)
        except LookupError:  # a language without a phrase table: compare the wording only
            core = None
        return [heard] if core is None or core == normalize(heard) else [heard, core]

    def _echo_reason(self, detection: Detection) -> str | None:
        explained = self._echo_explains(detection)
        if explained >= ECHO_EXPLAINED_DB:
            return f"echo of the guide: it explains {explained:.0f} dB of the sound"
        return None

    def _echo_explains(self, detection: Detection) -> float:
        start = min(detection.start, detection.end - MIN_ECHO_WINDOW)
        mic = self._recent_mic(start, detection.end)
        first = start - self.offset - MAX_ECHO_DELAY
        played = self.playback.played(first, detection.end - self.offset)
        played = resample(played, self.playback.sample_rate)
        return echo_explained_db(mic, played[-(len(mic) + round(MAX_ECHO_DELAY * SAMPLE_RATE)) :])

    def _recent_mic(self, start: float, end: float) -> np.ndarray:
        return self._mic.read(round(start * SAMPLE_RATE), round(end * SAMPLE_RATE))
