"""Speech out: the guide's voice, rendered ahead, played interruptibly, timed to the sample.

    text -> EspeakRenderer (pyttsx3, one worker thread) -> RenderCache (resampled, prerender)
         -> GuideSpeaker.say -> Playback (pull-based; records start/end stream times)
         -> pulled by OutputDevice (PortAudio callback), the virtual room, or a WAV track.

Nothing here imports sounddevice until an OutputDevice is asked for.
"""

from voice_guide.audio import AudioBuffer
from voice_guide.speech_out.cache import RenderCache
from voice_guide.speech_out.device import (
    OutputDevice,
    OutputDeviceInfo,
    find_output_device,
    output_devices,
)
from voice_guide.speech_out.earcons import EARCON_NAMES, earcon
from voice_guide.speech_out.errors import (
    OutputDeviceError,
    RenderError,
    SpeechOutError,
    SynthesizerUnavailableError,
    UnknownVoiceError,
)
from voice_guide.speech_out.playback import Playback, PlayHandle
from voice_guide.speech_out.renderer import (
    EspeakRenderer,
    Renderer,
    VoiceInfo,
    VoiceSettings,
    installed_voices,
    resolve_voice,
)
from voice_guide.speech_out.speaker import GuideSpeaker, Speaker, TextSpeaker

__all__ = [
    "EARCON_NAMES",
    "AudioBuffer",
    "EspeakRenderer",
    "GuideSpeaker",
    "OutputDevice",
    "OutputDeviceError",
    "OutputDeviceInfo",
    "PlayHandle",
    "Playback",
    "RenderCache",
    "RenderError",
    "Renderer",
    "Speaker",
    "SpeechOutError",
    "SynthesizerUnavailableError",
    "TextSpeaker",
    "UnknownVoiceError",
    "VoiceInfo",
    "VoiceSettings",
    "earcon",
    "find_output_device",
    "installed_voices",
    "output_devices",
    "resolve_voice",
]
