"""The engine registry: which recognizers exist, what each was measured to do per language,
and starting one (`--engine auto|NAME`).

Each engine module registers itself with `register_engine` (bottom of
pocketsphinx_engine.py, vosk_engine.py); `BUILTIN_ENGINE_MODULES` lists the modules that
are imported before the registry is read. An engine's factory receives an `EngineRequest`
(language, its Vocabulary, the enrolled voices' prototypes) and returns a Recognizer.
`auto` picks, among the engines that can run for the language, the one with the best
measured figure for it; engines never measured for the language come after every measured one.

The figures (English): the mean share of table phrases heard over the three conditions
(clean, pink 15 dB, music 10 dB) of scripts/bench_listen.py's dev voices. An engine that
combines others (the fusion) gets a figure, and so may be picked, only when on those dev
voices it is nowhere worse than each of its parts alone: table phrases, pain recall, near
misses and false accepts per minute, in every condition (`bench_listen.py --tune` prints the
comparison). Held-out voices never decide it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

import numpy as np

from voice_guide.commands import Command, Vocabulary, vocabulary
from voice_guide.speech_in.recognizer import Recognizer, RecognizerError

__all__ = [
    "AUTO",
    "BUILTIN_ENGINE_MODULES",
    "EngineChoice",
    "EngineRequest",
    "EngineSpec",
    "Measured",
    "Prototypes",
    "create_recognizer",
    "engine_names",
    "get_engine",
    "register_engine",
]

AUTO: Final = "auto"

BUILTIN_ENGINE_MODULES: Final = (
    "voice_guide.speech_in.pocketsphinx_engine",
    "voice_guide.speech_in.vosk_engine",
    "voice_guide.speech_in.embedding_engine",
)
"""Imported (cheaply: engines load their models in the factory) before the registry is read."""

Prototypes = Mapping[Command, Sequence[np.ndarray]]


@dataclass(frozen=True)
class EngineRequest:
    """Everything an engine factory is given."""

    language: str
    vocabulary: Vocabulary
    """The phrases -> commands to listen for, with the language's filler rule."""
    prototypes: Prototypes = field(default_factory=dict)
    """Enrolled speakers' utterance embeddings per command (empty: nobody enrolled); engines
    that cannot use them ignore them."""


@dataclass(frozen=True)
class Measured:
    """An engine's figure on the listening benchmark for one language (higher is better)."""

    score: float
    """0..1; compared across engines only for the same language."""
    what: str
    """What the figure is and where it comes from, for the `auto` line."""


@dataclass(frozen=True)
class EngineSpec:
    """A registered engine."""

    name: str
    factory: Callable[[EngineRequest], Recognizer]
    measured: Mapping[str, Measured]
    """Language -> measured figure; `auto` prefers the best for the language."""
    unavailable: Callable[[str], str | None]
    """Why the engine cannot run for a language (one sentence with the fix), or None."""
    summary: str
    """A few words for the list of engines."""


@dataclass(frozen=True)
class EngineChoice:
    """The started recognizer and the one line that tells the user what it is."""

    recognizer: Recognizer
    message: str
    missing_phrases: list[str]


_ENGINES: dict[str, EngineSpec] = {}


def register_engine(
    name: str,
    factory: Callable[[EngineRequest], Recognizer],
    *,
    summary: str,
    measured: Mapping[str, Measured] | None = None,
    unavailable: Callable[[str], str | None] | None = None,
) -> EngineSpec:
    """Add an engine under `name` (a later registration under the same name replaces it).

    `measured`: language -> its benchmark figure (decides `auto`); `unavailable(language)`
    says, in one sentence with the fix, why it cannot run (default: it always can).
    """
    if name == AUTO:
        raise ValueError(f"{AUTO!r} is reserved for choosing an engine")
    spec = EngineSpec(name, factory, dict(measured or {}), unavailable or _always, summary)
    _ENGINES[name] = spec
    return spec


def _always(_language: str) -> None:
    return None


def _load_builtins() -> None:
    for module in BUILTIN_ENGINE_MODULES:
        importlib.import_module(module)


def engine_names() -> list[str]:
    """'auto' followed by every registered engine, in registration order."""
    _load_builtins()
    return [AUTO, *_ENGINES]


def get_engine(name: str) -> EngineSpec:
    """The engine registered under `name`; RecognizerError naming the registered ones."""
    _load_builtins()
    try:
        return _ENGINES[name]
    except KeyError:
        raise RecognizerError(
            f"unknown engine {name!r}; choose one of: {', '.join(engine_names())}"
        ) from None


def _ranked(language: str) -> list[EngineSpec]:
    """Engines that can run for `language`, best measured first, unmeasured last."""

    def rank(spec: EngineSpec) -> tuple[bool, float]:
        figure = spec.measured.get(language)
        return (figure is not None, figure.score if figure else 0.0)

    _load_builtins()
    ready = [s for s in _ENGINES.values() if s.unavailable(language) is None]
    return sorted(ready, key=rank, reverse=True)


def create_recognizer(
    engine: str = AUTO,
    language: str = "en",
    words: Vocabulary | None = None,
    prototypes: Prototypes | None = None,
) -> EngineChoice:
    """Start `engine` (or the best measured one for `language` with 'auto') on `words`
    (default: the language's vocabulary) and the enrolled `prototypes`.

    Raises RecognizerError with the fix when the engine cannot run.
    """
    try:
        words = words or vocabulary(language)
    except LookupError as error:
        raise RecognizerError(str(error)) from None
    request = EngineRequest(language, words, prototypes or {})
    if engine == AUTO:
        ranked = _ranked(language)
        if not ranked:
            raise RecognizerError(
                f"no speech engine can listen in {language!r}; "
                f"registered: {', '.join(_ENGINES)} (see voice-guide models list)"
            )
        spec = ranked[0]
        figure = spec.measured.get(language)
        why = f"best measured for {language}: {figure.what}" if figure else "none measured"
        prefix = f"auto chose {spec.name} ({why}); "
    else:
        spec = get_engine(engine)
        reason = spec.unavailable(language)
        if reason is not None:
            raise RecognizerError(reason)
        prefix = ""
    recognizer = spec.factory(request)
    message = f"{prefix}listening with {recognizer.description}"
    return EngineChoice(recognizer, message, list(recognizer.missing_phrases))
