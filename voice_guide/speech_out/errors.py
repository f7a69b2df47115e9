"""Errors of the speech-out side. Each message is one sentence that says how to fix it."""

from __future__ import annotations

from voice_guide.errors import VoiceGuideError


class SpeechOutError(VoiceGuideError):
    """Base of every speech-out error; its message is meant for the user as is."""


class SynthesizerUnavailableError(SpeechOutError):
    """pyttsx3 or espeak-ng is missing or cannot start."""


class UnknownVoiceError(SpeechOutError):
    """The requested voice is not installed."""


class RenderError(SpeechOutError):
    """One utterance could not be rendered (the session prints it instead)."""


class OutputDeviceError(SpeechOutError):
    """No usable audio output device (or PortAudio is missing)."""
