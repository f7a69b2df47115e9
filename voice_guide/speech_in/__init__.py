"""Speech in: hearing the spoken commands, ignoring everything else.

Flow: an AudioSource (microphone, WAV file, virtual room) -> 16 kHz chunks ->
Listener.feed() -> Silero VAD cuts utterances -> a Recognizer (an engine from the registry
in engines.py: PocketSphinx, Vosk, ...) judges each ->
Detection(command, heard, start, end, detected_at, confidence).
"""

from voice_guide.speech_in.audio import SAMPLE_RATE, AudioFormatError
from voice_guide.speech_in.engines import (
    EngineChoice,
    EngineRequest,
    create_recognizer,
    engine_names,
    register_engine,
)
from voice_guide.speech_in.listener import Detection, Listener
from voice_guide.speech_in.recognizer import Hypothesis, Recognizer, RecognizerError
from voice_guide.speech_in.sources import (
    AudioSource,
    DeviceError,
    FileSource,
    MicrophoneSource,
    QueueSource,
)

__all__ = [
    "SAMPLE_RATE",
    "AudioFormatError",
    "AudioSource",
    "Detection",
    "DeviceError",
    "EngineChoice",
    "EngineRequest",
    "FileSource",
    "Hypothesis",
    "Listener",
    "MicrophoneSource",
    "QueueSource",
    "Recognizer",
    "RecognizerError",
    "create_recognizer",
    "engine_names",
    "register_engine",
]
