"""Engines on the speech embedding: the command head alone, and fused with PocketSphinx.

`EmbeddingRecognizer` computes the embeddings while the utterance is spoken
(embedding.EmbeddingStream), so at its end only the pooling and the head are left (about a
millisecond). It has no transcript: its Hypothesis names the command only.

`FusedRecognizer` puts pain first: the head's "ouch" is acted on at once. Unless the head is
overwhelmingly sure the utterance is no command, PocketSphinx decodes it too, and a small
logistic model over both opinions (FusionSettings, fitted on the dev voices by
scripts/bench_listen.py --tune) picks the command, or none: PocketSphinx's accepted phrase
needs little support from the head, a command PocketSphinx did not accept needs a head that
is far surer. Two engines whose errors differ rarely both accept a wrong command.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

import numpy as np

from voice_guide.commands import Command, Vocabulary
from voice_guide.speech_in.audio import SAMPLE_RATE
from voice_guide.speech_in.command_model import OTHER, CommandModel, Prototypes
from voice_guide.speech_in.embedding import EmbeddingStream, SpeechEmbedding
from voice_guide.speech_in.engines import Measured, register_engine
from voice_guide.speech_in.listener import MAX_EXTRA_SPEECH
from voice_guide.speech_in.recognizer import Hypothesis, RecognizerError
from voice_guide.speech_in.vad import SegmenterSettings

if TYPE_CHECKING:
    from voice_guide.speech_in.pocketsphinx_engine import SphinxScores

__all__ = [
    "FUSION_FEATURES",
    "EmbeddingRecognizer",
    "FusedRecognizer",
    "FusionDecision",
    "FusionSettings",
    "SphinxOpinion",
    "candidates",
    "fusion_features",
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


FUSION_FEATURES: Final = (
    "head log-odds of the command",
    "head log-odds of other",
    "PocketSphinx's wording is the command",
    "PocketSphinx alone acts on it",
    "PocketSphinx's verifier margin (-10 when its wording is another command)",
    "it is the head's best",
    "it is a safety command",
    "PocketSphinx's wording covers the speech",
)
"""What the fusion's logistic model weighs for one candidate command (`fusion_features`)."""


@dataclass(frozen=True)
class SphinxOpinion:
    """What PocketSphinx says about one utterance, as the fusion weighs it."""

    command: Command | None
    """The command of the grammar's wording, or None (no wording found)."""
    margin: float
    """Its verifier's log-odds that the utterance is that wording and nothing else."""
    accepted: bool
    """Whether PocketSphinx alone would act on it (its verifier, and the Listener's limit on
    speech outside the phrase)."""
    whole: bool
    """Whether the wording leaves no more speech outside it than the Listener allows."""


@dataclass(frozen=True)
class FusionDecision:
    """The fusion's verdict on one utterance."""

    command: Command | None
    consulted: bool
    """Whether PocketSphinx was asked (it costs its two decodings)."""
    confidence: float


@dataclass(frozen=True)
class FusionSettings:
    """How the head's opinion and PocketSphinx's become one decision.

    Pain first: the head's p(pain) at or above `pain_head` is acted on at once. Otherwise a
    logistic model (`weights`, `bias` over FUSION_FEATURES, fitted with voice-wise
    cross-validation on the dev voices by scripts/bench_listen.py --tune) gives each
    candidate command (PocketSphinx's, and the head's two most probable) the probability that
    it was said; the candidate furthest above its bar is acted on. The bar is `keep` for the
    command PocketSphinx alone acts on, `add` for one it does not (the head must be far surer
    to add a command), and at most `safety` for pause and pain.
    """

    weights: tuple[float, ...] = (0.829, 0.065, -2.087, 1.819, 0.335, 0.291, 0.236, -0.261)
    bias: float = 2.210
    keep: float = 0.4
    add: float = 0.8
    safety: float = 0.3
    pain_head: float = 0.35
    """The head's p(pain) at or above which pain is acted on without asking PocketSphinx."""
    sure_other: float = 0.999
    """The head's p(other) at or above which PocketSphinx is not asked (1.0: always asked)."""

    def decide(
        self, probabilities: Mapping[Command | str, float], ask: Callable[[], SphinxOpinion]
    ) -> FusionDecision:
        """The fused verdict from the head's `probabilities`, calling `ask` for PocketSphinx's
        opinion unless pain or "no command" is settled by the head alone."""
        pain = probabilities.get(Command.PAIN, 0.0)
        if pain >= self.pain_head:
            return FusionDecision(Command.PAIN, False, pain)
        if probabilities[OTHER] >= self.sure_other:
            return FusionDecision(None, False, probabilities[OTHER])
        opinion = ask()
        best: tuple[float, Command, float] | None = None
        for command in candidates(probabilities, opinion):
            q = self.probability(fusion_features(probabilities, opinion, command))
            lead = q - self.bar(command, opinion)
            if lead >= 0 and (best is None or lead > best[0]):
                best = (lead, command, q)
        if best is None:
            return FusionDecision(None, True, 0.0)
        return FusionDecision(best[1], True, best[2])

    def probability(self, features: tuple[float, ...]) -> float:
        """The logistic model's probability that a candidate with these features was said."""
        z = self.bias + sum(w * f for w, f in zip(self.weights, features, strict=True))
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))

    def bar(self, command: Command, opinion: SphinxOpinion) -> float:
        """The probability `command` needs: less when PocketSphinx alone acts on it, and at
        most `safety` for pause and pain (a missed "ouch" costs pain, a false one a question)."""
        bar = self.keep if opinion.accepted and opinion.command is command else self.add
        return min(bar, self.safety) if command.is_safety else bar


def candidates(
    probabilities: Mapping[Command | str, float], opinion: SphinxOpinion
) -> list[Command]:
    """The commands the fusion weighs: PocketSphinx's and the head's two most probable."""
    ranked = sorted((k for k in probabilities if k != OTHER), key=probabilities.__getitem__)
    found = [Command(k) for k in ranked[-2:][::-1]]
    if opinion.command is not None and opinion.command not in found:
        found.insert(0, opinion.command)
    return found


def fusion_features(
    probabilities: Mapping[Command | str, float], opinion: SphinxOpinion, command: Command
) -> tuple[float, ...]:
    """FUSION_FEATURES of one candidate `command`."""
    agree = opinion.command is command
    best = max(probabilities, key=probabilities.__getitem__)
    return (
        _log_odds(probabilities.get(command, 0.0)),
        _log_odds(probabilities[OTHER]),
        float(agree),
        float(agree and opinion.accepted),
        max(-10.0, min(10.0, opinion.margin)) if agree else -10.0,
        float(best == command),
        float(command.is_safety),
        float(agree and opinion.whole),
    )


def _log_odds(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


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
        return "the speech-embedding command model fused with PocketSphinx"

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
        """The fused decision (FusionSettings.decide), spanning the whole utterance."""
        if not self._chunks:
            return None
        probabilities = self.head.probabilities()
        self.head.cancel()
        audio = np.concatenate(self._chunks)
        self._chunks = []
        phrases: list[str | None] = []

        def ask() -> SphinxOpinion:
            self.consulted += 1
            scores = self.sphinx.score(audio)
            phrases.append(scores.phrase)
            return self.sphinx_opinion(scores, len(audio) / SAMPLE_RATE)

        decision = self.settings.decide(probabilities, ask)
        if decision.command is None:
            return None
        phrase = phrases[0] if phrases and phrases[0] else None
        if phrase is not None and self.sphinx.vocabulary.command(phrase) is not decision.command:
            phrase = None
        return self.head.hypothesis(decision.command, phrase, decision.confidence)

    def extra_speech(self, scores: SphinxScores, seconds: float) -> float:
        """Seconds of an utterance `seconds` long outside PocketSphinx's phrase (padding
        excluded), as the Listener measures it."""
        return seconds - self.sphinx.settings.padding - (scores.end - scores.start)

    def sphinx_opinion(self, scores: SphinxScores, seconds: float) -> SphinxOpinion:
        """The fusion's view of PocketSphinx's scores for an utterance `seconds` long."""
        sphinx = self.sphinx
        command = None if scores.phrase is None else sphinx.vocabulary.command(scores.phrase)
        if command is None:
            return SphinxOpinion(None, -math.inf, False, False)
        whole = self.extra_speech(scores, seconds) <= MAX_EXTRA_SPEECH
        accepted = whole and sphinx.verdict(scores) is command
        return SphinxOpinion(command, sphinx.margin(scores), accepted, whole)


register_engine(
    "embedding",
    lambda request: EmbeddingRecognizer(request.vocabulary, request.prototypes),
    summary="speech-embedding command model (English; model in the package)",
    unavailable=_unavailable,
)
register_engine(
    "fusion",
    lambda request: FusedRecognizer(request.vocabulary, request.prototypes),
    summary="speech-embedding command model fused with PocketSphinx (English)",
    measured={
        "en": Measured(
            0.763,
            "0.766/0.795/0.728 of commands on dev voices, clean/pink/music, cross-validated, "
            "nowhere worse than PocketSphinx alone (bench_listen --tune, bf72504)",
        )
    },
    unavailable=_unavailable,
)
