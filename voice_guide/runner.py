"""The one place that owns a live session: events in, the state machine's effects out.

`SessionRunner` holds the state and carries out effects (speaker, earcons, timer,
transcript, checkpoints). It never reads a clock: every call passes `now` in session
seconds, so the same runner runs against the keyboard (wall clock), the audio devices
(the microphone stream's clock) or the virtual room (as fast as the CPU allows).
"""

from __future__ import annotations

import queue
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import TextIO

import numpy as np

from voice_guide.commands import Command, parse_command
from voice_guide.echo_canceller import EchoCanceller, EchoPath
from voice_guide.effects import (
    CancelSpeech,
    CancelTimer,
    Earcon,
    Effect,
    Ended,
    Report,
    Say,
    StartTimer,
    StepEntered,
)
from voice_guide.routine.timeline import WAIT_ESTIMATE, build_timeline
from voice_guide.routine.vocabulary import routine_vocabulary
from voice_guide.self_voice import SelfVoiceGate
from voice_guide.session import (
    Event,
    Heard,
    Phase,
    Profile,
    Restore,
    Session,
    SessionState,
    Start,
    Tick,
)
from voice_guide.speech_in.audio import SAMPLE_RATE
from voice_guide.speech_in.listener import Detection, Listener
from voice_guide.speech_out.speaker import Speaker
from voice_guide.transcript import Transcript

Checkpoint = Callable[[SessionState, float], None]
"""Called with the new state after every event (the store saves it)."""


class SessionRunner:
    """Owns the session state; all calls come from one thread."""

    def __init__(
        self,
        session: Session,
        speaker: Speaker,
        transcript: Transcript,
        *,
        profile: Profile | None = None,
        checkpoint: Checkpoint | None = None,
        on_report: Callable[[Report, float], None] | None = None,
    ) -> None:
        self.session = session
        self.speaker = speaker
        self.transcript = transcript
        self.state = session.initial(profile)
        self.timer: float | None = None
        self._checkpoint = checkpoint
        self._on_report = on_report
        self._ended_early = False
        self._spoken_by_step: dict[str, list[str]] = {}
        for entry in build_timeline(session.routine, profile).entries:  # its own wordings
            self._spoken_by_step.setdefault(entry.step_id, []).append(entry.text)

    @property
    def ended(self) -> bool:
        """True once the session is over."""
        return self.state.phase is Phase.ENDED

    def start(self, now: float) -> None:
        """Begin the session."""
        self.dispatch(Start(), now)

    def restore(self, state: SessionState, now: float) -> None:
        """Continue a checkpointed session (its clock restarts at `now`)."""
        self.state = state
        self.dispatch(Restore(), now)

    def heard(self, command: Command, phrase: str | None, now: float, **detail: object) -> None:
        """A command was recognized or typed at session time `now` (`phrase` None: the engine
        gives no transcript)."""
        self.transcript.write(now, "heard", command=command.value, phrase=phrase, **detail)
        self.dispatch(Heard(command, phrase or ""), now)

    def stand_in(self, command: Command, now: float, reason: str) -> None:
        """Act for a person who is not there (the virtual room): recorded as `stand_in`,
        never as `heard`, so it is not counted as something the listener heard."""
        self.transcript.write(now, "stand_in", command=command.value, reason=reason)
        self.dispatch(Heard(command), now)

    def poll(self, now: float) -> None:
        """Deliver the timer's Tick if it is due."""
        if self.timer is not None and self.timer <= now:
            self.timer = None
            self.dispatch(Tick(), now)

    def checkpoint(self, now: float) -> None:
        """Save the state as of `now` (between events, e.g. every few seconds)."""
        if self._checkpoint:
            self.state, effects = self.session.handle(self.state, Tick(), now)
            self._apply(effects, now)
            self._checkpoint(self.state, now)

    def dispatch(self, event: Event, now: float) -> None:
        """Apply one event and carry out its effects."""
        self.state, effects = self.session.handle(self.state, event, now)
        self._apply(effects, now)
        if self._checkpoint:
            self._checkpoint(self.state, now)

    def _apply(self, effects: list[Effect], now: float) -> None:
        for effect in effects:
            if isinstance(effect, Say):
                self.transcript.write(now, "say", text=effect.text, kind=effect.kind)
                self.speaker.say(effect.text)
            elif isinstance(effect, CancelSpeech):
                self.transcript.write(now, "stop_speech", was_speaking=self.speaker.speaking)
                self.speaker.stop()
            elif isinstance(effect, Earcon):
                self.speaker.earcon(effect.name)
            elif isinstance(effect, StartTimer):
                self.timer = effect.at
            elif isinstance(effect, CancelTimer):
                self.timer = None
            else:
                self._report(effect, now)

    def _report(self, report: Report, now: float) -> None:
        if isinstance(report, StepEntered):
            # While this step runs, render what the next one will say (its section title,
            # transition, instruction, safety notes, technique), so the move starts at once.
            for step in self.session.steps[report.index + 1 : report.index + 2]:
                for text in self._spoken_by_step.get(step.id, ()):
                    self.speaker.prerender(text)
        if isinstance(report, Ended):
            self._ended_early = report.summary.early
        self.transcript.report(now, report)
        if self._on_report:
            self._on_report(report, now)

    def summary(self, now: float) -> dict[str, object]:
        """What the session did up to `now`, for the history."""
        return self.session.summary(self.state, now, early=self._ended_early).to_dict()


def run_keyboard(
    runner: SessionRunner,
    language: str,
    lines: TextIO,
    *,
    offset: float = 0.0,
    restore: SessionState | None = None,
    started: bool = False,
    on_typed: Callable[[str, Command | None], None] | None = None,
) -> float:
    """Run a session with commands typed one per line, on the wall clock counted from
    `offset` session seconds (where a restored session stopped, or where the microphone
    gave up when `started`), until it ends or the input does (like Ctrl-D at a prompt:
    the session is left unfinished, checkpointed). Time worked is checkpointed every
    CHECKPOINT_EVERY seconds. `on_typed(line, command)` is told of each typed line before it
    is acted on (command None: not a command). Returns the end time."""
    start = time.monotonic() - offset

    def now() -> float:
        return time.monotonic() - start

    typed: queue.Queue[str | None] = queue.Queue()

    def read() -> None:
        for line in lines:
            typed.put(line)
        typed.put(None)

    threading.Thread(target=read, name="keyboard", daemon=True).start()
    if restore is not None:
        runner.restore(restore, now())
    elif not started:
        runner.start(now())
    saved = now()
    words = routine_vocabulary(runner.session.routine)  # the routine's own phrases too
    while not runner.ended:
        runner.poll(now())
        if now() - saved >= CHECKPOINT_EVERY:
            runner.checkpoint(now())
            saved = now()
        wait = 0.5 if runner.timer is None else min(0.5, max(0.0, runner.timer - now()))
        try:
            line = typed.get(timeout=wait)
        except queue.Empty:
            continue
        if line is None:  # input closed: save where we are and stop
            runner.checkpoint(now())
            break
        command = words.command(line) or parse_command(line, language)
        if on_typed and line.strip():
            on_typed(line.strip(), command)
        if command is not None:
            runner.heard(command, line.strip(), now())
        elif line.strip():
            runner.transcript.write(now(), "ignored", phrase=line.strip(), reason="not a command")
    return now()


class ListenerFailed(RuntimeError):
    """The recognizer failed again and again: listening is given up (the session is not)."""

    def __init__(self, at: float, cause: Exception) -> None:
        super().__init__(
            f"the recognizer failed {MAX_RECOGNIZER_FAULTS} times in {FAULT_WINDOW:g} s: {cause}"
        )
        self.at = at


MAX_RECOGNIZER_FAULTS = 3
"""Recognizer exceptions within FAULT_WINDOW after which listening is given up."""
FAULT_WINDOW = 120.0
CHECKPOINT_EVERY = 5.0
"""Seconds of session time between checkpoints when no event happens (time worked is saved)."""


def run_audio(
    runner: SessionRunner,
    listener: Listener,
    blocks: Iterable[np.ndarray],
    gate: SelfVoiceGate,
    *,
    offset: float = 0.0,
    restore: SessionState | None = None,
    on_block: Callable[[float], None] | None = None,
    playback_clock: Callable[[], float] | None = None,
    stand_in_next: bool = False,
) -> float:
    """Run a session on an audio stream: its samples are the clock (`offset` seconds at the
    first block, where a restored session stopped). The same loop serves the microphone
    (blocks from the input device, playback pulled by the output device) and the virtual
    room (which pulls the playback itself). With `stand_in_next` (the virtual room, whose
    simulated person never says "next"), a step that waits for next moves on after
    WAIT_ESTIMATE seconds of quiet, as the timeline assumes. Returns the session time at the end."""

    fed = 0  # samples given to the listener: the stream clock, block-exact

    def now() -> float:
        return offset + fed / SAMPLE_RATE

    if restore is not None:
        runner.restore(restore, now())
    else:
        runner.start(now())
    saved = now()
    canceller = EchoCanceller(gate.playback)
    clocks = ClockAlignment()
    faults: deque[float] = deque(maxlen=MAX_RECOGNIZER_FAULTS)
    quiet_since: float | None = None
    for block in blocks:
        start = fed / SAMPLE_RATE
        fed += len(block)
        if playback_clock is not None:
            gate.offset = clocks.offset(fed / SAMPLE_RATE, playback_clock())
        gate.observe(block)
        path = canceller.path
        clean = canceller.process(block, start - gate.offset)
        if canceller.path is not None and canceller.path != path:
            _report_echo_path(runner, canceller.path, path, now())
        try:
            detections = listener.feed(clean)
        except Exception as error:  # a recognizer bug must not end someone's session
            faults.append(now())
            _recognizer_fault(runner, listener, error, now())
            if len(faults) == faults.maxlen and faults[-1] - faults[0] <= FAULT_WINDOW:
                raise ListenerFailed(now(), error) from error
            detections = []
        for detection in detections:
            _judge(runner, gate, detection, offset)
        runner.poll(now())
        if stand_in_next:
            quiet_since = _stand_in_for_next(runner, quiet_since, now())
        if on_block:
            on_block(now())
        if now() - saved >= CHECKPOINT_EVERY:
            runner.checkpoint(now())
            saved = now()
        if runner.ended and not runner.speaker.speaking:
            break
    return now()


def _stand_in_for_next(
    runner: SessionRunner, quiet_since: float | None, now: float
) -> float | None:
    """Say "next" for nobody once a waiting step has been quiet for WAIT_ESTIMATE seconds."""
    if runner.state.phase is not Phase.WAITING or runner.speaker.speaking:
        return None
    if quiet_since is None:
        return now
    if now - quiet_since < WAIT_ESTIMATE:
        return quiet_since
    reason = f"nobody in the room to say next: moving on after {WAIT_ESTIMATE:g} s of quiet"
    runner.stand_in(Command.NEXT, now, reason)
    return None


STALL = 1.0
"""Seconds without a microphone block that mean the device went away and came back (the
live loop notices a lost microphone after 3 s of no audio; a busy machine delays blocks by
far less): the clock offset from before is void."""


class ClockAlignment:
    """Maps microphone time onto the playback clock when they are separate devices.

    Both run from the same sound server at the same rate, but blocks reach the session late
    whenever it falls behind (a busy machine): a block that waited in the queue is older
    than the playback clock suggests. The freshest blocks give the largest difference, so
    the offset is the largest seen over the last few seconds: steady through a backlog,
    and still following slow drift. Only a stall of the stream (the device was gone while
    the playback clock ran on) starts the estimate afresh."""

    def __init__(self, window: int = 250, clock: Callable[[], float] = time.monotonic) -> None:
        self._recent: deque[float] = deque(maxlen=window)
        self._clock = clock
        self._last_block: float | None = None

    def offset(self, mic_time: float, playback_time: float) -> float:
        """Seconds to subtract from microphone time to get playback time."""
        now = self._clock()
        if self._last_block is not None and now - self._last_block > STALL:
            self._recent.clear()
        self._last_block = now
        self._recent.append(mic_time - playback_time)
        return max(self._recent)


def _recognizer_fault(
    runner: SessionRunner, listener: Listener, error: Exception, now: float
) -> None:
    message = f"the recognizer failed ({type(error).__name__}: {error}); listening again"
    print(f"voice-guide: {message}", file=sys.stderr, flush=True)
    runner.transcript.write(now, "fault", device="recognizer", message=message)
    listener.abandon()


def _report_echo_path(
    runner: SessionRunner, new: EchoPath, old: EchoPath | None, now: float
) -> None:
    """Note a new echo estimate in the transcript when it moved noticeably."""
    moved = (
        old is None or abs(new.delay - old.delay) > 16 or abs(new.gain - old.gain) > 0.1 * old.gain
    )
    if moved:
        delay_ms = round(1000 * new.delay / SAMPLE_RATE)
        runner.transcript.write(now, "echo_path", delay_ms=delay_ms, gain=round(new.gain, 3))


def _judge(runner: SessionRunner, gate: SelfVoiceGate, detection: Detection, offset: float) -> None:
    at = offset + detection.detected_at
    reason = gate.reason_to_ignore(detection)
    if reason is not None:
        runner.transcript.write(
            at, "ignored", command=detection.command.value, phrase=detection.heard, reason=reason
        )
        return
    runner.heard(
        detection.command,
        detection.heard,
        at,
        detected_at=round(at, 3),
        start=round(offset + detection.start, 3),
        end=round(offset + detection.end, 3),
        confidence=round(detection.confidence, 3),
    )
