"""Reading a how-to text: plain text, Markdown or a saved web page -> blocks (headings,
paragraphs, list items) with the line each starts on in the file as given.

Markdown is parsed by markdown-it-py (CommonMark), so lists, quotes, emphasis and setext
headings mean what they mean to any Markdown reader. A web page first goes through
trafilatura, which keeps the article and drops navigation, comments, sidebars, footers and
bylines; the article comes out as Markdown, and each block's line is found again in the
page's own source (lxml keeps the source line of every element).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, replace
from pathlib import Path

import yaml
from markdown_it import MarkdownIt
from markdown_it.token import Token
from mdit_py_plugins.front_matter import front_matter_plugin

from voice_guide.errors import VoiceGuideError

__all__ = ["Block", "Format", "GuideError", "clean", "decode", "detect_format", "read_guide"]

MAX_BYTES = 2 * 1024 * 1024
"""Largest guide read: a long article is a few hundred KiB of HTML."""
_HEADING_WORDS = 8
"""A plain-text line of at most this many words, with no closing punctuation, is a heading."""


class GuideError(VoiceGuideError):
    """The guide cannot be read or drafted; the message says why and how to fix it."""


class Format(str, enum.Enum):
    """How the guide is written."""

    TEXT = "text"
    MARKDOWN = "markdown"
    HTML = "html"


@dataclass(frozen=True)
class Block:
    """One heading, paragraph, list item or quote of the guide."""

    kind: str
    """'heading', 'paragraph', 'item' or 'quote'."""
    text: str
    """The words as read (markup removed, white space collapsed)."""
    line: int
    """1-based line of the guide where the block starts."""
    level: int = 0
    """Heading level (1 for a title), 0 for other blocks."""
    guessed: bool = False
    """A heading only by its look (a short line of a plain text, a bold line alone): an
    instruction after all when it reads like one."""
    lead: str = ""
    """Bold words the block starts with, a name for what follows ('Thumb walk.')."""


def detect_format(path: Path, data: bytes) -> Format:
    """The format by file name, or by the content for other names."""
    suffix = path.suffix.lower()
    if suffix in (".html", ".htm", ".xhtml"):
        return Format.HTML
    if suffix in (".md", ".markdown", ".mdown", ".mkd"):
        return Format.MARKDOWN
    head = data[:1024].lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html")):
        return Format.HTML
    return Format.TEXT


def decode(data: bytes, source: str, fmt: Format) -> str:
    """The guide's text without a byte-order mark and without characters YAML cannot hold.

    A text or Markdown file must be UTF-8; a web page may be in the encoding it declares
    (older pages often are), found by trafilatura as a browser would.
    """
    if len(data) > MAX_BYTES:
        raise GuideError(
            f"{source}: the file is {len(data) // 1024} KiB, more than the "
            f"{MAX_BYTES // 1024 // 1024} MiB a guide may have — give one article at a time"
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        if fmt is Format.HTML:
            from trafilatura.utils import decode_file

            return clean(decode_file(data, max_size=MAX_BYTES).removeprefix("\ufeff"))
        before = data[: error.start]
        line = before.count(b"\n") + 1
        column = len(before[before.rfind(b"\n") + 1 :].decode("utf-8", "replace")) + 1
        raise GuideError(
            f"{source}:{line}:{column}: byte 0x{data[error.start]:02x} is not UTF-8 text (a binary "
            "file, or another encoding?) — save the guide as UTF-8 text"
        ) from None
    return clean(text.removeprefix("\ufeff"))


def clean(text: str) -> str:
    """`text` with the characters a YAML file may not hold replaced by spaces."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return yaml.reader.Reader.NON_PRINTABLE.sub(" ", text).replace("\x85", " ")


def read_guide(text: str, fmt: Format) -> list[Block]:
    """The blocks of a decoded guide, in order."""
    if fmt is Format.HTML:
        return _html_blocks(text)
    return _markdown_blocks(text, plain=fmt is Format.TEXT)


# -- Markdown and plain text --------------------------------------------------------------


def _parser(plain: bool) -> MarkdownIt:
    # Front matter ('---' YAML lines at the top of a blog post) is the page's settings.
    parser = MarkdownIt("commonmark").use(front_matter_plugin)
    if plain:
        # In a plain text an indented line is just indented, and '<' is just a character.
        parser.disable(["code", "html_block", "html_inline", "entity", "reference"])
    return parser


def _markdown_blocks(text: str, *, plain: bool, line_offset: int = 0) -> list[Block]:
    blocks: list[Block] = []
    tokens = _parser(plain).parse(text)
    kinds: list[str] = []
    for index, token in enumerate(tokens):
        if token.type in ("bullet_list_open", "ordered_list_open", "list_item_open"):
            kinds.append("item")
        elif token.type == "blockquote_open":
            kinds.append("quote")
        elif (
            token.type in ("bullet_list_close", "ordered_list_close", "list_item_close")
            or token.type == "blockquote_close"
        ):
            kinds.pop()
        elif token.type == "inline" and token.map:
            words = _inline_text(token)
            if not words:
                continue
            line = token.map[0] + 1 + line_offset
            opener = tokens[index - 1]
            if opener.type == "heading_open":
                blocks.append(Block("heading", words, line, int(opener.tag[1:])))
            elif not kinds and (
                (plain and _looks_like_heading(token.content)) or _lead(token) == words
            ):
                # A short line of a plain text, or a bold line alone: a heading by its look.
                level = 1 if not blocks else 2
                blocks.append(Block("heading", words.strip("*: "), line, level, guessed=True))
            else:
                kind = kinds[-1] if kinds else "paragraph"
                blocks.append(Block(kind, words, line, lead=_lead(token)))
    return _merge_item_paragraphs(blocks)


def _lead(token: Token) -> str:
    """The bold words a block starts with ('**Thumb walk.** Walk your thumbs...'), or ''."""
    children = [c for c in token.children or [] if c.type != "text" or c.content]
    if not children or children[0].type != "strong_open":
        return ""
    words = []
    for child in children[1:]:
        if child.type == "strong_close":
            return " ".join("".join(words).split())
        if child.type in ("text", "code_inline"):
            words.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            words.append(" ")
    return ""


def _inline_text(token: Token) -> str:
    parts = []
    for child in token.children or []:
        if child.type in ("text", "code_inline", "html_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
    return " ".join("".join(parts).split())


def _looks_like_heading(raw: str) -> bool:
    line = raw.strip()
    return (
        "\n" not in line
        and 0 < len(line.split()) <= _HEADING_WORDS
        and not line.endswith((".", "!", "?", ",", ";", ":", '"', "'", "”"))
    )


def _merge_item_paragraphs(blocks: list[Block]) -> list[Block]:
    """A list item of several paragraphs is one item (markdown-it gives one per paragraph)."""
    merged: list[Block] = []
    for block in blocks:
        previous = merged[-1] if merged else None
        if (
            block.kind == "item"
            and previous is not None
            and previous.kind == "item"
            and previous.line == block.line
        ):
            merged[-1] = replace(previous, text=f"{previous.text} {block.text}")
        else:
            merged.append(block)
    return merged


# -- web pages ------------------------------------------------------------------------------

_LOOK_AHEAD = 2000
"""Page elements searched for a block before giving it the line of the one before."""
_BLOCK_TAGS = frozenset(
    [
        "p",
        "li",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "blockquote",
        "td",
        "th",
        "dd",
        "dt",
        "pre",
        "figcaption",
        "div",
        "section",
        "article",
    ]
)


def _html_blocks(text: str) -> list[Block]:
    import trafilatura  # imported here: only web pages need it (and lxml)

    article = trafilatura.extract(
        text,
        output_format="markdown",
        include_formatting=True,
        include_comments=False,
        include_tables=True,
        favor_recall=True,
        deduplicate=False,
    )
    if not article or not article.strip():
        return []
    title = trafilatura.extract_metadata(text)
    bare = "\n\n" not in article
    if bare:
        # trafilatura's fallback for very short pages: one line per block, no markup left,
        # so headings are found as in a plain text.
        article = "\n\n".join(article.splitlines())
    blocks = _markdown_blocks(article, plain=bare)
    lines = _SourceLines(text)
    found = [replace(block, line=lines.find(block.text)) for block in blocks]
    page_title = title.title if title and title.title else None
    if page_title and not any(b.kind == "heading" and b.level == 1 for b in found):
        found.insert(0, Block("heading", " ".join(page_title.split())[:200], lines.title_line, 1))
    return found


class _SourceLines:
    """Finds the source line of an extracted text in a page (lxml's element source lines)."""

    def __init__(self, text: str) -> None:
        import lxml.html

        self._elements: list[tuple[str, int, int]] = []
        """(text key, source line, depth) of each block element, in document order."""
        self._next = 0
        self._line = 1
        self.title_line = 1
        """The line of the page's <title>."""
        try:
            root = lxml.html.document_fromstring(text)
        except (ValueError, lxml.etree.ParserError):
            return
        for element in root.iter():
            tag = element.tag if isinstance(element.tag, str) else ""
            if tag.lower() == "title" and element.sourceline and self.title_line == 1:
                self.title_line = element.sourceline
            if tag.lower() in _BLOCK_TAGS and element.sourceline:
                depth = sum(1 for _ in element.iterancestors())
                key = _key(element.text_content()[:400])[:80]
                self._elements.append((key, element.sourceline, depth))

    def find(self, text: str) -> int:
        """The line of the innermost element starting with `text`, looking a bounded way
        ahead of the last one found (the article's blocks come in page order)."""
        key = _key(text)[:60]
        if not key:
            return self._line
        for index in range(self._next, min(len(self._elements), self._next + _LOOK_AHEAD)):
            if self._elements[index][0].startswith(key):
                # The innermost: children follow their parent in document order.
                while index + 1 < len(self._elements) and self._elements[index + 1][0].startswith(
                    key
                ):
                    index += 1
                self._next = index + 1
                self._line = self._elements[index][1]
                return self._line
        return self._line


def _key(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.lower()))
