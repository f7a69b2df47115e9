"""Choosing and starting a recognizer: `--engine auto|vosk|pocketsphinx`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from voice_guide.speech_in.models import find_model
from voice_guide.speech_in.recognizer import Recognizer, RecognizerError

__all__ = ["ENGINES", "EngineChoice", "create_recognizer"]

ENGINES: Final = ("auto", "vosk", "pocketsphinx")


@dataclass(frozen=True)
class EngineChoice:
    """The started recognizer and the one line that tells the user what it is."""

    recognizer: Recognizer
    message: str
    missing_phrases: list[str]


def create_recognizer(engine: str = "auto", language: str = "en") -> EngineChoice:
    """Start the engine for `language`: 'auto' is Vosk when a model is installed, else PocketSphinx.

    Raises RecognizerError with the fix when the requested engine cannot run.
    """
    if engine not in ENGINES:
        raise RecognizerError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
    model = find_model(language)
    if engine == "vosk" or (engine == "auto" and model is not None):
        if model is None:
            raise RecognizerError(
                f"no Vosk model for {language!r} is installed; "
                "get one with: voice-guide models download (or use --engine pocketsphinx)"
            )
        from voice_guide.speech_in.vosk_engine import VoskRecognizer

        recognizer = VoskRecognizer(model, language)
        message = f"listening with {recognizer.description}"
    else:
        from voice_guide.speech_in.pocketsphinx_engine import PocketSphinxRecognizer

        recognizer = PocketSphinxRecognizer(language)
        message = f"listening with {recognizer.description}"
        if model is None:
            message += "; for better accuracy install a Vosk model: voice-guide models download"
    return EngineChoice(recognizer, message, list(recognizer.missing_phrases))
