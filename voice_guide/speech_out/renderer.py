"""Text -> AudioBuffer with pyttsx3's espeak-ng driver, on one dedicated worker thread.

Never `runAndWait()` on the session or audio thread: it hangs, speaks once or blocks
(pyttsx3 #22, #126, #131, #327). Instead every utterance is rendered to an in-memory WAV on
one worker thread and played by our own player, so playback is timed and interruptible.

pyttsx3 2.99 facts this module works around (measured, see shared/PITFALLS.md):
- `pyttsx3.init()` returns one cached engine per process: all synthesis stays on one worker;
- the first `runAndWait()` may return before the audio is written: we warm up once and
  then wait for the `finished-utterance` notification of every utterance;
- only the last `save_to_file` before a `runAndWait` is written: one utterance per run;
- the driver prints "Audio saved to ..." on stdout: its module-level `print` is silenced;
- `getProperty('rate')` lies and an unknown voice does not raise: we keep the settings
  ourselves and check voices against the installed list before using them.
"""

from __future__ import annotations

import atexit
import difflib
import io
import itertools
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout  # builtin only from 3.11
from dataclasses import dataclass, replace
from typing import Any, Final, Protocol

import numpy as np

from voice_guide.audio import AudioBuffer, AudioFormatError
from voice_guide.routine.speech_time import DEFAULT_RATE
from voice_guide.speech_out.errors import (
    RenderError,
    SynthesizerUnavailableError,
    UnknownVoiceError,
)

ESPEAK_SAMPLE_RATE: Final = 22050
"""The pyttsx3 espeak driver always writes 22050 Hz, 16-bit mono."""

_INSTALL_ESPEAK: Final = (
    "Speech synthesis needs espeak-ng: install the Debian package espeak-ng "
    "(sudo apt install espeak-ng), or use --text to print what the guide says."
)


@dataclass(frozen=True)
class VoiceSettings:
    """How the guide sounds."""

    voice: str | None = None
    """espeak-ng voice id, name or language (e.g. 'gmw/en-us', 'English (America)', 'en-us',
    optionally with a variant such as '+f3'); None: the default voice of the language."""
    rate: int = DEFAULT_RATE
    """Speaking rate in words per minute, 60..400."""
    volume: float = 1.0
    """Loudness, 0.0..1.0."""

    def __post_init__(self) -> None:
        if not 60 <= self.rate <= 400:
            raise ValueError(f"rate {self.rate} is out of range; use 60 to 400 words per minute")
        if not 0.0 <= self.volume <= 1.0:
            raise ValueError(f"volume {self.volume} is out of range; use 0.0 to 1.0")

    def overridden(
        self, voice: str | None = None, rate: int | None = None, volume: float | None = None
    ) -> VoiceSettings:
        """These settings with the given (non-None) values replacing ours."""
        return replace(
            self,
            voice=self.voice if voice is None else voice,
            rate=self.rate if rate is None else rate,
            volume=self.volume if volume is None else volume,
        )


@dataclass(frozen=True)
class VoiceInfo:
    """One installed espeak-ng voice."""

    id: str
    name: str
    languages: tuple[str, ...]
    gender: str | None

    def speaks(self, language: str) -> bool:
        """True when the voice speaks `language` ('en' matches 'en-us' and 'en-gb')."""
        language = language.lower()
        return any(lang == language or lang.startswith(language + "-") for lang in self.languages)


class Renderer(Protocol):
    """Turns text into audio; `submit` renders in the background."""

    @property
    def settings(self) -> VoiceSettings:
        """The voice settings every utterance is rendered with (voice resolved to an id)."""
        ...

    def render(self, text: str) -> AudioBuffer:
        """Render one utterance and wait for it."""
        ...

    def submit(self, text: str, urgent: bool = True) -> Future[AudioBuffer]:
        """Start rendering one utterance; the future holds the audio or a RenderError.
        Non-urgent work (pre-rendering) waits behind urgent work and can be cancelled while
        it waits."""
        ...


class _Synthesizer:
    """The pyttsx3 espeak engine. Only ever touched from the worker thread."""

    def __init__(self) -> None:
        try:
            import pyttsx3
        except ImportError as exc:
            raise SynthesizerUnavailableError(
                "Speech synthesis needs the Python package pyttsx3: pip install pyttsx3."
            ) from exc
        try:
            engine = pyttsx3.init("espeak")
            from pyttsx3.drivers import _espeak
            from pyttsx3.drivers import espeak as espeak_driver
        except Exception as exc:
            # The driver raises RuntimeError or OSError when libespeak-ng is absent.
            raise SynthesizerUnavailableError(_INSTALL_ESPEAK) from exc
        # The driver prints "Audio saved to ..." after every save; shadowing `print` in its
        # module silences just that line (redirecting sys.stdout would swallow other threads').
        espeak_driver.print = lambda *args, **kwargs: None  # type: ignore[attr-defined]
        self._engine = engine
        self._espeak = _espeak
        self._finished = threading.Event()
        self._errors: list[BaseException] = []
        self._applied: tuple[str | None, int, float] | None = None
        """The (voice, rate, volume) espeak-ng has now: set again only when they change."""
        engine.connect("finished-utterance", self._on_finished)
        engine.connect("error", self._on_error)
        self.voices = tuple(self._list_voices())
        # Warm-up: the first runAndWait of a new engine can return before its audio is written.
        self.synthesize("Ready.", None, DEFAULT_RATE, 1.0, timeout=10.0)

    def _on_finished(self, name: str | None, completed: bool) -> None:
        self._finished.set()

    def _on_error(self, name: str | None, exception: BaseException) -> None:
        self._errors.append(exception)

    def _list_voices(self) -> list[VoiceInfo]:
        voices = []
        for voice in self._engine.getProperty("voices"):
            languages = tuple(
                lang.decode("utf-8", "ignore") if isinstance(lang, bytes) else str(lang)
                for lang in (voice.languages or [])
            )
            voices.append(VoiceInfo(voice.id, voice.name, languages, voice.gender))
        return voices

    def _apply(self, voice: str | None, rate: int, volume: float) -> None:
        self._applied = None
        if voice is not None:
            self._engine.setProperty("voice", voice)
        self._engine.setProperty("rate", rate)
        self._engine.setProperty("volume", volume)
        # espeak-ng queues parameter changes behind any synthesis still in its fifo, and
        # runAndWait starts with a Cancel() whenever espeak is busy, which drops them: the
        # rate silently stayed unchanged in about a quarter of renders. Wait until espeak
        # has applied them (about 17 ms, hence only when the settings change).
        self._espeak.Synchronize()
        if self._errors:
            raise UnknownVoiceError(
                f"espeak-ng rejected voice {voice!r}; `voice-guide voices` lists the voices."
            )
        self._applied = (voice, rate, volume)

    def synthesize(
        self, text: str, voice: str | None, rate: int, volume: float, timeout: float
    ) -> AudioBuffer:
        self._errors.clear()
        if (voice, rate, volume) != self._applied:
            self._apply(voice, rate, volume)
        target = io.BytesIO()
        self._finished.clear()
        self._engine.save_to_file(text, target)
        self._engine.runAndWait()
        if not self._finished.wait(timeout):
            raise RenderError(f"espeak-ng did not finish rendering {text[:40]!r} in {timeout:g} s.")
        if self._errors:
            raise RenderError(f"espeak-ng failed on {text[:40]!r}: {self._errors[0]}")
        try:
            return AudioBuffer.from_wav_bytes(target.getvalue())
        except AudioFormatError as exc:  # a truncated or empty WAV from the driver
            raise RenderError(f"espeak-ng wrote no audio for {text[:40]!r}.") from exc


_Job = tuple[Callable[..., Any], tuple[Any, ...], Future[Any]]


class _Worker:
    """The one thread that owns the synthesizer (pyttsx3 keeps one engine per process,
    so one worker per process, created on first use, not at import).

    A daemon thread rather than a ThreadPoolExecutor: interpreter exit joins executor
    threads and would hang behind a stuck synthesizer or a queue of pre-renders."""

    _lock = threading.Lock()
    _instance: _Worker | None = None

    def __init__(self) -> None:
        # (priority, order, job): urgent work (something about to be said) runs before
        # queued pre-renders, otherwise first come, first served.
        self._jobs: queue.PriorityQueue[tuple[int, int, _Job | None]] = queue.PriorityQueue()
        self._order = itertools.count()
        self._synthesizer: _Synthesizer | None = None
        self._thread = threading.Thread(target=self._run, name="voice-guide-tts", daemon=True)
        self._thread.start()
        # Let the thread end by itself at exit: a daemon thread killed by the interpreter
        # while it unwinds through the synthesizer's native frames aborts the process
        # ("terminate called without an active exception", seen in 1 of 4 test runs).
        atexit.register(self._stop)

    def _stop(self) -> None:
        self._jobs.put((-1, -1, None))  # before anything queued
        self._thread.join(timeout=2.0)

    @classmethod
    def get(cls) -> _Worker:
        with cls._lock:
            if cls._instance is None:
                cls._instance = cls()
            return cls._instance

    def _run(self) -> None:
        while True:
            _, _, job = self._jobs.get()
            if job is None:
                return
            _execute(*job)
            # Let go of the finished job before waiting for the next one: its future holds
            # the audio (and, through the render cache's callback, the resampled copy),
            # which a one-off sentence's caller expects to be freed once it has played.
            del job

    def synthesizer(self) -> _Synthesizer:
        """Call on the worker thread only."""
        if self._synthesizer is None:
            self._synthesizer = _Synthesizer()
        return self._synthesizer

    def call(self, function: Callable[..., Any], *args: Any, urgent: bool = True) -> Future[Any]:
        """Run `function(*args)` on the worker: after the urgent work queued before it, and
        (when `urgent`) before any queued non-urgent work."""
        future: Future[Any] = Future()
        self._jobs.put((0 if urgent else 1, next(self._order), (function, args, future)))
        return future


def _execute(function: Callable[..., Any], args: tuple[Any, ...], future: Future[Any]) -> None:
    """Run one job of the worker into its future (nothing when it was cancelled while queued)."""
    if not future.set_running_or_notify_cancel():
        return
    try:
        future.set_result(function(*args))
    except BaseException as exc:  # handed to whoever waits on the future
        future.set_exception(exc)


def installed_voices() -> list[VoiceInfo]:
    """All voices espeak-ng has installed (raises SynthesizerUnavailableError without it)."""
    worker = _Worker.get()
    try:
        return list(worker.call(lambda: worker.synthesizer().voices).result(timeout=30.0))
    except FutureTimeout as exc:
        raise SynthesizerUnavailableError(
            "espeak-ng did not start within 30 s; reinstall the Debian package espeak-ng, "
            "or use --text to print what the guide says."
        ) from exc


def resolve_voice(name: str, voices: list[VoiceInfo]) -> str:
    """The voice id for `name` (an id, id tail, display name or language, any case, with an
    optional '+variant'); UnknownVoiceError with a did-you-mean otherwise."""
    base, plus, variant = name.strip().partition("+")
    wanted = base.strip().lower()
    for voice in voices:
        vid = voice.id.lower()
        if wanted in (vid, vid.rsplit("/", 1)[-1], voice.name.lower()):
            return voice.id + plus + variant
    for voice in voices:
        if wanted in (lang.lower() for lang in voice.languages):
            return voice.id + plus + variant
    close = _closest_voices(wanted, voices)
    hint = f" Did you mean {' or '.join(close)}?" if close else ""
    raise UnknownVoiceError(
        f"Voice {name!r} is not installed.{hint} `voice-guide voices` lists the installed voices."
    )


def _closest_voices(wanted: str, voices: list[VoiceInfo], count: int = 3) -> list[str]:
    """The ids (with names) of the voices most like `wanted`, judged on the id, its tail,
    the name and the name's first word ('englsh' -> the English voices)."""

    def likeness(voice: VoiceInfo) -> float:
        forms = (voice.id, voice.id.rsplit("/", 1)[-1], voice.name, voice.name.split(" (")[0])
        return max(difflib.SequenceMatcher(None, wanted, f.lower()).ratio() for f in forms)

    ranked = sorted(voices, key=likeness, reverse=True)[:count]
    return [f"{v.id!r} ({v.name})" for v in ranked if likeness(v) >= 0.6]


class EspeakRenderer:
    """pyttsx3/espeak-ng renderer: every utterance is synthesized on the one worker thread."""

    def __init__(
        self, settings: VoiceSettings | None = None, language: str = "en", timeout: float = 10.0
    ) -> None:
        """Check the voice now (UnknownVoiceError, SynthesizerUnavailableError) so a bad
        setting fails at start-up, not mid-session. `language` picks the voice when
        `settings.voice` is None."""
        settings = settings or VoiceSettings()
        self._worker = _Worker.get()
        self._timeout = timeout
        voices = installed_voices()
        self._settings = replace(settings, voice=resolve_voice(settings.voice or language, voices))

    @property
    def settings(self) -> VoiceSettings:
        """The settings in use, voice resolved to an installed voice id."""
        return self._settings

    def submit(self, text: str, urgent: bool = True) -> Future[AudioBuffer]:
        """Queue `text` on the worker (pre-renders with `urgent=False` wait behind what is
        about to be said); the future gives 22050 Hz audio or raises RenderError."""
        return self._worker.call(self._render_on_worker, text, urgent=urgent)

    def render(self, text: str) -> AudioBuffer:
        """Render `text` and wait (raises RenderError, never hangs past the timeout)."""
        try:
            return self.submit(text).result(timeout=self._timeout + 5.0)
        except FutureTimeout as exc:  # the worker is stuck behind other work
            raise RenderError(f"Rendering {text[:40]!r} timed out.") from exc

    def _render_on_worker(self, text: str) -> AudioBuffer:
        if not text.strip():
            return AudioBuffer(np.zeros(0, dtype=np.float32), ESPEAK_SAMPLE_RATE)
        s = self._settings
        return self._worker.synthesizer().synthesize(text, s.voice, s.rate, s.volume, self._timeout)
