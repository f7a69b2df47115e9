"""The Speaker protocol the runner talks to, the voiced GuideSpeaker and the TextSpeaker."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from typing import Protocol, TextIO

from voice_guide.safe_text import printable
from voice_guide.speech_out.cache import RenderCache
from voice_guide.speech_out.earcons import check_name, earcon
from voice_guide.speech_out.errors import SpeechOutError
from voice_guide.speech_out.playback import Playback, PlayHandle


class Speaker(Protocol):
    """What the session needs from its voice."""

    def say(self, text: str) -> PlayHandle:
        """Speak `text` after whatever is being said; returns its handle at once."""
        ...

    def stop(self) -> None:
        """Stop speaking now and drop what is queued."""
        ...

    @property
    def speaking(self) -> bool:
        """True while something is being said or queued."""
        ...

    def prerender(self, text: str) -> None:
        """Prepare `text` in the background so a later say() starts without delay, and keep
        it for every later say(): meant for sentences said again (the routine's own)."""
        ...

    def earcon(self, name: str) -> PlayHandle | None:
        """Play the earcon `name` (see earcons.EARCON_NAMES); None when earcons are off."""
        ...


def _timestamp(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes:02d}:{secs:02d}"


class TextSpeaker:
    """Prints what the guide says as timestamped lines (`run --text`, and the fallback when
    rendering fails)."""

    def __init__(
        self,
        stream: TextIO | None = None,
        clock: Callable[[], float] | None = None,
        earcons_enabled: bool = True,
    ) -> None:
        """`clock` gives session seconds for the timestamps (default: seconds since now)."""
        self._stream = stream
        start = time.monotonic()
        self._clock = clock or (lambda: time.monotonic() - start)
        self._earcons = earcons_enabled
        self._lock = threading.Lock()

    def _print(self, line: str) -> PlayHandle:
        now = self._clock()
        with self._lock:  # whole lines even when two threads print
            # Routine text may hold terminal escapes: never print them raw.
            shown = printable(line)
            print(f"[{_timestamp(now)}] {shown}", file=self._stream or sys.stdout, flush=True)
        handle = PlayHandle(line, "text", 0.0, start=now, end=now)
        handle._done.set()
        return handle

    def say(self, text: str) -> PlayHandle:
        """Print `text` with the time; the handle is already done."""
        return self._print(text)

    def stop(self) -> None:
        """Nothing to cut: printed lines are instant."""

    @property
    def speaking(self) -> bool:
        """Never: printing takes no time."""
        return False

    def prerender(self, text: str) -> None:
        """Nothing to prepare."""

    def earcon(self, name: str) -> PlayHandle | None:
        """Print the earcon's name in parentheses (None when earcons are off)."""
        check_name(name)
        return self._print(f"({name})") if self._earcons else None


class GuideSpeaker:
    """Speaks through the pyttsx3 renderer (via the cache) into a Playback.

    A render failure never stops a session: the text is printed instead (once per failure)
    and the session goes on.
    """

    def __init__(
        self,
        cache: RenderCache,
        playback: Playback,
        earcons_enabled: bool = True,
        fallback: Speaker | None = None,
        render_timeout: float = 2.0,
    ) -> None:
        """`cache` must render at `playback.sample_rate`; `fallback` (default: a TextSpeaker
        on stdout, timed by the playback clock) receives what could not be rendered within
        `render_timeout` seconds (a sentence renders in about 20 ms; a hung synthesizer must
        not freeze the session)."""
        if cache.sample_rate != playback.sample_rate:
            raise ValueError(
                f"cache renders at {cache.sample_rate} Hz but playback runs at "
                f"{playback.sample_rate} Hz; create both with the same rate"
            )
        self._cache = cache
        self._playback = playback
        self._earcons = earcons_enabled
        self._render_timeout = render_timeout
        self._fallback = fallback or TextSpeaker(clock=lambda: playback.clock)

    @property
    def playback(self) -> Playback:
        """The player this speaker feeds (the device or the virtual room pulls from it)."""
        return self._playback

    def say(self, text: str) -> PlayHandle:
        """Queue `text`; waits only for rendering when it was not pre-rendered (such a
        one-off sentence is not kept: its audio is freed once it has played)."""
        try:
            audio = self._cache.get(text, timeout=self._render_timeout)
        except SpeechOutError as exc:
            print(f"voice-guide: could not render speech ({exc}); printing it.", file=sys.stderr)
            return self._fallback.say(text)
        return self._playback.play(audio.samples, text)

    def stop(self) -> None:
        """Cut the current utterance within one audio block and drop the queue."""
        self._playback.stop()

    @property
    def speaking(self) -> bool:
        """True while audio is playing or queued."""
        return self._playback.speaking

    def prerender(self, text: str) -> None:
        """Render `text` on the worker now and keep it in the cache (failures surface, and
        fall back, at say())."""
        self._cache.prerender(text)

    def earcon(self, name: str) -> PlayHandle | None:
        """Play earcon `name`: mixed over speech that is playing (it never waits behind a
        sentence), queued when idle (so a following say() comes after it)."""
        tone = earcon(name, self._playback.sample_rate)
        if not self._earcons:
            return None
        overlay = self._playback.speaking
        return self._playback.play(tone, "", kind=f"earcon:{name}", overlay=overlay)
