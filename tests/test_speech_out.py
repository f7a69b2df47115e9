"""Speech out without devices: real pyttsx3/espeak-ng rendering, the cache, the pull player,
earcons and the speakers."""

from __future__ import annotations

import io
import threading
import time
import weakref

import numpy as np
import pytest

from voice_guide.audio import AudioBuffer
from voice_guide.routine.speech_time import estimate_speech_seconds
from voice_guide.speech_out import (
    EARCON_NAMES,
    EspeakRenderer,
    GuideSpeaker,
    Playback,
    RenderCache,
    TextSpeaker,
    UnknownVoiceError,
    VoiceSettings,
    earcon,
    installed_voices,
    resolve_voice,
)

pytestmark = pytest.mark.audio

SENTENCES = [
    "Warm your hands and place them flat on the lower back.",
    "Glide slowly up to the shoulders, keeping your hands in contact.",
    "Use your thumbs in small circles across the tops of the shoulders.",
    "Never press on the spine.",
]
RATE = 48000


@pytest.fixture(scope="module")
def renderer() -> EspeakRenderer:
    return EspeakRenderer(VoiceSettings(voice="en-us"))


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))


def _voiced_seconds(audio: AudioBuffer) -> float:
    """Seconds of 20 ms frames louder than -40 dBFS."""
    frame = audio.sample_rate // 50
    n = len(audio.samples) // frame
    frames = audio.samples[: n * frame].reshape(n, frame)
    return float(np.sum(np.sqrt(np.mean(frames**2, axis=1)) > 0.01)) / 50


def test_renders_real_sentences(renderer: EspeakRenderer) -> None:
    for text in SENTENCES:
        audio = renderer.render(text)
        assert audio.sample_rate == 22050
        assert audio.samples.dtype == np.float32
        estimate = estimate_speech_seconds(text, renderer.settings.rate)
        assert 0.5 * estimate < audio.seconds < 2.0 * estimate, (text, audio.seconds, estimate)
        assert audio.peak > 0.2
        assert _rms(audio.samples) > 0.03
        assert _voiced_seconds(audio) > 0.5 * audio.seconds


def test_rate_and_volume_change_the_audio(renderer: EspeakRenderer) -> None:
    text = SENTENCES[1]
    normal = renderer.render(text)
    slow = EspeakRenderer(VoiceSettings(voice="en-us", rate=110)).render(text)
    quiet = EspeakRenderer(VoiceSettings(voice="en-us", volume=0.3)).render(text)
    assert slow.seconds > 1.3 * normal.seconds
    assert _rms(quiet.samples) < 0.5 * _rms(normal.samples)


def test_renders_from_many_threads_keep_their_own_settings() -> None:
    """Every call lands on the one worker; settings never leak between renderers."""
    text = "Glide slowly up."
    renderers = {
        rate: EspeakRenderer(VoiceSettings(voice="en-us", rate=rate)) for rate in (110, 300)
    }
    expected = {rate: r.render(text).seconds for rate, r in renderers.items()}
    results: list[tuple[int, float]] = []

    def speak(rate: int) -> None:
        for _ in range(10):
            results.append((rate, renderers[rate].render(text).seconds))

    threads = [threading.Thread(target=speak, args=(rate,)) for rate in (110, 300, 110, 300)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(results) == 40
    assert all(abs(seconds - expected[rate]) < 0.05 for rate, seconds in results), results


def test_other_language_voice_renders() -> None:
    audio = EspeakRenderer(VoiceSettings(voice="ko")).render("다음 단계로 넘어갑니다.")
    assert audio.seconds > 0.5 and audio.peak > 0.2


def test_empty_text_is_empty_audio(renderer: EspeakRenderer) -> None:
    assert renderer.render("   ").seconds == 0.0


def test_voices_are_listed_and_resolved() -> None:
    voices = installed_voices()
    english = [v for v in voices if v.speaks("en")]
    assert any(v.id == "gmw/en-us" for v in english)
    assert not any(v.speaks("en") for v in voices if v.id == "ko")
    assert resolve_voice("English (America)", voices) == "gmw/en-us"
    assert resolve_voice("EN-US", voices) == "gmw/en-us"
    assert resolve_voice("en-us+f3", voices) == "gmw/en-us+f3"
    assert resolve_voice("ko", voices) == "ko"


@pytest.mark.parametrize(
    ("name", "suggestion"), [("gmw/en-uss", "gmw/en-us"), ("englsh", "English"), ("zz", None)]
)
def test_unknown_voice_gets_did_you_mean(name: str, suggestion: str | None) -> None:
    with pytest.raises(UnknownVoiceError) as caught:
        EspeakRenderer(VoiceSettings(voice=name))
    message = str(caught.value)
    assert "voice-guide voices" in message and "\n" not in message
    if suggestion:
        assert "Did you mean" in message and suggestion in message
    else:
        assert "Did you mean" not in message


def test_settings_out_of_range_are_refused() -> None:
    with pytest.raises(ValueError, match="rate"):
        VoiceSettings(rate=1000)
    with pytest.raises(ValueError, match="volume"):
        VoiceSettings(volume=1.5)


def test_cache_returns_identical_audio_without_rerendering(renderer: EspeakRenderer) -> None:
    cache = RenderCache(renderer, RATE)
    first = cache.prerender(SENTENCES[0]).result(timeout=10)
    again = cache.get(SENTENCES[0])
    assert again is first and cache.renders == 1 and cache.hits == 1
    assert first.sample_rate == RATE
    direct = renderer.render(SENTENCES[0])
    assert abs(first.seconds - direct.seconds) < 0.03  # espeak-ng chunking varies by ms
    other = RenderCache(EspeakRenderer(VoiceSettings(voice="en-us", rate=140)), RATE)
    assert other.key(SENTENCES[0]) != cache.key(SENTENCES[0])


def test_prerender_is_used_by_get(renderer: EspeakRenderer) -> None:
    cache = RenderCache(renderer, RATE)
    future = cache.prerender(SENTENCES[2])
    assert cache.prerender(SENTENCES[2]) is future  # a second prerender does not render again
    audio = future.result(timeout=10)
    assert cache.cached(SENTENCES[2])
    assert cache.get(SENTENCES[2]) is audio
    assert cache.renders == 1


def test_get_jumps_ahead_of_queued_prerenders(renderer: EspeakRenderer) -> None:
    """Pre-rendering a whole routine never delays what is about to be said."""
    cache = RenderCache(renderer, RATE)
    backlog = [f"Pre-rendered sentence number {n}, waiting in line." for n in range(40)]
    for text in backlog:
        cache.prerender(text)
    now = cache.get(backlog[-1])  # queued last: moved to the front
    fresh = cache.get("Something never pre-rendered.")  # urgent: ahead of the backlog too
    assert now.seconds > 1 and fresh.seconds > 1
    assert not cache.cached("Something never pre-rendered.")  # a one-off: not kept
    assert sum(cache.cached(text) for text in backlog) < 20
    assert cache.renders == 41
    for text in backlog:
        cache.prerender(text).result(timeout=30)  # the backlog still completes, once each
    assert all(cache.cached(text) for text in backlog) and cache.renders == 41


def test_cache_evicts_least_recently_used(renderer: EspeakRenderer) -> None:
    one = RenderCache(renderer, RATE).get(SENTENCES[0])
    cache = RenderCache(renderer, RATE, max_bytes=int(one.samples.nbytes * 1.1))
    cache.prerender(SENTENCES[0]).result(timeout=10)
    cache.prerender(SENTENCES[3]).result(timeout=10)
    assert cache.cached(SENTENCES[3]) and not cache.cached(SENTENCES[0])
    assert cache.nbytes == cache.get(SENTENCES[3]).samples.nbytes


def test_cache_keeps_prerendered_sentences_and_drops_one_offs(renderer: EspeakRenderer) -> None:
    """A long session says many sentences only once (time announcements): they are
    rendered, played and dropped, while the routine's pre-rendered sentences stay."""
    player = Playback(RATE)
    cache = RenderCache(renderer, RATE)
    speaker = GuideSpeaker(cache, player)
    routine = SENTENCES[1]
    speaker.prerender(routine)  # as the runner does a step ahead
    kept = cache.prerender(routine).result(timeout=10)
    assert cache.nbytes == kept.samples.nbytes > 0
    one_offs = [f"Continuing. About {minutes} minutes left." for minutes in range(2, 12)]
    for text in [routine, *one_offs, routine]:
        handle = speaker.say(text)
        while not handle.done:
            player.pull(4800)
        assert handle.seconds > 1
    assert cache.renders == 1 + len(one_offs) and cache.hits == 2
    assert cache.cached(routine) and cache.nbytes == kept.samples.nbytes
    assert not any(cache.cached(text) for text in one_offs)
    # Nobody but the caller (the playback, while it plays) holds a one-off's audio: it is
    # freed as soon as the caller lets go (the worker drops its job right after the render).
    one_off = weakref.ref(cache.get("Continuing. About 1 minute left."))
    deadline = time.monotonic() + 5
    while one_off() is not None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert one_off() is None
    assert cache.get(routine) is kept  # the routine's sentence is still the very same audio
    cache.get(one_offs[0])  # said again, a one-off is rendered again
    assert cache.renders == 3 + len(one_offs)


# --- the pull player -----------------------------------------------------------------------


def _tone(seconds: float, rate: int = 1000, level: float = 0.5) -> np.ndarray:
    return np.full(int(seconds * rate), level, dtype=np.float32)


def test_playback_plays_in_order_with_exact_stream_times() -> None:
    player = Playback(1000)
    assert not player.speaking and np.all(player.pull(30) == 0)
    first = player.play(_tone(0.05, level=0.5), "one")
    second = player.play(_tone(0.03, level=0.25), "two")
    assert player.speaking and player.current is first
    out = np.concatenate([player.pull(20) for _ in range(6)])
    assert np.all(out[:50] == 0.5) and np.all(out[50:80] == 0.25) and np.all(out[80:] == 0)
    assert (first.start, first.end) == (0.03, 0.08)
    assert (second.start, second.end) == (0.08, 0.11)
    assert first.done and second.done and not first.stopped
    assert [h.text for h in player.history] == ["one", "two"]
    assert not player.speaking and player.clock == pytest.approx(0.15)
    assert [h.text for h in player.heard_between(0.09, 0.2)] == ["two"]
    assert [h.text for h in player.heard_between(0.0, 0.01)] == []


def test_stop_silences_the_very_next_pull() -> None:
    player = Playback(1000)
    long = player.play(_tone(10.0), "a long instruction")
    queued = player.play(_tone(1.0), "queued")
    player.pull(20)
    player.pull(20)
    player.stop()
    assert not player.speaking
    assert np.all(player.pull(20) == 0)
    assert long.stopped and long.done and long.start == 0.0 and long.end == 0.04
    assert queued.stopped and queued.done and queued.start is None
    assert [h.text for h in player.history] == ["a long instruction"]
    after = player.play(_tone(0.01), "after")
    assert np.all(player.pull(20)[:10] == 0.5) and after.start == pytest.approx(0.06)


def test_overlay_mixes_on_top_and_clips() -> None:
    player = Playback(1000)
    speech = player.play(_tone(0.1, level=0.8), "speech")
    player.pull(10)
    tone = player.play(_tone(0.02, level=0.5), "", kind="earcon:heard", overlay=True)
    block = player.pull(30)
    assert np.all(block[:20] == 1.0)  # 0.8 + 0.5 clipped
    assert np.all(block[20:] == np.float32(0.8))
    assert (tone.start, tone.end) == (0.01, 0.03)
    assert speech.end is None and player.current is speech


def test_played_returns_what_was_pulled_for_the_echo_check() -> None:
    rate = 1000
    player = Playback(rate)
    ramp = (np.arange(25 * rate) % 1000 / 1000).astype(np.float32)  # longer than the tap
    player.play(ramp, "a long ramp")
    for _ in range(25 * rate // 30 + 1):
        player.pull(30)  # block size not dividing the tap: the ring wraps mid-block
    assert np.array_equal(player.played(24.0, 24.5), ramp[24 * rate : 24 * rate + 500])
    assert np.array_equal(player.played(10.25, 10.75), ramp[10250:10750])
    assert not player.played(1.0, 2.0).any()  # older than the tap keeps
    future = player.played(player.clock - 0.01, player.clock + 1.0)
    assert len(future) == 1010 and not future[10:].any()


def test_pull_into_fills_a_strided_view() -> None:
    player = Playback(1000)
    player.play(_tone(0.005), "x")
    out = np.ones((10, 2), dtype=np.float32)
    player.pull_into(out[:, 0])
    assert np.all(out[:5, 0] == 0.5) and np.all(out[5:, 0] == 0) and np.all(out[:, 1] == 1)


# --- earcons --------------------------------------------------------------------------------


def _pitch_track(samples: np.ndarray, rate: int) -> list[float]:
    """Dominant frequency of each 20 ms frame above -30 dBFS."""
    frame = rate // 50
    track = []
    for start in range(0, len(samples) - frame, frame):
        chunk = samples[start : start + frame]
        if _rms(chunk) > 0.03:
            spectrum = np.abs(np.fft.rfft(chunk * np.hanning(frame)))
            track.append(float(np.fft.rfftfreq(frame, 1 / rate)[np.argmax(spectrum)]))
    return track


def _tonality(samples: np.ndarray) -> float:
    """Share of the energy in the 8 strongest spectral peaks (+-2 bins): ~1 for tones."""
    spectrum = np.abs(np.fft.rfft(samples)) ** 2
    keep = np.zeros(len(spectrum), dtype=bool)
    window = len(spectrum) // 2000 + 2
    for peak in np.argsort(spectrum)[::-1]:
        if keep.sum() >= 8 * (2 * window + 1):
            break
        if not keep[peak]:
            keep[max(0, peak - window) : peak + window + 1] = True
    return float(spectrum[keep].sum() / spectrum.sum())


def test_earcons_are_soft_distinct_and_unlike_speech(renderer: EspeakRenderer) -> None:
    rate = 22050
    sounds = {name: earcon(name, rate) for name in EARCON_NAMES}
    assert set(sounds) == {"heard", "step", "paused", "end"}
    signatures = set()
    for name, samples in sounds.items():
        assert samples.dtype == np.float32 and 0.1 < len(samples) / rate < 2.0
        assert 0.1 < np.max(np.abs(samples)) <= 0.31, name  # soft: under the voice's peak
        assert abs(samples[0]) < 0.01 and abs(samples[-1]) < 0.01  # no clicks
        track = _pitch_track(samples, rate)
        # contour: the sequence of distinct pitches (rounded to 50 Hz) and the length
        contour = tuple(round(f / 50) for i, f in enumerate(track) if i == 0 or f != track[i - 1])
        signatures.add((contour, round(len(samples) / rate, 1)))
        assert _tonality(samples) > 0.9, name
    assert len(signatures) == len(sounds)
    speech = renderer.render(SENTENCES[0]).samples
    assert _tonality(speech) < 0.5
    with pytest.raises(ValueError, match="did you mean 'paused'"):
        earcon("pause", rate)


# --- speakers -------------------------------------------------------------------------------


def test_guide_speaker_plays_rendered_speech_and_earcons(renderer: EspeakRenderer) -> None:
    player = Playback(RATE)
    cache = RenderCache(renderer, RATE)
    speaker = GuideSpeaker(cache, player)
    speaker.prerender(SENTENCES[3])
    chime = speaker.earcon("step")
    handle = speaker.say(SENTENCES[3])
    assert speaker.speaking and chime is not None and chime.kind == "earcon:step"
    total = len(earcon("step", RATE)) + len(cache.get(SENTENCES[3]).samples)
    pulled = player.pull(total + 480)
    assert np.array_equal(
        pulled[len(earcon("step", RATE)) : total], cache.get(SENTENCES[3]).samples
    )
    assert handle.done and handle.start == pytest.approx(chime.end)
    assert not speaker.speaking and cache.renders == 1
    quiet = GuideSpeaker(cache, Playback(RATE), earcons_enabled=False)
    assert quiet.earcon("heard") is None and not quiet.speaking


def test_render_failure_prints_the_text_and_goes_on(renderer: EspeakRenderer) -> None:
    """A real failure: the worker is busy with other renders longer than say() may wait."""
    player = Playback(RATE)
    printed = io.StringIO()
    cache = RenderCache(renderer, RATE)
    speaker = GuideSpeaker(
        cache,
        player,
        fallback=TextSpeaker(printed, clock=lambda: player.clock),
        render_timeout=0.001,
    )
    for n in range(30):
        speaker.prerender(f"Busy sentence number {n}, keeping the worker occupied for a while.")
    text = "Now lift the arm slowly."
    handle = speaker.say(text)
    assert printed.getvalue() == f"[00:00] {text}\n"
    assert handle.done and not player.speaking
    cache.prerender(text).result(timeout=30)  # the worker catches up: the session goes on
    assert speaker.say(text).seconds > 0.5 and player.speaking


def test_text_speaker_prints_timestamped_lines() -> None:
    out = io.StringIO()
    now = [0.0]
    speaker = TextSpeaker(out, clock=lambda: now[0])
    speaker.say("Welcome.")
    now[0] = 125.4
    handle = speaker.say("Next, the shoulders.")
    speaker.earcon("step")
    assert out.getvalue().splitlines() == [
        "[00:00] Welcome.",
        "[02:05] Next, the shoulders.",
        "[02:05] (step)",
    ]
    assert handle.done and handle.start == 125.4 and not speaker.speaking
    assert TextSpeaker(out, earcons_enabled=False).earcon("end") is None
    with pytest.raises(ValueError, match="unknown earcon"):
        speaker.earcon("bell")
