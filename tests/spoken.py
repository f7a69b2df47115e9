"""Real synthesized speech for the listening tests, fed the way a microphone feeds it."""

from __future__ import annotations

import subprocess
import wave
from pathlib import Path

import numpy as np

from voice_guide.audio import to_int16_bytes
from voice_guide.speech_in import Listener
from voice_guide.speech_in.audio import SAMPLE_RATE, read_wav, resample

LEAD, TAIL = 0.5, 0.8  # seconds of silence around each synthesized utterance
CHUNK = 320  # 20 ms at 16 kHz, the microphone's block


def synthesize(directory: Path, text: str, voice: str) -> np.ndarray:
    """flite (English voices) or espeak-ng ('ko'), padded with silence, at 16 kHz."""
    path = directory / f"{voice}-{abs(hash(text))}.wav"
    if voice == "ko":
        subprocess.run(["espeak-ng", "-v", "ko", "-w", str(path), text], check=True)
    else:
        subprocess.run(["flite", "-voice", voice, "-t", text, "-o", str(path)], check=True)
    wav = read_wav(path)
    audio = resample(wav.samples, wav.sample_rate)
    lead = np.zeros(int(LEAD * SAMPLE_RATE), np.float32)
    tail = np.zeros(int(TAIL * SAMPLE_RATE), np.float32)
    return np.concatenate([lead, audio, tail])


def listen(recognizer, audio: np.ndarray, chunk: int = CHUNK) -> list:
    """Feed `audio` through the real Listener in chunks (20 ms by default) and flush."""
    listener = Listener(recognizer)
    found = []
    for start in range(0, len(audio), chunk):
        found += listener.feed(audio[start : start + chunk])
    return found + listener.flush()


def write_wav(path: Path, audio: np.ndarray) -> Path:
    """`audio` (16 kHz float32) as a mono 16-bit WAV file, as a recorder would save it."""
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        w.writeframes(to_int16_bytes(audio))
    return path
