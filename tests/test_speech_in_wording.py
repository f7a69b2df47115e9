"""Natural wording: the filler rule of the vocabularies (pure, property-tested). The same
wordings said by real voices through the real engine: tests/test_speech_in.py."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from voice_guide.commands import (
    Command,
    Vocabulary,
    parse_command,
    phrase_table,
    vocabulary,
    wordings,
)

EN = vocabulary("en")


def test_every_table_phrase_is_in_the_vocabulary_with_its_command():
    for phrase, command in phrase_table("en").items():
        assert EN.command(phrase) is command


@given(
    st.sampled_from(sorted(p for p in EN.phrases if p not in EN.bare)),
    st.sampled_from(["", *EN.before]),
    st.sampled_from(["", *EN.after]),
)
def test_fillers_around_a_phrase_keep_its_command(phrase, before, after):
    wording = " ".join(part for part in (before, phrase, after) if part)
    assert EN.command(wording) is EN.phrases[phrase]
    assert EN.core(wording.upper() + "!") is not None


@given(st.text(max_size=60))
def test_any_text_gives_a_command_or_none_and_never_raises(text):
    found = EN.command(text)
    assert found is None or isinstance(found, Command)


def test_degree_words_go_at_the_mark():
    assert EN.command("could you press a bit harder") is Command.STRONGER
    assert EN.command("a touch softer please") is Command.LIGHTER
    assert EN.command("ease up a little") is Command.LIGHTER
    assert EN.command("a bit a little lighter") is None  # one degree, not two
    assert "press ~ harder" not in phrase_table("en")  # the mark is never said
    assert "press harder" in phrase_table("en")


def test_a_phrase_that_is_also_a_filler_is_only_heard_alone():
    assert EN.command("okay") is Command.YES
    assert EN.command("okay next") is Command.NEXT
    assert EN.command("just okay") is None
    assert EN.command("okay okay") is None


def test_synonyms_people_use():
    said = {
        "hang on": Command.PAUSE,
        "okay keep going": Command.RESUME,
        "that's lovely": Command.GREAT,
        "is there much time left": Command.TIME,
        "ow my shoulder": Command.PAIN,
        "um next please": Command.NEXT,
    }
    for text, command in said.items():
        assert parse_command(text) is command, text


def test_wordings_are_deterministic_and_cover_each_phrase_and_filler():
    first = wordings("en")
    assert first == wordings("en")
    texts = {text for text, _ in first}
    assert set(EN.phrases) <= texts
    assert all(EN.command(text) is command for text, command in first)
    assert {f"{EN.before[0]} next", f"next {EN.after[0]}"} <= texts
    assert len(texts) == len(first)


def test_vocabulary_words_cover_phrases_and_fillers():
    small = Vocabulary("en", {"a little lighter": Command.LIGHTER}, ("okay",), ("please",))
    assert small.words() == {"a", "little", "lighter", "okay", "please"}
    assert small.wordings() == [
        ("a little lighter", Command.LIGHTER),
        ("okay a little lighter", Command.LIGHTER),
        ("a little lighter please", Command.LIGHTER),
        ("okay a little lighter please", Command.LIGHTER),
    ]


def test_korean_has_no_fillers_but_degree_words():
    ko = vocabulary("ko")
    assert ko.before == ko.after == ()
    assert ko.command("살짝 약하게") is Command.LIGHTER
