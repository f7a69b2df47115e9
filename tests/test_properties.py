"""Property tests: whatever bytes come in, the routine loader and the WAV reader give a
located error or a valid result, never a traceback or a hang."""

from __future__ import annotations

import io
import math
import struct
from pathlib import Path

import numpy as np
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from voice_guide.audio import AudioBuffer, AudioFormatError, WavFile, read_wav_header
from voice_guide.routine.loader import LoadedRoutine, RoutineError, parse_routine
from voice_guide.routine.timeline import build_timeline

FAST = settings(
    max_examples=150, deadline=2000, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
VALID = (
    "title: Hand massage\nsteps:\n  - id: palm\n    say: Circle the palm.\n    duration: 1m\n"
    "    cues: [{at: halfway, say: Now the thumb.}]\n"
)


def _loads_or_locates(data: str | bytes) -> None:
    try:
        loaded = parse_routine(data, "fuzz.yaml")
    except RoutineError as error:
        assert error.problems
        for problem in error.problems:
            text = str(problem)
            assert text.startswith("fuzz.yaml") and "\n" not in text
            assert problem.line is None or problem.line >= 1
            assert " — " in problem.message, problem.message  # what is wrong — how to fix it
        return
    assert isinstance(loaded, LoadedRoutine)
    assert build_timeline(loaded.routine).total >= 0  # a valid routine also runs


@FAST
@given(st.binary(max_size=2000))
def test_any_bytes_load_or_give_located_errors(data: bytes) -> None:
    _loads_or_locates(data)


@FAST
@given(st.text(alphabet=st.sampled_from(list("abt:- \n[]{}'\"&*!#|>%@`,?\\\t0129.")), max_size=400))
def test_yaml_like_text_loads_or_gives_located_errors(text: str) -> None:
    _loads_or_locates(text)


@FAST
@given(st.integers(0, len(VALID)), st.text(max_size=20))
def test_a_valid_routine_with_text_spliced_in_loads_or_gives_located_errors(
    at: int, insert: str
) -> None:
    _loads_or_locates(VALID[:at] + insert + VALID[at:])


_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**30), 10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(["1m", "halfway", "30s left", "wait for next", "3h", "0", "-1m"]),
)
_keys = st.sampled_from(
    ["title", "steps", "id", "say", "duration", "cues", "at", "pressure", "levels", "start",
     "name", "sections", "language", "voice", "rate", "offer", "ask", "area", "min", "max", "x"]
)  # fmt: skip
_data = st.recursive(
    _scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(_keys, children, max_size=5),
    max_leaves=25,
)


@FAST
@given(st.dictionaries(_keys, _data, max_size=6))
def test_routine_shaped_data_loads_or_gives_located_errors(data: dict) -> None:
    _loads_or_locates(yaml.safe_dump(data, allow_unicode=True))


# -- WAV -------------------------------------------------------------------------------


def _header(encoding: int, channels: int, rate: int, bits: int, declared: int) -> bytes:
    block = (channels * bits // 8) & 0xFFFF
    fmt = struct.pack("<HHIIHH", encoding, channels, rate, (rate * block) & 0xFFFFFFFF, block, bits)
    return b"RIFFxxxxWAVEfmt " + struct.pack("<I", 16) + fmt + b"data" + struct.pack("<I", declared)


def _decodes_or_explains(data: bytes) -> None:
    try:
        audio = AudioBuffer.from_wav_bytes(data, "fuzz.wav")
    except AudioFormatError as error:
        message = str(error)
        assert message.startswith("fuzz.wav ") and "\n" not in message
        return
    assert audio.samples.dtype == np.float32 and audio.samples.ndim == 1
    assert 1000 <= audio.sample_rate <= 384_000


@FAST
@given(st.binary(max_size=300))
def test_any_bytes_decode_or_explain(data: bytes) -> None:
    _decodes_or_explains(data)
    _decodes_or_explains(b"RIFF\x00\x00\x00\x00WAVE" + data)


@FAST
@given(
    encoding=st.sampled_from([0, 1, 2, 3, 6, 7, 0x11, 0xFFFE, 0x1234]),
    channels=st.sampled_from([0, 1, 2, 3, 8, 33, 65535]),
    rate=st.sampled_from([0, 999, 1000, 8000, 44100, 384_000, 384_001, 2**32 - 1]),
    bits=st.sampled_from([0, 1, 4, 8, 12, 16, 24, 32, 64, 65535]),
    declared=st.integers(0, 2**32 - 1),
    body=st.binary(max_size=600),
)
def test_any_header_fields_decode_or_explain(
    encoding: int, channels: int, rate: int, bits: int, declared: int, body: bytes
) -> None:
    data = _header(encoding, channels, rate, bits, declared) + body
    _decodes_or_explains(data)
    try:
        wav = read_wav_header(io.BytesIO(data), len(data), "fuzz.wav")
    except AudioFormatError:
        return
    # What the header checker lets through is consistent with the bytes that are there.
    assert wav.data_bytes % wav.frame_bytes == 0
    assert wav.data_start + wav.data_bytes <= len(data)
    assert math.isfinite(wav.seconds)


@FAST
@given(body=st.binary(min_size=2, max_size=4000), channels=st.integers(1, 4))
def test_a_file_read_in_blocks_equals_the_file_read_whole(
    body: bytes, channels: int, tmp_path_factory
) -> None:
    frames = body[: len(body) - len(body) % (2 * channels)]
    data = _header(1, channels, 16000, 16, len(frames)) + frames
    path: Path = tmp_path_factory.mktemp("wav") / "f.wav"
    path.write_bytes(data)
    whole = AudioBuffer.from_wav_bytes(data, "f.wav").samples
    try:
        with WavFile(path) as wav:
            blocks = list(wav.blocks(frames=7))
    except AudioFormatError as error:
        assert len(whole) == 0 and "only a header" in str(error)
        return
    assert np.array_equal(np.concatenate(blocks), whole)
