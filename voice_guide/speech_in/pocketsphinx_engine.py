"""PocketSphinx: the embedded English engine (its model ships in the pocketsphinx wheel).

A grammar alone maps any speech onto some command ("i love this song" -> "a bit stronger"),
so every utterance is decoded twice, whole (`full_utt`: cepstral mean over the
utterance, better under music):
  1. with a JSGF grammar of the vocabulary, `[<before>] <phrase> [<after>]` (one optional
     filler each side; bestpath off: the lattice pass returned partial or empty hypotheses):
     the wording, where it is, and its acoustic score;
  2. with a word loop: the 2000 most frequent words of the bundled en-us language model plus
     the phrase words, weighted by their unigram probabilities. It transcribes ordinary
     speech roughly ("did you see the game last night") and a command as itself, so it is
     the competitor a command must not lose to.
A small logistic model (weights fitted on dev voices by scripts/fit_sphinx_verifier.py) turns
five features into the decision: coverage (phrase frames / the word loop's speech frames:
"next week we fly to Lisbon" leaves most speech unexplained), length per phone, the grammar's
acoustic score against the word loop's, the phone edit distance between the word loop's
transcript and the phrase, and the number of words the word loop heard.

The decoder runs in a child process of its own (sphinx_process.py): the binding holds the
GIL for a whole decoding, which in the session's process stalled the audio callbacks.
"""

from __future__ import annotations

import functools
import math
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import numpy as np

from voice_guide.commands import Command, Vocabulary
from voice_guide.speech_in.audio import SAMPLE_RATE, to_int16_bytes
from voice_guide.speech_in.engines import Measured, register_engine
from voice_guide.speech_in.recognizer import Hypothesis, RecognizerError
from voice_guide.speech_in.sphinx_process import (
    DecoderProcess,
    DecoderSetup,
    common_words_in_child,
)

__all__ = ["PocketSphinxRecognizer", "SphinxScores", "SphinxSettings"]

_FRAME = 0.01  # PocketSphinx frame shift (seconds)
_NON_WORDS = {"<s>", "</s>", "<sil>", "(NULL)", "[NOISE]", "[SPEECH]", "++NOISE++", "++BREATH++"}
_SILENCE = {"<s>", "</s>", "<sil>", "(NULL)", "[NOISE]"}
_LOG10_PER_LOGMATH = math.log10(1.0001)  # PocketSphinx's log base is 1.0001
_NOISE_FLOOR = 1e-3  # -60 dBFS: what a quiet microphone gives


@dataclass(frozen=True)
class SphinxSettings:
    """The verifier's logistic model, fitted by scripts/fit_sphinx_verifier.py (dev voices).

    margin = bias + sum(weight * clipped feature); accepted when margin >= min_margin.
    Feature order: coverage, frames per phone, word-loop ratio, word distance, word count.
    """

    weights: tuple[float, float, float, float, float] = (5.062, -0.1076, 15.74, -2.743, -0.5586)
    bias: float = 1.84
    min_margin: float = 1.0
    """Chosen on the dev voices: 0.38 false accepts per minute of talk, 96 % of commands."""
    safety_margin: float = -3.0
    """For safety commands (pause, pain): a false "ouch" costs a lighter stroke, a missed one
    costs pain, so they need less evidence (dev: all of them kept, no false accept in talk;
    the word loop transcribes a short "ouch" badly: "though she", "bunch")."""
    filler_penalty: float = 1.0
    """Extra margin needed per filler word around the phrase ("okay ... please": 2 words). A
    filler lets the grammar explain speech a phrase alone could not, so conversation forced
    onto "[filler] phrase [filler]" scores higher than onto a bare phrase (measured on flite
    slt/rms and espeak-ng en-us: 20 conversation sentences of 89 accepted without the
    penalty, 2 with it; natural wordings 94 -> 84 of 101 heard)."""
    safety_filler_penalty: float = 2.0
    """The same for safety commands, from their lower base ("oh that hurts" still passes)."""
    clip: tuple[float, float, float, float, float] = (1.0, 40.0, 1.0, 3.0, 8.0)
    """Upper limits applied to the features first: beyond them, more is no more telling."""
    min_phones: int = 4
    """Short words are said slowly ("pause": 3 phones, 0.55 s): count at least this many."""
    padding: float = 0.33
    """Non-speech the segmenter adds around an utterance (pre-roll + end wait, seconds)."""
    common_words: int = 2000
    """Size of the word loop: the most frequent words of the bundled language model."""

    def margin(self, features: Sequence[float]) -> float:
        """The verifier's log-odds of SphinxScores.features() (see the class docstring)."""
        clipped = (min(f, c) for f, c in zip(features, self.clip, strict=True))
        return self.bias + sum(w * f for w, f in zip(self.weights, clipped, strict=True))


@dataclass(frozen=True)
class SphinxScores:
    """What the two decodings of one utterance say (times in seconds from its start)."""

    phrase: str | None
    start: float
    end: float
    coverage: float
    """Share of the word loop's speech frames that the phrase explains (0..1)."""
    frames_per_phone: float
    """Utterance length (padding excluded) per phone of the phrase (10 ms frames)."""
    word_ratio: float
    """(grammar - word loop) acoustic score per frame: near zero or above for a command."""
    word_distance: float
    """Phone edit distance from the word loop's transcript to the phrase, per phrase phone."""
    word_count: int
    """Words in the word loop's transcript."""
    heard: str
    """The word loop's transcript (for diagnostics)."""

    def features(self) -> tuple[float, float, float, float, float]:
        """The verifier's inputs, in SphinxSettings.weights order."""
        return (
            self.coverage,
            self.frames_per_phone,
            self.word_ratio,
            self.word_distance,
            float(self.word_count),
        )


def _model_files() -> tuple[Path, Path, Path]:
    """Acoustic model, dictionary and language model bundled in the pocketsphinx wheel."""
    import pocketsphinx

    root = Path(pocketsphinx.get_model_path()) / "en-us"
    files = (
        root / "en-us",
        root / "cmudict-en-us.dict",
        root / "en-us.lm.bin",
    )
    missing = [str(p) for p in files if not p.exists()]
    if missing:
        raise RecognizerError(
            f"the pocketsphinx package lacks its English model ({', '.join(missing)}); "
            "reinstall it with: pip install --force-reinstall pocketsphinx"
        )
    return files


def _entries(dictionary: Path, words: set[str]) -> str:
    """The dictionary's lines for `words`, every pronunciation of each ("next", "next(2)")."""
    with dictionary.open(encoding="utf-8") as lines:
        return "".join(line for line in lines if line.split("(", 1)[0].split(" ", 1)[0] in words)


@functools.lru_cache(maxsize=4)
def _common_words(lm_path: Path, dictionary: Path, count: int) -> Mapping[str, float]:
    """The `count` most probable words of a language model: word -> log10 unigram probability.
    Picked in a short-lived process: loading the bundled model raised this process's memory
    from 31 to 89 MB, and 15 MB of it stayed for the whole session. Once per process: the
    bundled model does not change."""
    try:
        picked = common_words_in_child(lm_path, dictionary, count)
    except (OSError, ValueError, subprocess.SubprocessError) as error:
        raise RecognizerError(
            f"PocketSphinx's language model could not be read ({error}); reinstall it with: "
            "pip install --force-reinstall pocketsphinx"
        ) from error
    return MappingProxyType({w: p * _LOG10_PER_LOGMATH for w, p in picked.items()})


def _pronunciations(lexicon: str) -> dict[str, str]:
    """Word -> phones of its first pronunciation, from dictionary lines ("next(2)" skipped)."""
    pairs = (line.split(maxsplit=1) for line in lexicon.splitlines())
    return {p[0]: p[1] for p in pairs if len(p) == 2 and "(" not in p[0]}


def _word_loop(common: Mapping[str, float], phrase_words: set[str]) -> dict[str, float]:
    """The word loop's words (word -> log10 unigram probability): the `common` words and the
    phrase words, a phrase word the model lacks as likely as a rare word."""
    return {**dict.fromkeys(phrase_words, -5.0), **common}


def _unigram_arpa(probabilities: dict[str, float]) -> str:
    """A unigram language model in ARPA text form."""
    lines = ["\\data\\", f"ngram 1={len(probabilities) + 2}", "", "\\1-grams:"]
    lines += ["-1.0 </s>", "-99.0 <s>"]
    lines += [f"{p:.4f} {w}" for w, p in sorted(probabilities.items())]
    return "\n".join([*lines, "", "\\end\\", ""])


def _edit_distance(a: list[str], b: list[str]) -> int:
    """Levenshtein distance between two phone sequences."""
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        current = [i]
        for j, y in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y)))
        previous = current
    return previous[-1]


def _words(segments: list[tuple[str, int, int, int]]) -> list[str]:
    """Spoken words of a decoding, without fillers and pronunciation marks ("next(2)")."""
    return [s[0].split("(")[0] for s in segments if s[0] not in _NON_WORDS]


def _unavailable(language: str) -> str | None:
    if language == "en":
        return None
    return (
        f"PocketSphinx here has an English model only, not {language!r}; "
        "use --engine vosk with a Vosk model for that language"
    )


def _jsgf(phrases: list[str], bare: list[str], before: list[str], after: list[str]) -> str:
    """The grammar: one phrase, optionally with one filler before and one after it; a `bare`
    phrase (one that is also a filler, "okay") only alone."""

    def rule(items: list[str]) -> str:
        return " | ".join(f"( {item} )" for item in items)

    framed = [p for p in phrases if p not in bare]
    lines = ["#JSGF V1.0;", "grammar commands;", f"<phrase> = {rule(framed)} ;"]
    body = "<phrase>"
    if before:
        lines.append(f"<before> = {rule(before)} ;")
        body = f"[ <before> ] {body}"
    if after:
        lines.append(f"<after> = {rule(after)} ;")
        body = f"{body} [ <after> ]"
    alone = [p for p in phrases if p in bare]
    if alone:
        body = f"( {body} ) | {rule(alone)}"
    return "\n".join([*lines, f"public <command> = {body} ;", ""])


class PocketSphinxRecognizer:
    """Command recognizer on PocketSphinx with a word-loop verifier (English only)."""

    def __init__(self, words: Vocabulary, settings: SphinxSettings | None = None) -> None:
        """Listen for `words` (phrases and fillers with a word the dictionary lacks are left
        out and listed in `missing_phrases`)."""
        reason = _unavailable(words.language)
        if reason is not None:
            raise RecognizerError(reason)
        self._language = words.language
        self.settings = settings or SphinxSettings()
        hmm, dictionary, word_lm = _model_files()
        common = _common_words(word_lm, dictionary, self.settings.common_words)
        # Only the words it can hear: the whole dictionary (134,000 words) costs about 21 MB
        # in the decoder, these few thousand entries under 1 MB, decoded the same.
        lexicon = _entries(dictionary, {*common, *words.words()})
        self._phones = _pronunciations(lexicon)
        self.vocabulary = words
        known = self._known
        self.missing_phrases = [
            t for t in (*words.phrases, *words.before, *words.after) if not known(t)
        ]
        self.phrases = [p for p in words.phrases if known(p)]
        if not self.phrases:
            raise RecognizerError("no command phrase is in the PocketSphinx dictionary")
        before = [f for f in words.before if known(f)]
        after = [f for f in words.after if known(f)]
        loop_words = {w for text in (*self.phrases, *before, *after) for w in text.split()}
        self._decoder = DecoderProcess(
            DecoderSetup(
                hmm=str(hmm),
                lexicon=lexicon,
                grammar=_jsgf(self.phrases, words.bare, before, after),
                word_lm=_unigram_arpa(_word_loop(common, loop_words)),
            )
        )
        self._noise = (
            np.random.default_rng(0).normal(0, _NOISE_FLOOR, SAMPLE_RATE).astype(np.float32)
        )
        self._chunks: list[np.ndarray] = []

    def _known(self, text: str) -> bool:
        return all(w in self._phones for w in text.split())

    def _phone_list(self, text: str) -> list[str]:
        """Phones of a text, first pronunciation of each word."""
        return [ph for w in text.split() for ph in self._phones.get(w, "").split()]

    @property
    def language(self) -> str:
        """Language code of the phrase table it listens for."""
        return self._language

    @property
    def description(self) -> str:
        """Engine and model in a few words."""
        return "PocketSphinx with its bundled en-us model and a word-loop verifier"

    @property
    def decoder_cpu(self) -> float:
        """CPU seconds its decoder process has spent so far (not in this process's time)."""
        return self._decoder.cpu_seconds

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
        """Decode the utterance and return its command phrase if the verifier accepts it."""
        if not self._chunks:
            return None
        scores = self.score(np.concatenate(self._chunks))
        self._chunks = []
        command = self.verdict(scores)
        if command is None:
            return None
        confidence = 1.0 / (1.0 + math.exp(-self.margin(scores)))
        return Hypothesis(command, scores.phrase, scores.start, scores.end, round(confidence, 3))

    def verdict(self, scores: SphinxScores) -> Command | None:
        """The command of the scored phrase if the verifier accepts it, else None."""
        command = None if scores.phrase is None else self.vocabulary.command(scores.phrase)
        if command is None:
            return None
        return (
            command if self.margin(scores) >= self.needed_margin(command, scores.phrase) else None
        )

    def needed_margin(self, command: Command, wording: str) -> float:
        """The margin a wording must reach: less for safety commands, more per filler word."""
        s = self.settings
        core = self.vocabulary.core(wording) or wording
        fillers = len(wording.split()) - len(core.split())
        if command.is_safety:
            return s.safety_margin + s.safety_filler_penalty * fillers
        return s.min_margin + s.filler_penalty * fillers

    def margin(self, scores: SphinxScores) -> float:
        """The verifier's log-odds that the utterance is the phrase and nothing else."""
        return self.settings.margin(scores.features())

    def _with_noise_floor(self, audio: np.ndarray) -> np.ndarray:
        """Add a -60 dBFS noise floor: on digital silence (espeak-ng writes long runs of exact
        zeros) PocketSphinx called whole utterances silence and the grammar found no path.
        (Filling only the digital silence was tried: worse on the dev voices.)"""
        return audio + np.resize(self._noise, len(audio))

    def score(self, audio: np.ndarray) -> SphinxScores:
        """The two decodings of one utterance (16 kHz float32) reduced to the features."""
        pcm = to_int16_bytes(self._with_noise_floor(audio))
        grammar, loop = self._decoder.decode(("commands", "words"), pcm)
        words = [g for g in grammar if g[0] not in _NON_WORDS]
        speech_frames = sum(w[2] - w[1] + 1 for w in loop if w[0] not in _SILENCE)
        heard = " ".join(_words(loop))
        if not words or speech_frames == 0:
            return SphinxScores(None, 0.0, 0.0, 0.0, math.inf, -math.inf, math.inf, 0, heard)
        phrase = " ".join(_words(words))
        phrase_phones = self._phone_list(phrase)
        frames = max(1, len(audio) * 100 // SAMPLE_RATE)
        s = self.settings
        spoken_frames = max(1.0, frames - s.padding * 100)
        distance = _edit_distance(self._phone_list(heard), phrase_phones)
        return SphinxScores(
            phrase=phrase if self.vocabulary.command(phrase) is not None else None,
            start=words[0][1] * _FRAME,
            end=(words[-1][2] + 1) * _FRAME,
            coverage=min(1.0, sum(w[2] - w[1] + 1 for w in words) / speech_frames),
            frames_per_phone=spoken_frames / max(len(phrase_phones), s.min_phones),
            word_ratio=(sum(g[3] for g in grammar) - sum(w[3] for w in loop)) / frames,
            word_distance=distance / max(1, len(phrase_phones)),
            word_count=len(heard.split()),
            heard=heard,
        )


register_engine(
    "pocketsphinx",
    lambda request: PocketSphinxRecognizer(request.vocabulary),
    summary="PocketSphinx, English model bundled (nothing to download)",
    measured={
        "en": Measured(
            0.695, "0.724/0.732/0.628 of commands on dev voices, clean/pink/music (bench_listen)"
        )
    },
    unavailable=_unavailable,
)
