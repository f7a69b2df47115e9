"""Hostile input: routines, WAV files, command-line arguments and signals.

Each case asserts the exact outcome: the one-line message, the exit code, no traceback, the
user's files untouched, and bounded time (every real process runs under a timeout) and
memory. Real parts throughout: real FIFOs and device nodes, real WAV files, real processes
receiving real signals, the real recognizer behind `listen`.
"""

from __future__ import annotations

import os
import signal
import struct
import subprocess
import sys
import threading
import time
import wave
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import REPO, Finished, peak_rss_mb, voice_guide_env

from voice_guide.cli import _Group, cli
from voice_guide.commands import languages
from voice_guide.routine.loader import MAX_CUES, MAX_STEPS
from voice_guide.safe_text import printable
from voice_guide.speech_out.speaker import TextSpeaker

STEP = "steps:\n  - id: a\n    say: Glide your palms slowly.\n    duration: 1m\n"
OUT_OF_RANGE = "is out of range — make it more than 0 and at most 3 hours"
GARBLE = "that would garble the screen — remove it"
INVISIBLE = "the text is only invisible characters — write what to say, or remove it"


def _no_traceback(*texts: str) -> None:
    for text in texts:
        assert "Traceback" not in text and "Exception ignored" not in text


# -- routines: every bad routine is one located line from `check`, exit 1 -------------------


@dataclass(frozen=True)
class BadRoutine:
    name: str
    text: str
    where: str
    """line:column."""
    message: str


BAD_ROUTINES = [
    BadRoutine(
        "ansi-escape",
        'title: "\\e[31mRed\\e[0m"\n' + STEP,
        "1:8",
        f"the text contains an escape (terminal code), U+001B, {GARBLE}",
    ),
    BadRoutine(
        "bell",
        'title: x\nsteps:\n  - id: a\n    say: "Ring \\a now."\n    duration: 1m\n',
        "4:10",
        f"the text contains a control character, U+0007, {GARBLE}",
    ),
    BadRoutine(
        "c1-control-sequence",
        'title: "\\x9b2J"\n' + STEP,
        "1:8",
        f"the text contains a control character, U+009B, {GARBLE}",
    ),
    BadRoutine(
        "direction-override",
        'title: "abc\\u202edef"\n' + STEP,
        "1:8",
        f"the text contains a text-direction override, U+202E, {GARBLE}",
    ),
    BadRoutine(
        "escape-in-a-cue",
        "title: x\n" + STEP + '    cues: [{at: halfway, say: "\\e]0;owned\\a"}]\n',
        "6:31",
        f"the text contains an escape (terminal code), U+001B, {GARBLE}",
    ),
    BadRoutine("zero-width-title", 'title: "\\u200b\\u200b"\n' + STEP, "1:8", INVISIBLE),
    BadRoutine(
        "zero-width-cue",
        "title: x\n" + STEP + '    cues: [{at: halfway, say: "\\u200b\\u2060"}]\n',
        "6:31",
        INVISIBLE,
    ),
    BadRoutine("byte-order-marks-only", 'title: "\\ufeff\\ufeff"\n' + STEP, "1:8", INVISIBLE),
    BadRoutine(
        "language-without-phrases",
        "title: x\nlanguage: de\n" + STEP,
        "2:11",
        "no command phrases for language 'de', so the session could not hear anyone — "
        f"write one of: {', '.join(languages())}",
    ),
    BadRoutine(
        "empty-pressure-levels",
        "title: x\npressure: {levels: {}, start: 1}\n" + STEP,
        "2:20",
        "the scale has no levels — add levels 1, 2, ... each with a 'name', or remove 'pressure:'",
    ),
    BadRoutine(
        "true-as-a-level",
        "title: x\npressure:\n  levels:\n    true: {name: light}\n  start: 1\n" + STEP,
        "4:5",
        "true is not a pressure level — write a number like 2",
    ),
    BadRoutine(
        "true-as-start",
        "title: x\npressure:\n  levels:\n    1: {name: light}\n  start: true\n" + STEP,
        "5:10",
        "true is not a pressure level — write a number like 2",
    ),
    BadRoutine(
        "duration-of-400-digits",
        "title: x\nsteps:\n  - id: a\n    say: Hi.\n    duration: " + "9" * 400 + "\n",
        "5:15",
        f"duration 9999999999999999999999999999999999999... {OUT_OF_RANGE}",
    ),
    BadRoutine(
        "cue-time-of-400-digits",
        "title: x\n" + STEP + "    cues: [{at: " + "9" * 400 + "s, say: Now.}]\n",
        "6:17",
        f"duration '999999999999999999999999999999999999... {OUT_OF_RANGE}",
    ),
    BadRoutine(
        "duration-nan",
        "title: x\nsteps:\n  - id: a\n    say: Hi.\n    duration: .nan\n",
        "5:15",
        f"duration nan {OUT_OF_RANGE}",
    ),
    BadRoutine(
        "duration-infinite",
        "title: x\nsteps:\n  - id: a\n    say: Hi.\n    duration: .inf\n",
        "5:15",
        f"duration inf {OUT_OF_RANGE}",
    ),
    BadRoutine(
        "duration-negative",
        "title: x\nsteps:\n  - id: a\n    say: Hi.\n    duration: -5\n",
        "5:15",
        f"duration -5 {OUT_OF_RANGE}",
    ),
    BadRoutine(
        "duration-with-exponent",
        "title: x\nsteps:\n  - id: a\n    say: Hi.\n    duration: 1e400s\n",
        "5:15",
        "cannot read '1e400s' as a duration — write it like 45s, 2m, 1m30s or '2 minutes'",
    ),
    BadRoutine(
        "too-many-cues",
        "title: x\nsteps:\n  - id: a\n    say: Hi.\n    duration: 3h\n    cues:\n"
        + "".join(f"      - {{at: {n + 1}s, say: Cue.}}\n" for n in range(2000)),
        f"{7 + MAX_CUES}:9",
        f"step 'a' has 2000 cues, more than the {MAX_CUES} allowed — split the step into "
        "several steps",
    ),
    BadRoutine(
        "too-many-steps",
        "title: x\nsteps:\n"
        + "".join(f"  - {{id: s{n}, say: Hi., duration: 1s}}\n" for n in range(MAX_STEPS + 1)),
        f"{3 + MAX_STEPS}:5",
        f"the routine has {MAX_STEPS + 1} steps, more than the {MAX_STEPS} allowed — split "
        "it into several routines",
    ),
    BadRoutine(
        "longer-than-twelve-hours",
        "title: x\nsteps:\n"
        + "".join(f"  - {{id: s{n}, say: Hi., duration: 3h}}\n" for n in range(5)),
        "3:3",
        "the timed steps last 15.0 hours together, more than the 12 hours allowed — split "
        "it into several routines",
    ),
]


@pytest.mark.parametrize("bad", BAD_ROUTINES, ids=[bad.name for bad in BAD_ROUTINES])
def test_a_hostile_routine_is_one_located_line_from_check(bad: BadRoutine, tmp_path: Path) -> None:
    path = tmp_path / f"{bad.name}.yaml"
    path.write_text(bad.text, encoding="utf-8")
    started = time.monotonic()
    result = CliRunner().invoke(cli, ["check", str(path)])
    assert (result.exit_code, result.output) == (1, f"{path}:{bad.where}: {bad.message}\n")
    assert time.monotonic() - started < 10
    assert path.read_text(encoding="utf-8") == bad.text


def test_a_step_with_thousands_of_cues_is_refused_fast(tmp_path: Path) -> None:
    # The cubic cue timing made this take minutes; the loader now refuses it at once.
    many = next(bad for bad in BAD_ROUTINES if bad.name == "too-many-cues")
    path = tmp_path / "many.yaml"
    path.write_text(many.text, encoding="utf-8")
    started = time.monotonic()
    result = CliRunner().invoke(cli, ["preview", str(path)])
    assert result.exit_code == 1 and "more than the 500 allowed" in result.stderr
    assert time.monotonic() - started < 10


def test_spoken_text_is_printed_without_escapes_whatever_its_source() -> None:
    hostile = "\x1b[2J\x1b]0;owned\x07Now\u202e glide\x00 \x9b31m slowly.\nNext"
    assert printable(hostile) == "Now glide  slowly. Next"
    lines: list[str] = []

    class Stream:
        def write(self, text: str) -> None:
            lines.append(text)

        def flush(self) -> None:
            pass

    TextSpeaker(stream=Stream(), clock=lambda: 65.0).say(hostile)  # type: ignore[arg-type]
    assert "".join(lines) == "[01:05] Now glide  slowly. Next\n"


# -- things that are not regular files: refused at once, never a hang -------------------


def test_check_a_fifo_is_refused_at_once(fifo, voice_guide) -> None:
    pipe = fifo("pipe.yaml")
    done = voice_guide("check", str(pipe), timeout=30)
    assert (done.code, done.stdout, done.stderr) == (
        1,
        f"{pipe}: it is a named pipe (FIFO), not a regular file — give a routine file (.yaml)\n",
        "",
    )


def test_preview_a_fifo_is_refused_at_once(fifo, voice_guide) -> None:
    pipe = fifo("pipe.yaml")
    done = voice_guide("preview", str(pipe), timeout=30)
    assert (done.code, done.stderr) == (
        1,
        f"{pipe}: it is a named pipe (FIFO), not a regular file — give a routine file (.yaml)\n",
    )


def test_run_a_fifo_is_refused_at_once(fifo, voice_guide) -> None:
    pipe = fifo("pipe.yaml")
    done = voice_guide("run", "--keyboard", "--text", str(pipe), timeout=30)
    assert done.code == 1
    assert done.stderr.endswith(
        f"{pipe}: it is a named pipe (FIFO), not a regular file — give a routine file (.yaml)\n"
    )


def test_a_routine_name_that_is_a_fifo_in_the_routines_folder_is_refused(
    routines_dir: Path, voice_guide
) -> None:
    os.mkfifo(routines_dir / "evening.yaml")
    done = voice_guide("run", "--keyboard", "--text", "evening", timeout=30)
    assert done.code == 1
    assert done.stderr.endswith(
        f"{routines_dir / 'evening.yaml'}: it is a named pipe (FIFO), not a regular file — "
        "give a routine file (.yaml)\n"
    )


def test_list_with_a_fifo_in_the_routines_folder_lists_it_as_a_problem(
    routines_dir: Path, voice_guide
) -> None:
    os.mkfifo(routines_dir / "stuck.yaml")
    done = voice_guide("list", timeout=30)
    assert done.code == 0
    row = next(line for line in done.stdout.splitlines() if line.startswith("stuck"))
    hint = f"{sys.executable} -m voice_guide check"  # the command as it was started
    assert f"(1 problems: {hint} {routines_dir / 'stuck.yaml'})" in row


def test_listen_a_fifo_is_refused_at_once(fifo, voice_guide) -> None:
    pipe = fifo("pipe.wav")
    done = voice_guide("listen", str(pipe), timeout=30)
    assert (done.code, done.stdout, done.stderr) == (
        1,
        "",
        f"voice-guide: cannot read {pipe}: it is a named pipe (FIFO), not a regular file\n",
    )


def test_an_endless_device_is_refused_as_a_routine_and_as_a_wav() -> None:
    check = CliRunner().invoke(cli, ["check", "/dev/zero"])
    assert (check.exit_code, check.output) == (
        1,
        "/dev/zero: it is a character device, not a regular file — give a routine file (.yaml)\n",
    )
    listen = CliRunner().invoke(cli, ["listen", "/dev/zero"])
    assert (listen.exit_code, listen.stderr) == (
        1,
        "voice-guide: cannot read /dev/zero: it is a character device, not a regular file\n",
    )


def test_run_a_folder_by_name_says_it_is_a_folder(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "some-directory").mkdir()
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["run", "--keyboard", "--text", "some-directory"])
    assert (result.exit_code, result.stderr) == (
        1,
        "some-directory: no routine with this name — a folder of this name is here; to read a "
        "routine file, give its path, e.g. ./some-directory (`voice-guide list`)\n",
    )


def test_run_a_folder_by_path_says_it_is_a_folder(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["run", "--keyboard", "--text", str(tmp_path)])
    assert (result.exit_code, result.stderr) == (
        1,
        f"{tmp_path}: this is a folder — give a routine file (.yaml)\n",
    )


# -- WAV files: every bad header is one sentence from `listen`, exit 1 -------------------------


def wav_bytes(
    *,
    encoding: int = 1,
    channels: int = 1,
    rate: int = 16000,
    bits: int = 16,
    frames: bytes = b"\x00\x00" * 1600,
    declared: int | None = None,
    fmt_size: int = 16,
) -> bytes:
    """A WAV file with exactly the header fields given (nothing is checked here)."""
    block = max(1, channels * bits // 8)
    byte_rate = (rate * block) & 0xFFFFFFFF
    fmt = struct.pack("<HHIIHH", encoding, channels, rate, byte_rate, block & 0xFFFF, bits)
    fmt = (fmt + b"\x00" * 16)[:fmt_size]
    size = len(frames) if declared is None else declared
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
    body += b"data" + struct.pack("<I", size) + frames
    return b"RIFF" + struct.pack("<I", len(body)) + body


DAMAGED = "the header is damaged; export the file again"
CONVERT = "convert it to 16-bit PCM WAV (e.g. `sox IN.wav -e signed -b 16 OUT.wav`)"
BAD_WAVS = {
    "header-only": (
        wav_bytes(frames=b""),
        "holds no audio, only a header — record or export it again",
    ),
    "cut-short": (
        wav_bytes(declared=320000),
        "is cut short: its header promises 10.00 s of audio but the file holds 0.10 s — "
        "export or copy it again",
    ),
    "rate-4294967295": (
        wav_bytes(rate=4_294_967_295),
        f"says its sample rate is 4,294,967,295 Hz (1,000 to 384,000 Hz can be read) — {DAMAGED}",
    ),
    "rate-0": (
        wav_bytes(rate=0),
        f"says its sample rate is 0 Hz (1,000 to 384,000 Hz can be read) — {DAMAGED}",
    ),
    "channels-65535": (
        wav_bytes(channels=65535),
        f"says it has 65535 channels (1 to 32 can be read) — {DAMAGED}",
    ),
    "channels-0": (
        wav_bytes(channels=0),
        f"says it has 0 channels (1 to 32 can be read) — {DAMAGED}",
    ),
    "zero-bits": (wav_bytes(bits=0), f"holds 0-bit PCM samples — {CONVERT}"),
    "12-bit": (wav_bytes(bits=12), f"holds 12-bit PCM samples — {CONVERT}"),
    "16-bit-float": (wav_bytes(encoding=3, bits=16), f"holds 16-bit float samples — {CONVERT}"),
    "a-law": (
        wav_bytes(encoding=6, bits=8, frames=b"\xd5" * 1600),
        f"holds A-law (G.711) audio, which cannot be read — {CONVERT}",
    ),
    "mu-law": (
        wav_bytes(encoding=7, bits=8, frames=b"\xff" * 1600),
        f"holds µ-law (G.711) audio, which cannot be read — {CONVERT}",
    ),
    "adpcm": (
        wav_bytes(encoding=0x11, bits=4),
        f"holds IMA ADPCM audio, which cannot be read — {CONVERT}",
    ),
    "unknown-format": (
        wav_bytes(encoding=0x1234),
        f"holds format code 4660 audio, which cannot be read — {CONVERT}",
    ),
    "short-format-chunk": (
        wav_bytes(fmt_size=10),
        "has a damaged format chunk — export the file again",
    ),
    "text-file": (b"these are my notes, not audio\n", "is not a WAV file (no RIFF/WAVE header)"),
    "empty-file": (b"", "is not a WAV file (no RIFF/WAVE header)"),
    "no-data-chunk": (
        b"RIFF\x04\x00\x00\x00WAVE",
        "has no audio data chunk (only a header?)",
    ),
    "data-before-format": (
        b"RIFF\x10\x00\x00\x00WAVEdata\x04\x00\x00\x00\x00\x00\x00\x00",
        "has audio data before its format chunk",
    ),
}


@pytest.mark.parametrize("name", list(BAD_WAVS))
def test_a_bad_wav_is_one_sentence_from_listen(name: str, tmp_path: Path) -> None:
    content, message = BAD_WAVS[name]
    path = tmp_path / f"{name}.wav"
    path.write_bytes(content)
    result = CliRunner().invoke(cli, ["listen", str(path)])
    assert (result.exit_code, result.stdout, result.stderr) == (
        1,
        "",
        f"voice-guide: {path} {message}\n",
    )
    assert path.read_bytes() == content


def test_a_wav_that_declares_an_unknown_length_is_read_to_its_end(tmp_path: Path) -> None:
    # Streaming writers leave 0xFFFFFFFF as the data size: the audio runs to the end.
    from voice_guide.audio import read_wav

    path = tmp_path / "streamed.wav"
    path.write_bytes(wav_bytes(frames=b"\x00\x10" * 800, declared=0xFFFFFFFF))
    wav = read_wav(path)
    assert (wav.sample_rate, len(wav.samples)) == (16000, 800)


def _silence_wav(path: Path, seconds: float, rate: int, channels: int) -> None:
    """A 64-bit float WAV of near-silence (written block by block)."""
    frames = int(seconds * rate)
    block = np.full((rate, channels), 1e-4, dtype="<f8").tobytes()
    data_bytes = frames * channels * 8
    fmt = struct.pack("<HHIIHH", 3, channels, rate, rate * channels * 8, channels * 8, 64)
    with path.open("wb") as out:
        out.write(b"RIFF" + struct.pack("<I", 36 + data_bytes) + b"WAVEfmt ")
        out.write(struct.pack("<I", 16) + fmt + b"data" + struct.pack("<I", data_bytes))
        for start in range(0, frames, rate):
            out.write(block[: min(rate, frames - start) * channels * 8])


@pytest.mark.audio
def test_listen_memory_does_not_grow_with_the_file(tmp_path: Path, home: Path) -> None:
    # 40 s of 48 kHz, 8-channel, 64-bit float audio is 123 MB: read whole it would need more
    # than that again in samples; streamed, the peak is the same as for one second.
    short, long = tmp_path / "short.wav", tmp_path / "long.wav"
    _silence_wav(short, 1, 48000, 8)
    _silence_wav(long, 40, 48000, 8)
    assert long.stat().st_size > 120_000_000
    env = voice_guide_env(home)
    command = [sys.executable, "-m", "voice_guide", "listen", "--engine", "pocketsphinx"]
    small = peak_rss_mb([*command, str(short)], env)
    big = peak_rss_mb([*command, str(long)], env)
    assert big - small < 40, (small, big)


# -- command-line arguments ---------------------------------------------------------------


@dataclass(frozen=True)
class BadArgs:
    name: str
    args: list[str]
    code: int
    last_line: str


NOT_UTF8 = os.fsdecode(b"S\xffm")
BAD_ARGS = [
    BadArgs(
        "volume-nan",
        ["say", "hello", "--volume", "nan"],
        2,
        "Error: Invalid value for '--volume': 'nan' is not a number in 0.0<=x<=1.0.",
    ),
    BadArgs(
        "volume-infinite",
        ["say", "hello", "--volume", "inf"],
        2,
        "Error: Invalid value for '--volume': inf is not in the range 0.0<=x<=1.0.",
    ),
    BadArgs(
        "render-volume-nan",
        ["render", "back-massage", "-o", "x.wav", "--volume", "nan"],
        2,
        "Error: Invalid value for '--volume': 'nan' is not a number in 0.0<=x<=1.0.",
    ),
    BadArgs(
        "echo-gain-nan",
        ["demo", "--echo-gain", "nan"],
        2,
        "Error: Invalid value for '--echo-gain': 'nan' is not a number in 0.0<=x<=2.0.",
    ),
    BadArgs(
        "echo-delay-nan",
        ["demo", "--echo-delay", "nan"],
        2,
        "Error: Invalid value for '--echo-delay': 'nan' is not a number in 0.0<=x<=1.0.",
    ),
    BadArgs(
        "max-minutes-nan",
        ["demo", "--max-minutes", "nan"],
        2,
        "Error: Invalid value for '--max-minutes': 'nan' is not a number in 0.1<=x<=600.",
    ),
    BadArgs(
        "history-limit-huge",
        ["history", "--limit", "99999999999999999999"],
        2,
        "Error: Invalid value for '--limit': 99999999999999999999 is not in the range "
        "1<=x<=1000000.",
    ),
    BadArgs(
        "history-limit-zero",
        ["history", "--limit", "0"],
        2,
        "Error: Invalid value for '--limit': 0 is not in the range 1<=x<=1000000.",
    ),
    BadArgs(
        "history-recipient-not-utf8",
        ["history", "--recipient", NOT_UTF8],
        2,
        "Error: Invalid value for '--recipient': 'S\\xffm' is not UTF-8 text; type it again "
        "as plain text.",
    ),
    BadArgs(
        "profile-name-not-utf8",
        ["profile", NOT_UTF8],
        2,
        "Error: Invalid value for 'NAME': 'S\\xffm' is not UTF-8 text; type it again as plain "
        "text.",
    ),
    BadArgs(
        "run-recipient-not-utf8",
        ["run", "--keyboard", "--text", "--recipient", NOT_UTF8],
        2,
        "Error: Invalid value for '--recipient': 'S\\xffm' is not UTF-8 text; type it again "
        "as plain text.",
    ),
    BadArgs(
        "run-path-not-utf8",
        ["run", "--keyboard", "--text", os.fsdecode(b"/tmp/n\xff.yaml")],
        2,
        "Error: Invalid value for '[ROUTINE]': '/tmp/n\\xff.yaml' is not UTF-8 text; rename "
        "the file so its name is UTF-8.",
    ),
    BadArgs(
        "transcript-in-a-missing-folder",
        ["run", "--keyboard", "--text", "--transcript", "/nonexistent-folder/t.jsonl"],
        1,
        "voice-guide: cannot write the transcript /nonexistent-folder/t.jsonl: the folder "
        "/nonexistent-folder does not exist.",
    ),
    BadArgs(
        "render-into-a-missing-folder",
        ["render", "back-massage", "-o", "/nonexistent-folder/session.wav"],
        1,
        "voice-guide: Could not write /nonexistent-folder/session.wav: the folder "
        "/nonexistent-folder does not exist.",
    ),
    BadArgs(
        "demo-into-a-missing-folder",
        ["demo", "--out", "/nonexistent-folder/room.wav"],
        1,
        "voice-guide: cannot write /nonexistent-folder/room.wav: the folder /nonexistent-folder "
        "does not exist.",
    ),
    BadArgs(
        "phrases-of-an-unknown-language",
        ["phrases", "--language", "de"],
        1,
        f"voice-guide: no command phrases for language 'de'; available: {', '.join(languages())}",
    ),
    BadArgs(
        "listen-an-unknown-language",
        ["listen", "x.wav", "--language", "de"],
        1,
        f"voice-guide: no command phrases for language 'de'; available: {', '.join(languages())}",
    ),
    BadArgs(
        "new-name-with-a-newline",
        ["new", "evil\n"],
        1,
        "'evil\\n' is not a routine name — use lower-case letters, digits, '-' and '_', e.g. "
        "'evening-back'",
    ),
    BadArgs(
        "new-name-with-a-slash",
        ["new", "../escape"],
        1,
        "'../escape' is not a routine name — use lower-case letters, digits, '-' and '_', "
        "e.g. 'evening-back'",
    ),
    BadArgs(
        "run-a-name-with-a-newline",
        ["run", "--keyboard", "--text", "back-massage\n"],
        1,
        "back-massage\\n: not a routine name — names use lower-case letters, digits, '-' and "
        "'_' (see `voice-guide list`); to load a file, give its path, e.g. ./my.yaml",
    ),
]


@pytest.mark.parametrize("bad", BAD_ARGS, ids=[bad.name for bad in BAD_ARGS])
def test_a_bad_argument_is_refused_with_one_sentence(bad: BadArgs, home: Path) -> None:
    result = CliRunner().invoke(cli, bad.args)
    assert result.exit_code == bad.code, result.output
    assert result.stderr.rstrip("\n").splitlines()[-1] == bad.last_line
    assert result.stdout == ""
    _no_traceback(result.stderr)
    assert not (home / "sessions.sqlite3").exists() or bad.code == 1


@pytest.mark.parametrize("level", ["99", "-5", "0", "1000000000000000000000000", "1e24", "true"])
def test_profile_pressure_outside_the_scale_is_refused(level: str, home: Path) -> None:
    result = CliRunner().invoke(cli, ["profile", "Sam", "--pressure", f"back={level}"])
    assert result.exit_code == 2
    last = result.stderr.rstrip("\n").splitlines()[-1]
    assert last.startswith(f"Error: Invalid value for '--pressure': 'back={level}'")
    assert not (home / "sessions.sqlite3").exists()


# -- the one error handler -------------------------------------------------------------------


def test_an_unexpected_error_is_one_line_naming_the_log(home: Path) -> None:
    group = _Group()  # a group like `cli`, with a command that has a bug

    @group.command()
    def broken() -> None:
        {}["missing"]  # a bug

    result = CliRunner().invoke(group, ["broken"])
    log = home / "error.log"
    assert (result.exit_code, result.stderr) == (
        70,
        f"voice-guide: unexpected error (KeyError: 'missing'); details in {log}.\n",
    )
    assert "Traceback (most recent call last)" in log.read_text(encoding="utf-8")
    assert "KeyError: 'missing'" in log.read_text(encoding="utf-8")


def test_an_os_error_is_one_sentence_naming_the_file(tmp_path: Path) -> None:
    group = _Group()

    @group.command()
    def reads() -> None:
        (tmp_path / "gone.txt").read_text()

    result = CliRunner().invoke(group, ["reads"])
    assert (result.exit_code, result.stderr) == (
        1,
        f"voice-guide: cannot use {tmp_path / 'gone.txt'}: No such file or directory — check "
        "the path, its folder, permissions and free space\n",
    )


# -- signals: real processes, real signals ----------------------------------------------------


def _start(home: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "voice_guide", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        env=voice_guide_env(home),
        cwd=REPO,
    )


def _stop(process: subprocess.Popen[str], signum: int, ready: Callable[[], bool]) -> Finished:
    """Send `signum` once `ready()` holds (the command is at work), then wait for the end."""
    deadline = time.monotonic() + 90
    while not ready():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the command never got going"
        time.sleep(0.05)
    process.send_signal(signum)
    out, err = process.communicate(timeout=30)
    return Finished(process.returncode, out, err)


STOPPED = {
    signal.SIGINT: (130, "voice-guide: interrupted (Ctrl-C).\n"),
    signal.SIGTERM: (143, "voice-guide: stopped (SIGTERM).\n"),
}


@pytest.fixture
def long_routine(tmp_path: Path) -> Path:
    """A routine with 400 different sentences: rendering it takes seconds, not milliseconds."""
    path = tmp_path / "long.yaml"
    steps = "".join(
        f"  - {{id: s{n}, say: Sentence number {n} of the long render., duration: 5s}}\n"
        for n in range(400)
    )
    path.write_text("title: Long render\nsteps:\n" + steps, encoding="utf-8")
    return path


def _temporary_beside(target: Path) -> list[Path]:
    return sorted(target.parent.glob(f".{target.name}.*"))


@pytest.mark.audio
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_stopped_render_leaves_no_file_at_the_target(
    signum: int, long_routine: Path, tmp_path: Path, home: Path
) -> None:
    target = tmp_path / "session.wav"
    process = _start(home, "render", str(long_routine), "-o", str(target))
    done = _stop(process, signum, lambda: bool(_temporary_beside(target)))
    code, line = STOPPED[signum]
    assert (done.code, done.stderr.splitlines()[-1] + "\n") == (code, line)
    _no_traceback(done.stderr)
    assert not target.exists() and _temporary_beside(target) == []


@pytest.mark.audio
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_stopped_render_keeps_the_file_that_was_there(
    signum: int, long_routine: Path, tmp_path: Path, home: Path
) -> None:
    target = tmp_path / "session.wav"
    target.write_bytes(b"an earlier render")
    process = _start(home, "render", str(long_routine), "-o", str(target))
    done = _stop(process, signum, lambda: bool(_temporary_beside(target)))
    assert done.code == STOPPED[signum][0]
    assert target.read_bytes() == b"an earlier render" and _temporary_beside(target) == []


class _Lines:
    """Collects a process's stderr lines on a thread (so waiting never blocks on a pipe)."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        self._process = process
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        assert self._process.stderr is not None
        for line in self._process.stderr:
            self.lines.append(line)

    def seen(self, text: str) -> bool:
        """Whether a line holds `text` (any case)."""
        return any(text.lower() in line.lower() for line in self.lines)

    def finish(self, signum: int) -> Finished:
        """Send `signum`, wait for the end (bounded) and return everything the process said."""
        self._process.send_signal(signum)
        code = self._process.wait(timeout=30)
        self._thread.join(timeout=10)
        assert self._process.stdout is not None
        return Finished(code, self._process.stdout.read(), "".join(self.lines))


def _wait_for(lines: _Lines, process: subprocess.Popen[str], text: str) -> None:
    deadline = time.monotonic() + 90
    while not lines.seen(text):
        assert process.poll() is None, "".join(lines.lines)
        assert time.monotonic() < deadline, "".join(lines.lines)
        time.sleep(0.05)


@pytest.mark.audio
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_stopped_listen_exits_with_one_line(signum: int, tmp_path: Path, home: Path) -> None:
    path = tmp_path / "long.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
        out.writeframes(np.zeros(16000 * 600, dtype="<i2").tobytes())  # 10 minutes
    process = _start(home, "listen", str(path), "--engine", "pocketsphinx")
    lines = _Lines(process)
    _wait_for(lines, process, "pocketsphinx")  # the recognizer is loaded
    time.sleep(0.5)
    done = lines.finish(signum)
    code, line = STOPPED[signum]
    assert (done.code, done.stderr.splitlines()[-1] + "\n") == (code, line)
    _no_traceback(done.stderr)


@pytest.mark.audio
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_stopped_demo_leaves_no_room_recording(signum: int, tmp_path: Path, home: Path) -> None:
    target = tmp_path / "room.wav"
    args = ["back-massage", "--no-person", "--quiet", "--engine", "pocketsphinx"]
    process = _start(home, "demo", *args, "--out", str(target))
    lines = _Lines(process)
    _wait_for(lines, process, "pocketsphinx")  # the recognizer is loaded
    deadline = time.monotonic() + 60
    while not _temporary_beside(target) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(1.0)  # the room is recording
    done = lines.finish(signum)
    code, line = STOPPED[signum]
    assert (done.code, done.stderr.splitlines()[-1] + "\n") == (code, line)
    _no_traceback(done.stderr)
    assert not target.exists() and _temporary_beside(target) == []


@pytest.fixture
def trickling_server() -> Iterator[str]:
    """A real HTTP server on 127.0.0.1 that promises 100 MB and sends a byte now and then."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", "100000000")
            self.end_headers()
            try:
                while True:
                    self.wfile.write(b"x")
                    self.wfile.flush()
                    time.sleep(0.2)
            except OSError:
                return  # the client went away

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/tiny.zip"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_stopped_model_download_exits_with_one_line(
    signum: int, trickling_server: str, home: Path
) -> None:
    args = ["models", "download", "tiny", "--url", trickling_server, "--no-verify"]
    process = _start(home, *args, "--language", "en")
    lines = _Lines(process)
    _wait_for(lines, process, "downloading")
    time.sleep(0.5)
    done = lines.finish(signum)
    assert done.code == STOPPED[signum][0]
    assert done.stderr.splitlines()[-1] == (
        "voice-guide: interrupted; the partial download is kept, run the same command to resume."
    )
    _no_traceback(done.stderr)
    assert not (home / "models" / "tiny").exists()


def test_there_are_at_least_sixty_hostile_input_cases() -> None:
    counted = len(BAD_ROUTINES) + len(BAD_WAVS) + len(BAD_ARGS) + 6  # + profile levels
    assert counted >= 60


def test_history_never_prints_escapes_stored_in_the_database(home: Path) -> None:
    from voice_guide.store import Store

    with Store() as store:
        store.start_session("old.yaml", "\x1b[2J\x1b[31mEvening", "Sam\x07", time.time())
    result = CliRunner().invoke(cli, ["history"])
    assert result.exit_code == 0
    assert "\x1b" not in result.output and "\x07" not in result.output
    assert "Evening" in result.output and "Sam" in result.output


def test_a_file_name_that_is_not_utf8_is_shown_with_its_bytes(tmp_path: Path, voice_guide) -> None:
    name = os.fsdecode(bytes(tmp_path) + b"/n\xff.yaml")
    done = voice_guide("preview", name, timeout=30)
    shown = f"{tmp_path}/n\\xff.yaml"
    assert (done.code, done.stderr) == (
        1,
        f"{shown}: no such file — check the path, or give a routine name (`voice-guide list`)\n",
    )
