"""The wiring builds real parts from settings: espeak-ng speaker, recognizer, store."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from voice_guide.routine.loader import load_routine
from voice_guide.speech_in.listener import Listener
from voice_guide.wiring import (
    VIRTUAL_ROOM,
    LiveSettings,
    guide_speaker,
    open_store,
    routine_voice,
    start_listener,
)

pytestmark = pytest.mark.audio


def test_live_settings_are_frozen_and_the_virtual_room_waits_longer_to_render() -> None:
    live = LiveSettings()
    with pytest.raises(dataclasses.FrozenInstanceError):
        live.render_timeout = 10.0  # type: ignore[misc]
    assert VIRTUAL_ROOM.render_timeout > live.render_timeout
    assert dataclasses.replace(VIRTUAL_ROOM, render_timeout=live.render_timeout) == live


def test_the_speaker_follows_the_settings_and_speaks_with_espeak() -> None:
    model = load_routine("neck-and-shoulders")
    voice = routine_voice(model, None, 200, 0.5)
    assert (voice.rate, voice.volume) == (200, 0.5)
    quiet = guide_speaker(model, voice, 16000, LiveSettings(earcons=False))
    assert quiet.earcon("step") is None
    speaker = guide_speaker(model, voice, 16000, VIRTUAL_ROOM)
    tone = speaker.earcon("step")
    assert tone is not None and tone.kind == "earcon:step"
    handle = speaker.say("Rest your hands on the shoulders.")
    assert handle.kind == "speech" and 1.0 < handle.seconds < 6.0  # real rendered audio
    assert speaker.playback.sample_rate == 16000


def test_the_listener_says_which_engine_hears() -> None:
    said: list[str] = []
    listener = start_listener("pocketsphinx", load_routine("neck-and-shoulders"), said.append)
    assert isinstance(listener, Listener)
    assert said and "PocketSphinx" in said[0]


def test_the_store_reports_a_damaged_database_it_moved_aside(home: Path) -> None:
    home.mkdir(parents=True)
    (home / "sessions.sqlite3").write_bytes(b"this is not a database at all" * 100)
    said: list[str] = []
    with open_store(said.append) as store:
        assert store.history(None, limit=5) == []
    assert len(said) == 1 and "moved" in said[0]
