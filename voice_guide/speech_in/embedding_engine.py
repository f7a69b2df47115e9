"""Engines on the speech embedding: the command head alone, and fused with PocketSphinx.

`EmbeddingRecognizer` computes the embeddings while the utterance is spoken
(embedding.EmbeddingStream), so at its end only the pooling and the head are left (about a
millisecond). It has no transcript: its Hypothesis names the command only.

`FusedRecognizer` asks the head first. Most utterances are settled there: the head is sure it
is no command (conversation) or sure of one command. Only in between does it pay for
PocketSphinx's two decodings (about 140 ms), and then the two opinions are added as
log-odds: PocketSphinx's verifier margin for its phrase plus the head's log-odds for that
phrase's command. Two engines whose errors differ rarely both accept a wrong command.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from voice_guide.commands import Command, Vocabulary
from voice_guide.speech_in.audio import SAMPLE_RATE
from voice_guide.speech_in.command_model import OTHER, CommandModel, Prototypes
from voice_guide.speech_in.embedding import EmbeddingStream, SpeechEmbedding
from voice_guide.speech_in.engines import register_engine
from voice_guide.speech_in.recognizer import Hypothesis, RecognizerError
from voice_guide.speech_in.vad import SegmenterSettings

if TYPE_CHECKING:
    from voice_guide.speech_in.pocketsphinx_engine import SphinxScores

__all__ = [
    "EmbeddingRecognizer",
    "FusedRecognizer",
    "FusionDecision",
    "FusionSettings",
    "SphinxOpinion",
]


def _unavailable(language: str) -> str | None:
    if language == "en":
        return None
    return (
        f"the speech-embedding command model is trained for English only, not {language!r}; "
        "train one with scripts/train_commands.py --language "
        f"{language}, or use --engine vosk"
    )


class EmbeddingRecognizer:
    """The trained command head on the speech embedding (English; no transcript)."""

    def __init__(
        self,
        words: Vocabulary,
        prototypes: Prototypes | None = None,
        embedding: SpeechEmbedding | None = None,
        model: CommandModel | None = None,
    ) -> None:
        """Listen for the commands of `words` with the shipped head (or `model`); `prototypes`
        are enrolled utterance vectors of the people listened to (see CommandModel)."""
        reason = _unavailable(words.language)
        if reason is not None:
            raise RecognizerError(reason)
        self.embedding = embedding or SpeechEmbedding()
        self.model = model or CommandModel.load()
        self.prototypes = prototypes or {}
        self.vocabulary = words
        labels = set(self.model.weights.labels)
        self.commands = {c for c in words.phrases.values() if c.value in labels}
        self._missing = [p for p, c in words.phrases.items() if c not in self.commands]
        segmenter = SegmenterSettings()
        self._padding = (segmenter.pre_roll, segmenter.end_wait)
        self._stream: EmbeddingStream | None = None
        self._samples = 0

    @property
    def language(self) -> str:
        """Language code of the vocabulary it listens for."""
        return self.vocabulary.language

    @property
    def description(self) -> str:
        """Engine and model in a few words."""
        return "the speech-embedding command model (openWakeWord's speech_embedding + MLP head)"

    @property
    def missing_phrases(self) -> list[str]:
        """Phrases whose command the head was not trained on."""
        return self._missing

    def begin(self) -> None:
        """A new utterance starts."""
        self._stream = None
        self._samples = 0

    def accept(self, samples: np.ndarray) -> Hypothesis | None:
        """Embed the audio as it arrives; the decision waits for the end of the utterance."""
        if self._stream is None:
            self._stream = self.embedding.stream()
            self._stream.push(self.embedding.lead(samples))
        self._stream.push(samples)
        self._samples += len(samples)
        return None

    def cancel(self) -> None:
        """Drop the utterance in progress."""
        self._stream = None

    def probabilities(self) -> dict[Command | str, float]:
        """The head's opinion on the utterance so far (with the prototypes)."""
        assert self._stream is not None
        vector = self.embedding.pool(self._stream.frames())
        return self.model.probabilities(vector, self.prototypes)

    def finish(self) -> Hypothesis | None:
        """The command the head heard, if it clears that command's threshold."""
        if self._stream is None:
            return None
        probabilities = self.probabilities()
        self._stream = None
        command = self.model.choose(probabilities)
        if command is None or command not in self.commands:
            return None
        return self.hypothesis(command, None, probabilities[command])

    def hypothesis(self, command: Command, phrase: str | None, confidence: float) -> Hypothesis:
        """A Hypothesis spanning the utterance without the VAD's pre-roll and end wait."""
        pre_roll, end_wait = self._padding
        end = max(pre_roll, self._samples / SAMPLE_RATE - end_wait)
        return Hypothesis(command, phrase, pre_roll, end, round(confidence, 3))


@dataclass(frozen=True)
class SphinxOpinion:
    """What PocketSphinx says about one utterance, as the fusion weighs it."""

    command: Command | None
    """The command of the grammar's wording, or None (no wording found)."""
    margin: float
    """Its verifier's log-odds that the utterance is that wording and nothing else."""


@dataclass(frozen=True)
class FusionDecision:
    """The fusion's verdict on one utterance."""

    command: Command | None
    consulted: bool
    """Whether PocketSphinx was asked (it costs its two decodings)."""
    by_head: bool
    """Whether the head settled it (the utterance's span) or PocketSphinx (its phrase's span)."""
    confidence: float


@dataclass(frozen=True)
class FusionSettings:
    """When the head decides alone, and how its opinion and PocketSphinx's are added."""

    sure_other: float = 0.97
    """Head's p(other) at or above which the utterance is no command, without PocketSphinx."""
    sure_command: float = 0.97
    """Head's p(command) at or above which it is acted on, without PocketSphinx."""
    min_log_odds: float = 1.0
    """PocketSphinx margin + head log-odds needed to act (both decoders consulted)."""
    safety_log_odds: float = -2.0
    """The same for pause and pain: a missed "ouch" costs more than a false one."""

    def decide(
        self,
        probabilities: Mapping[Command | str, float],
        threshold: Callable[[Command], float],
        ask: Callable[[], SphinxOpinion],
    ) -> FusionDecision:
        """The fused verdict from the head's `probabilities` (its per-command `threshold`),
        calling `ask` for PocketSphinx's opinion only when the head is unsure."""
        sure, command = self.verdict(probabilities, threshold)
        if sure:
            confidence = probabilities[command] if command else probabilities[OTHER]
            return FusionDecision(command, False, True, confidence)
        opinion = ask()
        log_odds = self.combine(probabilities, opinion.command, opinion.margin)
        if log_odds is None:
            return FusionDecision(None, True, False, 0.0)
        return FusionDecision(opinion.command, True, False, 1.0 / (1.0 + math.exp(-log_odds)))

    def verdict(
        self, probabilities: Mapping[Command | str, float], threshold: Callable[[Command], float]
    ) -> tuple[bool, Command | None]:
        """(whether the head settles it alone, the command it settles on or None).

        Sure: p(other) or p(command) at or above the sure levels; a safety command (pause,
        pain) at or above the head's own `threshold` is acted on too, without PocketSphinx,
        which may add a missed "ouch" but never veto one.
        """
        best = max(probabilities, key=probabilities.__getitem__)
        if best == OTHER:
            return probabilities[OTHER] >= self.sure_other, None
        command = Command(best)
        p = probabilities[best]
        if p >= self.sure_command or (command.is_safety and p >= threshold(command)):
            return True, command
        return False, None

    def combine(
        self, probabilities: Mapping[Command | str, float], command: Command | None, margin: float
    ) -> float | None:
        """PocketSphinx's `margin` for `command` plus the head's log-odds for it, when that
        clears the level needed to act; else None."""
        if command is None:
            return None
        p = min(max(probabilities.get(command, 0.0), 1e-6), 1 - 1e-6)
        log_odds = margin + math.log(p / (1 - p))
        needed = self.safety_log_odds if command.is_safety else self.min_log_odds
        return log_odds if log_odds >= needed else None


class FusedRecognizer:
    """The command head first; PocketSphinx's verifier only when the head is unsure."""

    def __init__(
        self,
        words: Vocabulary,
        prototypes: Prototypes | None = None,
        settings: FusionSettings | None = None,
    ) -> None:
        """Both engines on `words`; `prototypes` go to the head (see EmbeddingRecognizer)."""
        from voice_guide.speech_in.pocketsphinx_engine import PocketSphinxRecognizer

        self.head = EmbeddingRecognizer(words, prototypes)
        self.sphinx = PocketSphinxRecognizer(words)
        self.settings = settings or FusionSettings()
        self.consulted = 0  # utterances that needed PocketSphinx (for the benchmark)
        self._chunks: list[np.ndarray] = []

    @property
    def language(self) -> str:
        """Language code of the vocabulary it listens for."""
        return self.head.language

    @property
    def description(self) -> str:
        """Engine and model in a few words."""
        return "the speech-embedding command model, verified by PocketSphinx when unsure"

    @property
    def missing_phrases(self) -> list[str]:
        """Phrases either engine cannot hear."""
        return sorted({*self.head.missing_phrases, *self.sphinx.missing_phrases})

    def begin(self) -> None:
        """A new utterance starts."""
        self.head.begin()
        self._chunks = []

    def accept(self, samples: np.ndarray) -> Hypothesis | None:
        """Embed the audio and keep it for PocketSphinx."""
        self.head.accept(samples)
        self._chunks.append(samples)
        return None

    def cancel(self) -> None:
        """Drop the utterance in progress."""
        self.head.cancel()
        self._chunks = []

    def finish(self) -> Hypothesis | None:
        """The head's sure answer, else the sum of both opinions."""
        if not self._chunks:
            return None
        probabilities = self.head.probabilities()
        self.head.cancel()
        audio = np.concatenate(self._chunks)
        self._chunks = []
        scores: list[SphinxScores] = []

        def ask() -> SphinxOpinion:
            self.consulted += 1
            scores.append(self.sphinx.score(audio))
            return self.sphinx_opinion(scores[0])

        decision = self.settings.decide(probabilities, self.head.model.threshold, ask)
        if decision.command is None:
            return None
        confidence = round(decision.confidence, 3)
        if decision.by_head:
            return self.head.hypothesis(decision.command, None, confidence)
        s = scores[0]
        return Hypothesis(decision.command, s.phrase, s.start, s.end, confidence)

    def sphinx_opinion(self, scores: SphinxScores) -> SphinxOpinion:
        """The fusion's view of PocketSphinx's scores for one utterance."""
        command = None if scores.phrase is None else self.sphinx.vocabulary.command(scores.phrase)
        return SphinxOpinion(command, self.sphinx.margin(scores) if command else -math.inf)


register_engine(
    "embedding",
    lambda request: EmbeddingRecognizer(request.vocabulary, request.prototypes),
    summary="speech-embedding command model (English; model in the package)",
    unavailable=_unavailable,
)
register_engine(
    "fusion",
    lambda request: FusedRecognizer(request.vocabulary, request.prototypes),
    summary="speech-embedding command model verified by PocketSphinx (English)",
    unavailable=_unavailable,
)
