"""The giver's recorded lines of a routine, kept beside it.

    my-routine.yaml
    my-routine.recordings/
        manifest.json          text, language, file, seconds, loudness, key of every clip
        3f2a9c81d0e4b7a5.wav   one clip per take, named by a hash of its audio

A clip is found by the exact sentence it says (`find`: the `Recordings` speech out plays
first). Names are hashes of the content, so a new take never overwrites an older file, and
the manifest is replaced in one atomic rename: a failure at any point leaves the previous
recordings as they were. Lines of the routine that have no clip, and clips whose line has
been edited since (stale), are what `review` reports (`check` and `record` show them).
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import wave
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Final

from voice_guide import paths
from voice_guide.audio import AudioBuffer, AudioFormatError, read_wav, to_int16_bytes
from voice_guide.errors import VoiceGuideError
from voice_guide.files import atomic_write, open_regular
from voice_guide.routine.loader import LoadedRoutine, Problem, available_routines
from voice_guide.speech_out.recorded import Recording
from voice_guide.spoken_lines import Line, normalized, spoken_lines

MANIFEST: Final = "manifest.json"
FORMAT: Final = 1
"""Version of the manifest's layout."""
SUFFIX: Final = ".recordings"
CLIP_RATE: Final = 22050
"""Sample rate of every kept clip (Hz): the synthetic voice's own, plenty for speech."""


class RecordingsError(VoiceGuideError):
    """The recordings folder or its manifest cannot be used; the message says why and what
    to do, in one sentence (located as file:line:column for a malformed manifest)."""


@dataclass(frozen=True)
class Clip:
    """One recorded line, as the manifest lists it."""

    text: str
    language: str
    file: str
    """File name inside the recordings folder."""
    seconds: float
    loudness: float
    """LUFS, after normalizing to the synthetic voice's level."""
    key: str | None = None
    """Where the line is written in the routine (see Line.key): what makes an edit stale."""


@dataclass(frozen=True)
class Stale:
    """A line whose recording was made for other words."""

    line: Line
    recorded: str
    """The words the recording says."""


def _builtin(loaded: LoadedRoutine) -> bool:
    source = Path(loaded.source).resolve()
    return source in {Path(info.path).resolve() for info in available_routines() if info.builtin}


def recordings_dir(loaded: LoadedRoutine) -> Path:
    """Where the recordings of a routine live: beside its file, or, for a built-in routine,
    in the user data folder (the package's own folder is not the user's to write)."""
    source = Path(loaded.source)
    if _builtin(loaded):
        return paths.data_dir() / "recordings" / source.stem
    return source.with_name(source.stem + SUFFIX)


class RecordingStore:
    """The clips of one routine's recordings folder (see the module docstring)."""

    def __init__(self, folder: Path, language: str) -> None:
        """Reads the manifest if there is one (RecordingsError when it is malformed)."""
        self.folder = folder
        self.language = language
        self._clips: dict[str, Clip] = {}
        self.unreadable: list[str] = []
        """Clips whose file could not be read when last looked up (played by the voice)."""
        for clip in _read_manifest(folder / MANIFEST):
            self._clips[normalized(clip.text)] = clip

    @property
    def clips(self) -> list[Clip]:
        """Every clip, in the order they were recorded."""
        return list(self._clips.values())

    def clip(self, text: str) -> Clip | None:
        """The clip saying `text` in the routine's language (None when there is none)."""
        clip = self._clips.get(normalized(text))
        return clip if clip is not None and clip.language == self.language else None

    def find(self, text: str) -> Recording | None:
        """The recording of `text`, read from its file; None when there is none or its file
        cannot be read (the synthetic voice says it then, and `unreadable` names it)."""
        clip = self.clip(text)
        if clip is None:
            return None
        try:
            audio = read_wav(self.folder / clip.file)
        except AudioFormatError:
            self.unreadable.append(clip.file)
            return None
        return Recording(audio, clip.loudness)

    def add(self, line: Line, audio: AudioBuffer, loudness: float) -> Clip:
        """Keep `audio` as the recording of `line`: the clip is written, then the manifest
        replaced; on any failure the folder's previous state stands (RecordingsError)."""
        audio = audio.resampled(CLIP_RATE)
        data = _wav_bytes(audio)
        name = hashlib.sha256(data).hexdigest()[:16] + ".wav"
        clip = Clip(
            line.text, self.language, name, round(audio.seconds, 3), round(loudness, 2), line.key
        )
        clips = {**self._clips, normalized(line.text): clip}
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            if not (self.folder / name).is_file():  # same name, same audio
                with atomic_write(self.folder / name, exclusive=True) as file:
                    file.write(data)
            with atomic_write(self.folder / MANIFEST) as file:
                file.write(_manifest_bytes(clips.values()))
        except OSError as error:
            raise RecordingsError(
                f"Could not save the recording in {self.folder}: {error.strerror or error}; "
                "free some space or make the folder writable, then record it again."
            ) from error
        self._clips = clips
        return clip

    def review(self, lines: Iterable[Line]) -> tuple[list[Line], list[Stale]]:
        """The lines with no recording, and the lines whose recording says other words
        (the clip with the same key was made before the line was edited)."""
        by_key = {clip.key: clip for clip in self._clips.values() if clip.key}
        missing: list[Line] = []
        stale: list[Stale] = []
        for line in lines:
            if self.clip(line.text) is not None:
                continue
            old = by_key.get(line.key) if line.key else None
            if old is not None and self.clip(old.text) is not None:
                stale.append(Stale(line, old.text))
            else:
                missing.append(line)
        return missing, stale


def match_files(folder: Path, lines: list[Line]) -> tuple[list[tuple[Line, Path]], list]:
    """Which file of `folder` records which line: by its manifest.json when it has one (as
    `record` writes it), else by file name: a leading number is the line's number in
    `record --list`, otherwise the name's words must begin exactly one line ("rest your
    palms.wav"). Returns the matches and the (file, reason) of the files left out."""
    manifest = folder / MANIFEST
    if manifest.is_file():
        by_text = {normalized(line.text): line for line in lines}
        matches, left = [], []
        for clip in _read_manifest(manifest):
            line = by_text.get(normalized(clip.text))
            if line is None:
                left.append((folder / clip.file, f"{clip.text!r} is not a line of this routine"))
            else:
                matches.append((line, folder / clip.file))
        return matches, left
    matches, left = [], []
    for path in sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")):
        line, why = _line_named(path, lines)
        if line is None:
            left.append((path, why))
        else:
            matches.append((line, path))
    return matches, left


def _line_named(path: Path, lines: list[Line]) -> tuple[Line | None, str]:
    if path.suffix.lower() != ".wav":
        return None, "only WAV files can be imported (convert it, e.g. ffmpeg -i IN OUT.wav)"
    number = re.match(r"\d+", path.stem)
    if number:
        n = int(number.group())
        if 1 <= n <= len(lines):
            return lines[n - 1], ""
        return None, f"there is no line {n} (`voice-guide record ROUTINE --list` numbers them)"
    words = _words(path.stem)
    found = [line for line in lines if words and _words(line.text)[: len(words)] == words]
    if len(found) == 1:
        return found[0], ""
    if not found:
        return None, "its name is neither a line number nor the first words of a line"
    return None, f"its name begins {len(found)} lines: add words until it names one"


def _words(text: str) -> list[str]:
    return re.findall(r"[^\W_]+", text.lower())


def recording_problems(loaded: LoadedRoutine) -> list[Problem]:
    """Warnings for `check` about a routine that has recordings: each line whose recording
    was made for other words (stale), located where the line is written, and one summary of
    the lines with no recording at all. Nothing for a routine never recorded."""
    if not has_recordings(loaded):
        return []
    source = loaded.source
    try:
        store = open_recordings(loaded)
    except RecordingsError as error:
        return [Problem(source, None, None, f"{error} (the synthetic voice says everything)", True)]
    missing, stale = store.review(spoken_lines(loaded))
    record = f"voice-guide record {Path(source).stem if _builtin(loaded) else source}"
    problems = []
    for old in stale:
        line, column = loaded.marks.locate(old.line.loc or ())
        message = (
            f"the recording of this line says {_short(old.recorded)!r}, not the text written "
            f"here, so the synthetic voice says it — record it again: {record}"
        )
        problems.append(Problem(source, line, column, message, warning=True))
    if missing:
        problems.append(
            Problem(
                source,
                None,
                None,
                f"{len(missing)} of the lines the guide can say have no recording and use the "
                f"synthetic voice (e.g. {_short(missing[0].text)!r}) — record them: {record}",
                warning=True,
            )
        )
    return problems


def _short(text: str, width: int = 50) -> str:
    return text if len(text) <= width else text[: width - 3].rstrip() + "..."


def open_recordings(loaded: LoadedRoutine) -> RecordingStore:
    """The recordings of `loaded` (an empty store when it has none yet)."""
    return RecordingStore(recordings_dir(loaded), loaded.routine.language)


def has_recordings(loaded: LoadedRoutine) -> bool:
    """True when the routine has a recordings manifest."""
    return (recordings_dir(loaded) / MANIFEST).is_file()


def _wav_bytes(audio: AudioBuffer) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as file:
        file.setnchannels(1)
        file.setsampwidth(2)
        file.setframerate(audio.sample_rate)
        file.writeframes(to_int16_bytes(audio.samples))
    return buffer.getvalue()


def _manifest_bytes(clips: Iterable[Clip]) -> bytes:
    data = {"format": FORMAT, "clips": [asdict(clip) for clip in clips]}
    return (json.dumps(data, ensure_ascii=False, indent=1) + "\n").encode("utf-8")


_FIELDS: Final = {"text": str, "language": str, "file": str, "seconds": float, "loudness": float}


def _read_manifest(path: Path) -> list[Clip]:
    """The clips a manifest lists (none when there is no manifest)."""
    try:
        with open_regular(path, "r") as file:  # a FIFO named manifest.json must not hang us
            text = file.read()
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError) as error:
        raise RecordingsError(
            f"{path}: cannot be read ({error}); move it away to start the recordings over."
        ) from error
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise RecordingsError(
            f"{path}:{error.lineno}:{error.colno}: not valid JSON ({error.msg}) — fix it, or "
            "move it away to start the recordings over"
        ) from error
    if not isinstance(data, dict) or not isinstance(data.get("clips"), list):
        raise RecordingsError(
            f"{path}:1:1: not a recordings manifest (no 'clips' list) — move it away to start "
            "the recordings over"
        )
    return [_clip(path, text, n, entry) for n, entry in enumerate(data["clips"])]


def _clip(path: Path, text: str, n: int, entry: Any) -> Clip:
    problem = _entry_problem(entry)
    if problem is not None:
        line = _line_of_entry(text, n)
        raise RecordingsError(
            f"{path}:{line}:1: clip {n + 1} {problem} — fix the entry, or remove it and record "
            "that line again"
        )
    key = entry.get("key")
    return Clip(
        entry["text"],
        entry["language"],
        entry["file"],
        float(entry["seconds"]),
        float(entry["loudness"]),
        key if isinstance(key, str) else None,
    )


def _entry_problem(entry: Any) -> str | None:
    if not isinstance(entry, dict):
        return "is not an object"
    for name, kind in _FIELDS.items():
        value = entry.get(name)
        valid = isinstance(value, (int, float)) and not isinstance(value, bool)
        if kind is str:
            valid = isinstance(value, str) and bool(value.strip())
        if not valid:
            return f"has no valid {name!r}"
    if Path(entry["file"]).name != entry["file"] or not entry["file"].endswith(".wav"):
        return "names a file outside its folder (only 'name.wav' is allowed)"
    return None


def _line_of_entry(text: str, n: int) -> int:
    """The line where the n-th object of the manifest's list begins (1 when not found)."""
    depth, seen, line = 0, -1, 1
    in_string = escaped = False
    for char in text:
        if in_string:
            escaped, in_string = (False, True) if escaped else (char == "\\", char != '"')
            continue
        if char == "\n":
            line += 1
        elif char == '"':
            in_string = True
        elif char in "{[":
            depth += 1
            if char == "{" and depth == 3:  # {"clips": [ {...}, ... ]}
                seen += 1
                if seen == n:
                    return line
        elif char in "}]":
            depth -= 1
    return 1
