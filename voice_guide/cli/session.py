"""`voice-guide run`: a session of a routine, by voice or by keyboard and text."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn, TextIO

import click

from voice_guide.cli import cli, hints, notify
from voice_guide.cli.enroll import enroll_before_session, recipient_prototypes
from voice_guide.cli.options import Utf8Text
from voice_guide.cli.routines import read_or_exit
from voice_guide.cli.speech_in import engine_option
from voice_guide.cli.speech_out import _voice_options
from voice_guide.commands import Command, PhraseTable, phrase_table
from voice_guide.diagram import mermaid
from voice_guide.effects import PressureChanged, Report
from voice_guide.files import check_writable_target
from voice_guide.routine.areas import UnknownArea, canonical_area, resolve_areas, routine_areas
from voice_guide.routine.model import Routine
from voice_guide.runner import ListenerFailed, SessionRunner, run_keyboard
from voice_guide.session import Profile, Session, SessionState
from voice_guide.speech_in.recognizer import RecognizerError
from voice_guide.speech_in.sources import DeviceError, describe_devices, resolve_input_device
from voice_guide.speech_out.device import OutputDevice, OutputDeviceInfo, find_output_device
from voice_guide.speech_out.errors import OutputDeviceError, SpeechOutError
from voice_guide.speech_out.recorded import Recordings
from voice_guide.speech_out.renderer import VoiceSettings
from voice_guide.speech_out.speaker import GuideSpeaker, Speaker, TextSpeaker
from voice_guide.store import ResumePoint, Store, StoreError
from voice_guide.transcript import Transcript
from voice_guide.wiring import (
    LiveSettings,
    guide_speaker,
    listen_live,
    open_store,
    routine_recordings,
    routine_voice,
    start_listener,
)


class _Terminate(BaseException):
    """SIGTERM arrived: leave like Ctrl-C, state saved. Not an Exception, like
    KeyboardInterrupt: the run loop's recognizer-fault handler took it for a recognizer bug."""


def _stop_on_signals(farewell: Callable[[], str], grace: float) -> None:
    """SIGINT and SIGTERM end the session like Ctrl-C; if closing the devices hangs, the
    process exits after `grace` seconds with `farewell()` (whether the session was saved)."""

    def on_signal(signum: int, frame: object) -> None:
        def force_exit() -> None:
            print(f"\n{farewell()}", file=sys.stderr, flush=True)
            os._exit(130)

        watchdog = threading.Timer(grace, force_exit)
        watchdog.daemon = True
        watchdog.start()
        raise _Terminate

    for stop in (signal.SIGTERM, signal.SIGINT):
        signal.signal(stop, on_signal)


@cli.command()
# The session database stores the routine's name or path: it must be text SQLite can hold.
@click.argument("routine", required=False, type=Utf8Text("rename the file so its name is UTF-8"))
@click.option("--keyboard", is_flag=True, help="Type commands (next, lighter, ...) on stdin.")
@click.option("--text", is_flag=True, help="Print what the guide says instead of speaking.")
@click.option(
    "--recipient", type=Utf8Text(), help="Whose session: their profile (areas to avoid, pressure)."
)
@click.option("--avoid", multiple=True, help="A body area to leave out (repeatable).")
@click.option(
    "--resume",
    is_flag=True,
    help="Continue the last interrupted session (of ROUTINE, when given; else of any routine).",
)
@click.option("--transcript", type=click.Path(dir_okay=False, path_type=Path))
@engine_option
@click.option("--input-device", help="Microphone: index or part of its name (voice-guide devices).")
@click.option("--output-device", help="Speaker: index or part of its name (voice-guide devices).")
@_voice_options
@click.option("--no-earcons", is_flag=True, help="No tones, only speech.")
@click.option(
    "--enroll",
    is_flag=True,
    help="First ask the recipient to say a few commands and learn their voice (microphone).",
)
def run(
    routine: str | None,
    keyboard: bool,
    text: bool,
    recipient: str | None,
    avoid: tuple[str, ...],
    resume: bool,
    transcript: Path | None,
    engine: str,
    input_device: str | None,
    output_device: str | None,
    voice: str | None,
    rate: int | None,
    volume: float | None,
    no_earcons: bool,
    enroll: bool,
) -> None:
    """Guide a session of ROUTINE (a built-in name, a user routine or a YAML file; default
    back-massage), speaking through the speaker and listening through the microphone.
    Without them (or with --keyboard --text) commands are typed and speech is printed."""
    recipient = " ".join(recipient.split()) or None if recipient else None
    if transcript is not None:
        _check_transcript(transcript)
    # A database that cannot be used is one sentence from the command group's handler.
    with open_store(notify) as store:
        point = _resume_point(store, routine, recipient) if resume else None
        routine = point.routine if point else routine or DEFAULT_ROUTINE
        loaded = read_or_exit(routine)
        model = loaded.routine
        avoid = _avoided_or_exit(model, avoid)
        restore = _restorable(point, model) if point else None
        if restore is None:
            point = None  # starting over
        output, microphone = _devices(keyboard, text, output_device, input_device)
        if enroll and microphone:
            enroll_before_session(store, recipient, model.language, input_device, output)
        elif enroll:
            notify("--enroll needs a microphone; starting without learning the voice")
        if point is None:
            session_id = store.start_session(routine, model.title, recipient, time.time())
        else:
            session_id, recipient = point.session_id, point.recipient
        with store.claim(session_id):
            live = _LiveRun(model, store, session_id, point, routine_recordings(loaded, notify))
            live.go(
                output,
                microphone,
                recipient,
                avoid,
                transcript,
                engine,
                input_device,
                routine_voice(model, voice, rate, volume),
                LiveSettings(earcons=not no_earcons),
                restore,
            )


DEFAULT_ROUTINE = "back-massage"


def _devices(
    keyboard: bool, text: bool, output_device: str | None, input_device: str | None
) -> tuple[OutputDeviceInfo | None, bool]:
    """The speaker and whether a microphone is there; (None, False) means typed commands and
    printed speech, said in one line when it was not asked for."""
    output = None if text else _output_or_none(output_device)
    microphone = not keyboard and _microphone_available(input_device)
    if not (text and keyboard) and (output is None or not microphone):
        missing = " and ".join(
            part
            for part, absent in (("speaker", output is None), ("microphone", not microphone))
            if absent
        )
        click.echo(
            f"voice-guide: no usable {missing} ({_device_summary()}); running with typed "
            "commands and printed speech (--keyboard --text).",
            err=True,
        )
        return None, False
    return output, microphone


class _LiveRun:
    """One run of a session from start (or restore) to its end, or to an interruption
    that leaves it saved for `--resume`."""

    def __init__(
        self,
        model: Routine,
        store: Store,
        session_id: int,
        point: ResumePoint | None,
        recordings: Recordings | None = None,
    ) -> None:
        self.model = model
        self.store = store
        self.session_id = session_id
        self.saver = _Checkpointer(store, session_id, point)
        self.offset = point.session_time if point else 0.0
        self.resumed = point is not None
        self.recordings = recordings

    def go(
        self,
        output: OutputDeviceInfo | None,
        microphone: bool,
        recipient: str | None,
        avoid: tuple[str, ...],
        transcript: Path | None,
        engine: str,
        input_device: str | None,
        voice: VoiceSettings,
        settings: LiveSettings,
        restore: SessionState | None,
    ) -> None:
        """Run the session; exits 130 on Ctrl-C/SIGTERM and 1 when a device fails."""
        model, store = self.model, self.store
        # With a voice, a readable transcript on stdout shows what was heard (and ignored).
        echo = sys.stdout if output is not None else None
        try:
            record = Transcript(transcript, echo=echo, append=self.resumed)
        except OSError as error:
            _transcript_refused(transcript, error)
        typed = output is None and not microphone
        terminal = _Terminal(sys.stdout, prompt="> " if sys.stdin.isatty() else None)
        speaker = _speaker(model, output, voice, settings, terminal, self.offset, self.recordings)
        runner = SessionRunner(
            Session(model),
            speaker,
            record,
            profile=_profile(store, recipient, avoid),
            checkpoint=self.saver,
            on_report=_profile_updater(store, recipient),
        )
        _stop_on_signals(self.saver.farewell, settings.exit_grace)
        stack = contextlib.ExitStack()
        try:
            with stack:
                device = None
                if isinstance(speaker, GuideSpeaker) and output is not None:
                    device = stack.enter_context(OutputDevice(speaker.playback, output))
                if microphone:
                    try:
                        enrolled = recipient_prototypes(store, recipient)
                        listener = start_listener(engine, model, notify, enrolled)
                        click.echo(
                            "voice-guide: listening. Say 'help' to hear what you can say.",
                            err=True,
                        )
                        end = listen_live(
                            runner,
                            listener,
                            input_device,
                            device,
                            settings,
                            offset=self.offset,
                            restore=restore,
                        )
                    except ListenerFailed as failure:
                        click.echo(
                            f"voice-guide: {failure}; type commands now (next, pause, ...).",
                            err=True,
                        )
                        end = run_keyboard(
                            runner, model.language, sys.stdin, offset=failure.at, started=True
                        )
                else:
                    end = run_keyboard(
                        runner,
                        model.language,
                        sys.stdin,
                        offset=self.offset,
                        restore=restore,
                        on_typed=terminal.typed if typed else None,
                    )
        except (KeyboardInterrupt, _Terminate):
            click.echo(f"\n{self.saver.farewell()}", err=True)
            sys.exit(130)
        except (SpeechOutError, RecognizerError, DeviceError) as error:
            click.echo(f"voice-guide: {error} {self.saver.farewell()}", err=True)
            sys.exit(1)
        finally:
            record.close()
        summary = runner.summary(end)
        if not runner.ended:  # the input ended: to be continued
            summary = {**summary, "ended": "interrupted"}
            terminal.end_line()
        try:
            store.finish(self.session_id, summary)
        except StoreError as error:
            self.saver.error = error
            click.echo(f"voice-guide: {error} {self.saver.farewell()}", err=True)
            sys.exit(1)
        if not runner.ended:
            click.echo(self.saver.farewell(), err=True)


class _Terminal:
    """stdout for a typed session: what the guide says, "heard: ..." after each typed line,
    and (on a terminal) a prompt that each printed line moves out of the way."""

    def __init__(self, stream: TextIO, prompt: str | None) -> None:
        self._stream = stream
        self._prompt = prompt
        self._shown = False

    def write(self, text: str) -> int:
        if self._shown:
            self._stream.write("\r")  # the line starts where the prompt was
            self._shown = False
        return self._stream.write(text)

    def flush(self) -> None:
        self.show_prompt()

    def show_prompt(self) -> None:
        """Show the prompt again (on a terminal) after whatever was printed."""
        if self._prompt and not self._shown:
            self._stream.write(self._prompt)
            self._shown = True
        self._stream.flush()

    def end_line(self) -> None:
        """Leave the prompt's line, so what follows starts on its own line."""
        if self._shown:
            self._stream.write("\n")
            self._shown = False
        self._stream.flush()

    def typed(self, line: str, command: Command | None) -> None:
        """Say what a typed line was taken for."""
        if command is None:
            print(f"not a command: {line!r} (type help to see what you can say)", file=self)
        elif line.lower() == command.value:
            print(f"heard: {command.value}", file=self)
        else:
            print(f"heard: {command.value} ({line!r})", file=self)
        self.flush()


def _check_transcript(path: Path) -> None:
    """Refuse a transcript target that is a link, a FIFO or a device before anything starts."""
    try:
        check_writable_target(path)
    except OSError as error:
        _transcript_refused(path, error)


def _transcript_refused(path: Path | None, error: OSError) -> NoReturn:
    click.echo(f"voice-guide: cannot write the transcript {path}: {error.strerror}.", err=True)
    sys.exit(1)


def _output_or_none(spec: str | None) -> OutputDeviceInfo | None:
    try:
        return find_output_device(spec)
    except OutputDeviceError as error:
        if spec is not None:  # asked for by name: say why it is not there
            click.echo(f"voice-guide: {error}", err=True)
        return None


def _microphone_available(spec: str | None) -> bool:
    try:
        index = resolve_input_device(spec)
        return index is not None or any(
            line.split()[1] in ("in", "in/out") for line in describe_devices()
        )
    except DeviceError as error:
        if spec is not None:
            click.echo(f"voice-guide: {error}", err=True)
        return False


def _device_summary() -> str:
    try:
        devices = describe_devices()
    except DeviceError as error:
        return str(error)
    return "devices: " + ("; ".join(" ".join(d.split()) for d in devices) or "none")


def _speaker(
    model: Routine,
    output: OutputDeviceInfo | None,
    voice: VoiceSettings,
    settings: LiveSettings,
    terminal: _Terminal,
    offset: float,
    recordings: Recordings | None,
) -> Speaker:
    if output is None:
        # Printed times continue where a resumed session stopped; no bare "(step)" markers.
        started = time.monotonic() - offset
        return TextSpeaker(
            terminal, clock=lambda: time.monotonic() - started, earcons_enabled=False
        )
    try:
        return guide_speaker(model, voice, output.sample_rate, settings, recordings)
    except SpeechOutError as error:
        click.echo(f"voice-guide: {error}", err=True)
        sys.exit(1)


class _Checkpointer:
    """Saves the state at every event and knows whether the last save worked: a database
    that fails mid-session is reported once and the session goes on (the transcript still
    records everything), and the goodbye says "saved" only if it was."""

    def __init__(self, store: Store, session_id: int, point: ResumePoint | None) -> None:
        self._store = store
        self._session_id = session_id
        self.error: StoreError | None = None
        # What a --resume would find now: the resume point's, until a save succeeds.
        self._saved_at: float | None = point.session_time if point else None

    def __call__(self, state: SessionState, now: float) -> None:
        try:
            self._store.checkpoint(self._session_id, state.to_dict(), now)
        except StoreError as error:
            if self.error is None:
                click.echo(f"voice-guide: could not save the session ({error})", err=True)
            self.error = error
            return
        self.error, self._saved_at = None, now

    def farewell(self) -> str:
        """One line: saved and how to continue, or what was not saved."""
        resume = hints.command("run", "--resume")
        if self.error is None and self._saved_at is not None:
            return f"Session saved. Continue it with: {resume}"
        if self._saved_at is None:
            return "voice-guide: the session could not be saved, so it cannot be continued."
        return (
            f"voice-guide: the last part of the session could not be saved; {resume} "
            f"continues from {_clock(self._saved_at)}, the last time it was."
        )


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes:02d}:{secs:02d}"


def _resume_point(store: Store, routine: str | None, recipient: str | None) -> ResumePoint:
    """The session to continue: the last interrupted one of `routine`, or of any routine
    (the others are named, with how to continue each)."""
    if routine is not None:
        point = store.unfinished(routine=routine, recipient=recipient)
        others = []
    else:
        points = store.resumable(recipient)
        point, others = (points[0], points[1:]) if points else (None, [])
    if point is None:
        which = f" of {routine}" if routine else ""
        click.echo(f"voice-guide: there is no interrupted session{which} to resume.", err=True)
        sys.exit(1)
    for other in others:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(other.updated))
        click.echo(
            f"voice-guide: also interrupted: {other.routine_title} ({when}); continue it "
            f"with: {hints.command('run', other.routine, '--resume')}",
            err=True,
        )
    return point


def _restorable(point: ResumePoint, model: Routine) -> SessionState | None:
    """The saved state if it still fits the routine; otherwise say why, and offer to start
    over (on a terminal: asked; else the command to do it). None: start over."""
    problem = _unfit(point, model)
    if problem is None:
        assert point.state is not None
        return SessionState.from_dict(point.state)
    click.echo(
        f"voice-guide: the interrupted session of {point.routine_title} cannot be continued: "
        f"{problem}.",
        err=True,
    )
    if sys.stdin.isatty() and click.confirm("Start it over from the beginning?", err=True):
        return None
    again = hints.command("run", point.routine)
    click.echo(f"voice-guide: start it over with: {again}", err=True)
    sys.exit(1)


def _unfit(point: ResumePoint, model: Routine) -> str | None:
    """Why the saved state cannot continue `model`, or None if it can."""
    if point.state is None:
        return "its saved state is damaged (not readable JSON)"
    try:
        state = SessionState.from_dict(point.state)
    except (KeyError, ValueError, TypeError, AttributeError) as error:
        return f"its saved state is damaged ({type(error).__name__}: {error})"
    steps = Session(model).steps
    if not 0 <= state.index < len(steps):
        return (
            f"the routine changed since (it has {len(steps)} step{'s' * (len(steps) != 1)} "
            f"now, the session was at step {state.index + 1})"
        )
    known = {step.id for step in steps}
    gone = sorted(set(state.done) - known)
    if gone:
        return f"the routine changed since (steps {', '.join(gone)} are gone)"
    return _unfit_pressure(state, model)


def _unfit_pressure(state: SessionState, model: Routine) -> str | None:
    """Why the saved pressure cannot go on with `model`'s scale, or None if it can."""
    scale, care = model.pressure, state.care
    if (scale is None) != (care is None):
        now = "no pressure scale" if scale is None else "a pressure scale"
        return f"the routine changed since (it has {now} now)"
    if scale is None or care is None:
        return None
    saved = {care.level, *care.remembered.values(), *care.ceiling.values()}
    beyond = sorted(level for level in saved if level not in scale.levels)
    if beyond:
        return (
            f"the routine changed since (its pressure scale has {len(scale.levels)} levels "
            f"now, the session was at level {beyond[-1]})"
        )
    return None


def _profile(store: Store, recipient: str | None, avoid: tuple[str, ...]) -> Profile:
    saved = store.profile(recipient) if recipient else None
    if saved is None:
        return Profile(avoid=frozenset(avoid))
    # A profile written by hand may say 'lower back' where routines say 'lower-back'.
    areas = frozenset(avoid) | {canonical_area(area) for area in saved.avoid}
    pressure = {canonical_area(area): level for area, level in saved.pressure.items()}
    return Profile(avoid=areas, pressure=pressure)


def _avoided_or_exit(model: Routine, avoid: tuple[str, ...]) -> tuple[str, ...]:
    """--avoid names spelled as the routine spells them; an unknown one exits 1."""
    try:
        return tuple(resolve_areas(avoid, routine_areas(model), f"the routine {model.title!r}"))
    except UnknownArea as error:
        click.echo(f"voice-guide: {error}", err=True)
        sys.exit(1)


def _profile_updater(store: Store, recipient: str | None) -> Callable[[Report, float], None]:
    """Pressure that felt right (or was asked for) on an area goes into the profile."""

    def update(report: Report, now: float) -> None:
        if recipient and isinstance(report, PressureChanged) and report.asked:
            for area in report.areas:
                store.remember_pressure(recipient, area, report.level)

    return update


@cli.command()
def flow() -> None:
    """Print the session flow as a Mermaid diagram (from the state machine's table)."""
    click.echo(mermaid(), nl=False)


@cli.command()
@click.option("--language", default="en", show_default=True)
def phrases(language: str) -> None:
    """Print what you can say, per command, as a Markdown table (from the phrase tables)."""
    try:
        table = phrase_table(language)
    except LookupError as error:
        click.echo(f"voice-guide: {error}", err=True)
        sys.exit(1)
    click.echo(phrase_markdown(table), nl=False)


def phrase_markdown(table: PhraseTable) -> str:
    """| command | phrases | rows, commands in their declared order."""
    lines = ["| command | what you can say |", "|---|---|"]
    for command in Command:
        said = [phrase for phrase, meant in table.items() if meant is command]
        if said:
            lines.append(f"| {command.value} | {', '.join(said)} |")
    return "\n".join(lines) + "\n"
