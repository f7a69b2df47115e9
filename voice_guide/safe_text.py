"""Text from a routine file, made safe to show and to speak.

A routine may smuggle terminal escape sequences (YAML's "\\e[31m"), other control characters
or bidirectional overrides into what the guide says; printed raw they repaint or hide the
terminal. `check` refuses them (`unsafe_character`); whatever is printed goes through
`printable` anyway, so text from any other source is harmless too.
"""

from __future__ import annotations

import codecs
import re
import unicodedata

__all__ = [
    "TERMINAL_ERRORS",
    "describe_unsafe",
    "printable",
    "register_terminal_errors",
    "unsafe_character",
    "visible",
]

# CSI and OSC sequences, then any other two-character escape.
_ANSI = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-_]?|\x9b[0-?]*[ -/]*[@-~]"
)
# Bidirectional embeddings, overrides and isolates: they reorder what the terminal shows.
_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_ALLOWED_CONTROLS = frozenset("\t\n")


def unsafe_character(text: str) -> str | None:
    """The first character of `text` that must not be in spoken text (a control character
    other than tab and newline, or a bidirectional override), or None."""
    for char in text:
        if char in _BIDI or (unicodedata.category(char) == "Cc" and char not in _ALLOWED_CONTROLS):
            return char
    return None


TERMINAL_ERRORS = "voice-guide-escape"
"""The error handler for stdout and stderr (see register_terminal_errors)."""


def _escape_unencodable(error: UnicodeError) -> tuple[str, int]:
    if not isinstance(error, UnicodeEncodeError):
        raise error
    shown = []
    for char in error.object[error.start : error.end]:
        code = ord(char)
        if 0xDC80 <= code <= 0xDCFF:  # a byte of a name that was not UTF-8 (surrogateescape)
            shown.append(f"\\x{code - 0xDC00:02x}")
        else:
            shown.append(char.encode("ascii", "backslashreplace").decode("ascii"))
    return "".join(shown), error.end


def register_terminal_errors() -> str:
    """Register TERMINAL_ERRORS: what a stream cannot encode is shown, not fatal. A file name
    byte that is not UTF-8 shows as \\xNN (the byte itself), anything else as \\uNNNN."""
    codecs.register_error(TERMINAL_ERRORS, _escape_unencodable)
    return TERMINAL_ERRORS


def describe_unsafe(char: str) -> str:
    """What an unsafe character is, for a message: 'an escape (terminal code), U+001B'."""
    if char == "\x1b":
        kind = "an escape (terminal code)"
    elif char in _BIDI:
        kind = "a text-direction override"
    else:
        kind = "a control character"
    return f"{kind}, U+{ord(char):04X}"


def visible(text: str) -> bool:
    """Whether `text` has anything to see or say (not only spaces and invisible marks)."""
    return any(unicodedata.category(char)[0] not in "ZC" for char in text)


def printable(text: str) -> str:
    """`text` on one line, with escape sequences, control characters and bidirectional
    overrides removed (tabs and line breaks become spaces)."""
    text = _ANSI.sub("", text)
    kept = (
        " " if char in _ALLOWED_CONTROLS or char == "\r" else char
        for char in text
        if char not in _BIDI and (unicodedata.category(char) != "Cc" or char in "\t\n\r")
    )
    return "".join(kept)
