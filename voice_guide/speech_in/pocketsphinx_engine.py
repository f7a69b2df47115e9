"""PocketSphinx: the embedded English engine (its model ships in the pocketsphinx wheel).

A grammar alone maps any speech onto some command ("banana" -> "again"), so every utterance
is decoded twice, whole (`full_utt`: cepstral mean over the utterance, better under music):
  1. with a JSGF grammar of the command phrases (bestpath off: the lattice pass returned
     partial or empty hypotheses), giving the phrase and its acoustic score;
  2. with a free phone loop (allphone search), the best any speech could score.
The difference per speech frame is a likelihood ratio: near zero when the audio really is the
phrase, clearly negative when the grammar had to force other words onto it. Coverage (phrase
frames / frames the phone loop calls speech) rejects near-misses such as "next week we fly to
Lisbon", where the grammar explains one word and leaves the rest to silence.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from voice_guide.commands import phrase_table
from voice_guide.speech_in.audio import SAMPLE_RATE, to_int16_bytes
from voice_guide.speech_in.recognizer import Hypothesis, RecognizerError

__all__ = ["PocketSphinxRecognizer", "SphinxScores", "SphinxSettings"]

_FRAME = 0.01  # PocketSphinx frame shift (seconds)
_NON_WORDS = {"<s>", "</s>", "<sil>", "(NULL)", "[NOISE]", "++NOISE++", "++BREATH++"}
_PHONE_SILENCE = {"SIL", "+NSN+", "+SPN+", "+BREATH+", "+NOISE+", "(NULL)"}


@dataclass(frozen=True)
class SphinxSettings:
    """Acceptance thresholds, tuned with scripts/bench_listen.py (dev voices only)."""

    min_ratio: float = -0.05
    """Lowest (grammar - phone loop) acoustic score per frame of the utterance (log units)."""
    min_coverage: float = 0.7
    """Lowest share of the phone loop's speech frames explained by the phrase (0..1)."""
    max_frames_per_phone: float = 16.0
    """Longest utterance per phone of the phrase (10 ms frames; commands measured 8-13, a
    sentence forced onto a short phrase 20-60)."""
    min_phones: int = 4
    """Short words are said slowly ("pause": 3 phones, 0.55 s): count at least this many."""
    padding: float = 0.33
    """Non-speech the segmenter adds around an utterance (pre-roll + end wait, seconds)."""
    confidence_scale: float = 0.01
    """Ratio distance above `min_ratio` that maps to confidence 0.73 (logistic slope)."""


@dataclass(frozen=True)
class SphinxScores:
    """What the two decodings of one utterance say (seconds from the utterance start)."""

    phrase: str | None
    start: float
    end: float
    ratio: float
    coverage: float
    frames_per_phone: float


def _model_files() -> tuple[Path, Path, Path]:
    """Acoustic model, dictionary and phone LM bundled in the pocketsphinx wheel."""
    import pocketsphinx

    root = Path(pocketsphinx.get_model_path()) / "en-us"
    files = (root / "en-us", root / "cmudict-en-us.dict", root / "en-us-phone.lm.bin")
    missing = [str(p) for p in files if not p.exists()]
    if missing:
        raise RecognizerError(
            f"the pocketsphinx package lacks its English model ({', '.join(missing)}); "
            "reinstall it with: pip install --force-reinstall pocketsphinx"
        )
    return files


class PocketSphinxRecognizer:
    """Command recognizer on PocketSphinx with a phone-loop verifier (English only)."""

    def __init__(self, language: str = "en", settings: SphinxSettings | None = None) -> None:
        if language != "en":
            raise RecognizerError(
                f"PocketSphinx here has an English model only, not {language!r}; "
                "use --engine vosk with a Vosk model for that language"
            )
        from pocketsphinx import Decoder

        self._language = language
        self.settings = settings or SphinxSettings()
        hmm, dictionary, phone_lm = _model_files()
        self._decoder = Decoder(
            hmm=str(hmm),
            dict=str(dictionary),
            lm=None,
            bestpath=False,
            dither=True,
            seed=1,  # dither is random: fixed seed, reproducible results
            logfn=os.devnull,
        )
        phrases = list(phrase_table(language))
        self.missing_phrases = [
            p for p in phrases if any(self._decoder.lookup_word(w) is None for w in p.split())
        ]
        self.phrases = [p for p in phrases if p not in self.missing_phrases]
        if not self.phrases:
            raise RecognizerError("no command phrase is in the PocketSphinx dictionary")
        # Grammar alternatives are the phrases themselves, so a hypothesis is a whole phrase.
        alternatives = " | ".join(f"( {p} )" for p in self.phrases)
        self._decoder.add_jsgf_string(
            "commands", f"#JSGF V1.0;\ngrammar commands;\npublic <command> = {alternatives} ;\n"
        )
        self._decoder.add_allphone_file("phones", str(phone_lm))
        self._phones = {
            p: sum(len(self._decoder.lookup_word(w).split()) for w in p.split())
            for p in self.phrases
        }
        self._chunks: list[np.ndarray] = []

    @property
    def language(self) -> str:
        """Language code of the phrase table it listens for."""
        return self._language

    @property
    def description(self) -> str:
        """Engine and model in a few words."""
        return "PocketSphinx with its bundled en-us model and a phone-loop verifier"

    def begin(self) -> None:
        """A new utterance starts."""
        self._chunks = []

    def accept(self, samples: np.ndarray) -> Hypothesis | None:
        """Buffer audio: the utterance is decoded whole when it ends."""
        self._chunks.append(samples)
        return None

    def cancel(self) -> None:
        """Drop the buffered utterance."""
        self._chunks = []

    def finish(self) -> Hypothesis | None:
        """Decode the utterance and return its command phrase if it passes both checks."""
        if not self._chunks:
            return None
        scores = self.score(np.concatenate(self._chunks))
        self._chunks = []
        s = self.settings
        if (
            scores.phrase is None
            or scores.coverage < s.min_coverage
            or scores.ratio < s.min_ratio
            or scores.frames_per_phone > s.max_frames_per_phone
        ):
            return None
        confidence = 1.0 / (1.0 + math.exp(-(scores.ratio - s.min_ratio) / s.confidence_scale))
        return Hypothesis(scores.phrase, scores.start, scores.end, round(confidence, 3))

    def _decode(self, search: str, pcm: bytes) -> list[tuple[str, int, int, int]]:
        """Segments (word, first frame, last frame, acoustic score) of one decoding."""
        self._decoder.activate_search(search)
        self._decoder.start_utt()
        self._decoder.process_raw(pcm, False, True)
        self._decoder.end_utt()
        # seg() is None when the search found no path at all (e.g. a long echo of speech).
        segments = self._decoder.seg() or []
        return [(s.word, s.start_frame, s.end_frame, s.ascore) for s in segments]

    def score(self, audio: np.ndarray) -> SphinxScores:
        """Both decodings of one utterance (16 kHz float32) reduced to the decision features."""
        pcm = to_int16_bytes(audio)
        grammar = self._decode("commands", pcm)
        phones = self._decode("phones", pcm)
        words = [g for g in grammar if g[0] not in _NON_WORDS]
        speech = [p for p in phones if p[0] not in _PHONE_SILENCE]
        speech_frames = sum(p[2] - p[1] + 1 for p in speech)
        if not words or speech_frames == 0:
            return SphinxScores(None, 0.0, 0.0, -math.inf, 0.0, math.inf)
        # "(2)" marks an alternative pronunciation in the dictionary.
        phrase = " ".join(w[0].split("(")[0] for w in words)
        word_frames = sum(w[2] - w[1] + 1 for w in words)
        grammar_score = sum(g[3] for g in grammar)
        phone_score = sum(p[3] for p in phones)
        frames = max(1, len(audio) * 100 // SAMPLE_RATE)
        s = self.settings
        spoken_frames = max(1.0, frames - s.padding * 100)
        return SphinxScores(
            phrase=phrase if phrase in self.phrases else None,
            start=words[0][1] * _FRAME,
            end=(words[-1][2] + 1) * _FRAME,
            ratio=(grammar_score - phone_score) / frames,
            coverage=min(1.0, word_frames / speech_frames),
            frames_per_phone=spoken_frames / max(self._phones.get(phrase, 1), s.min_phones),
        )
