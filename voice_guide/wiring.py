"""Where the parts of a session are built and joined, outside the command line.

The speaker (espeak-ng through the render cache into a Playback), the listener (the engine
chosen for the routine's language and its own phrases), the session database and the live
audio loop (microphone, self-voice gate, device watch) are made here from settings, so the
CLI, the virtual room and the benchmarks build them the same way. Nothing here prints:
what the user should read goes to the `notify` callback.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from voice_guide.live import DeviceWatch, SpeakerKeeper, microphone_blocks
from voice_guide.recordings import RecordingsError, has_recordings, open_recordings
from voice_guide.routine.loader import LoadedRoutine
from voice_guide.routine.model import Routine
from voice_guide.routine.vocabulary import routine_vocabulary
from voice_guide.runner import SessionRunner, run_audio
from voice_guide.self_voice import SelfVoiceGate
from voice_guide.session import SessionState
from voice_guide.speech_in.audio import SAMPLE_RATE
from voice_guide.speech_in.engines import Prototypes, create_recognizer
from voice_guide.speech_in.listener import Listener
from voice_guide.speech_out.cache import RenderCache
from voice_guide.speech_out.device import OutputDevice
from voice_guide.speech_out.playback import Playback
from voice_guide.speech_out.recorded import RecordedRenderer, Recordings
from voice_guide.speech_out.renderer import EspeakRenderer, Renderer, VoiceSettings
from voice_guide.speech_out.speaker import GuideSpeaker
from voice_guide.store import Store

__all__ = [
    "VIRTUAL_ROOM",
    "LiveSettings",
    "guide_speaker",
    "listen_live",
    "open_store",
    "routine_recordings",
    "routine_voice",
    "session_renderer",
    "start_listener",
]

Notify = Callable[[str], None]


@dataclass(frozen=True)
class LiveSettings:
    """The tunables of a live session (real devices unless said otherwise)."""

    render_timeout: float = 2.0
    """Seconds (0.1 to 60) a sentence may take to render before it is printed instead: a
    sentence renders in about 20 ms, and a hung synthesizer must not freeze the session."""
    echo_tail: float = 0.8
    """Seconds (0 to 5) after the guide's speech during which its echo may still come back
    on real devices; the output device's own latency is added to it."""
    exit_grace: float = 5.0
    """Seconds (1 to 60) a stop signal leaves for closing the devices before the process
    exits regardless (the state is checkpointed already; a sound server can hang a close)."""
    earcons: bool = True
    """Tones between steps and on commands (False: speech only)."""
    silence_timeout: float = 3.0
    """Seconds (0.5 to 30) without audio from the microphone before it counts as gone (a
    PulseAudio device can take over a second to deliver its first block)."""
    device_retry: float = 2.0
    """Seconds (0.5 to 60) between attempts to reopen a microphone or speaker that went away
    (the session stays paused meanwhile)."""


VIRTUAL_ROOM = LiveSettings(render_timeout=30.0)
"""The virtual room: no person waits on the guide, so a loaded machine may take its time to
render rather than print sentences the room would then never hear."""


def routine_voice(
    model: Routine, voice: str | None, rate: int | None, volume: float | None
) -> VoiceSettings:
    """The routine's voice settings, with the command line's on top."""
    own = VoiceSettings().overridden(model.voice.name, model.voice.rate, model.voice.volume)
    return own.overridden(voice, rate, volume)


def routine_recordings(loaded: LoadedRoutine, notify: Notify) -> Recordings | None:
    """The routine's recordings (`voice-guide record`), None when it has none; recordings
    that cannot be used are reported through `notify` and the synthetic voice says all."""
    if not has_recordings(loaded):
        return None
    try:
        return open_recordings(loaded)
    except RecordingsError as error:
        notify(f"{error}; the synthetic voice says everything")
        return None


def session_renderer(
    model: Routine, voice: VoiceSettings, recordings: Recordings | None = None
) -> Renderer:
    """The guide's voice: `recordings` where there are some, espeak-ng for the rest."""
    renderer = EspeakRenderer(voice, model.language)
    return renderer if recordings is None else RecordedRenderer(renderer, recordings)


def guide_speaker(
    model: Routine,
    voice: VoiceSettings,
    sample_rate: int,
    settings: LiveSettings,
    recordings: Recordings | None = None,
) -> GuideSpeaker:
    """The guide's voice for `model` (see session_renderer), cached, into a Playback at
    `sample_rate` (the output device's, or 16 kHz for the virtual room)."""
    cache = RenderCache(session_renderer(model, voice, recordings), sample_rate)
    return GuideSpeaker(
        cache, Playback(sample_rate), settings.earcons, render_timeout=settings.render_timeout
    )


def start_listener(
    engine: str, model: Routine, notify: Notify, prototypes: Prototypes | None = None
) -> Listener:
    """The listener for `model`'s language and its own phrases (and the enrolled voices'
    `prototypes`); `notify` hears which engine listens and which phrases it cannot hear."""
    try:
        words = routine_vocabulary(model)
    except LookupError:
        words = None  # create_recognizer says which languages there are
    choice = create_recognizer(engine, model.language, words, prototypes)
    notify(choice.message)
    if choice.missing_phrases:
        missing = ", ".join(repr(p) for p in choice.missing_phrases)
        notify(f"not in the model's vocabulary, not heard: {missing}")
    return Listener(choice.recognizer)


def open_store(notify: Notify) -> Store:
    """The user's session database (checkpoints, history, profiles); use as a context
    manager. `notify` hears when a damaged file was moved aside. Raises StoreError with the
    reason and the fix."""
    store = Store()
    if store.notice:
        notify(store.notice)
    return store


def listen_live(
    runner: SessionRunner,
    listener: Listener,
    input_device: str | None,
    output: OutputDevice | None,
    settings: LiveSettings,
    *,
    offset: float = 0.0,
    restore: SessionState | None = None,
) -> float:
    """Run the session on the microphone: its samples are the session clock (`offset`
    seconds at the start). A device that goes away pauses the session until it is back.
    Returns the session time at the end."""
    speaker = runner.speaker
    # With printed speech nothing ever plays, and the gate lets every command through.
    playback = speaker.playback if isinstance(speaker, GuideSpeaker) else Playback(SAMPLE_RATE)
    watch = DeviceWatch(runner, lambda: offset + listener.stream_time)
    keeper = SpeakerKeeper(output, watch, settings.device_retry) if output else None
    blocks = microphone_blocks(
        input_device,
        watch,
        silence_timeout=settings.silence_timeout,
        retry_every=settings.device_retry,
    )
    # Device buffers delay the echo on top of the room: a wider tail than the virtual room's.
    tail = settings.echo_tail + (output.latency if output else 0.0)
    return run_audio(
        runner,
        listener,
        blocks,
        SelfVoiceGate(playback, echo_tail=tail, language=listener.recognizer.language),
        offset=offset,
        restore=restore,
        on_block=(lambda now: keeper.check()) if keeper else None,
        playback_clock=lambda: playback.clock,
    )
