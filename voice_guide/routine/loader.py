"""Reading routines: YAML text -> a validated Routine, every problem located as
`path:line:column: what is wrong — how to fix it`, all of them at once.

YAML is read with `yaml.safe_load` semantics, except that:
- yes/no/on/off/y/n stay text (they are spoken words here; only true/false are booleans),
  and dates stay text;
- a key given twice in one mapping is an error, not a silent overwrite;
- the file size, nesting depth and alias expansion are bounded, so a hostile file cannot
  exhaust memory or the stack;
- every node's line and column are kept, so each validation error points at its source.
"""

from __future__ import annotations

import difflib
import os
import re
import types
import typing
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Annotated, Any, Union

import yaml
from pydantic import BaseModel, ValidationError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from voice_guide.commands import languages
from voice_guide.errors import VoiceGuideError
from voice_guide.files import NotARegularFile, open_regular
from voice_guide.routine.model import LocatedValueError, Routine

__all__ = [
    "MAX_BYTES",
    "MAX_CUES",
    "MAX_STEPS",
    "MAX_TOTAL_SECONDS",
    "NAME_PATTERN",
    "LoadedRoutine",
    "Problem",
    "RoutineError",
    "RoutineInfo",
    "SourceMap",
    "available_routines",
    "builtin_names",
    "load_routine",
    "load_text",
    "parse_routine",
    "read_routine",
]

MAX_BYTES = 256 * 1024
"""Largest routine file read. The longest real routine is a few tens of KiB."""
MAX_VALUES = 20_000
"""Most values a file may expand to (counting every use of an alias again)."""
MAX_DEPTH = 40
"""Deepest nesting of mappings and lists (a routine needs about 7)."""
MAX_STEPS = 1000
"""Most steps a routine may have (the built-in ones have about 20)."""
MAX_CUES = 500
"""Most timed cues one step may have (one every 22 seconds in a 3-hour step)."""
MAX_TOTAL_SECONDS = 12 * 3600
"""Longest a routine's timed steps may last together."""
NAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
"""A routine name: a file name in the routines directory without '.yaml'."""

_BOOL_TAG = "tag:yaml.org,2002:bool"
_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"
_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_SCALAR_TAGS = frozenset(
    f"tag:yaml.org,2002:{name}" for name in ("str", "int", "float", "bool", "null")
)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a routine, at a place in its source."""

    path: str
    line: int | None
    column: int | None
    message: str
    """'what is wrong — how to fix it', one line."""
    warning: bool = False

    def __str__(self) -> str:
        where = self.path if self.line is None else f"{self.path}:{self.line}:{self.column}"
        return f"{where}: {'warning: ' if self.warning else ''}{self.message}"


class RoutineError(VoiceGuideError):
    """A routine could not be loaded; `problems` says where and why (all of them)."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(problem) for problem in self.problems))

    def report_lines(self) -> list[str]:
        """Each problem on its own line, as `check` prints them."""
        return [str(problem) for problem in self.problems]


@dataclass
class SourceMap:
    """Line and column (1-based) of every value and key, by path in the parsed data.

    A path is a tuple of strings: mapping keys and list indexes, e.g. ('steps', '0', 'say').
    """

    text: str = ""
    values: dict[tuple[str, ...], tuple[int, int]] = field(default_factory=dict)
    keys: dict[tuple[str, ...], tuple[int, int]] = field(default_factory=dict)
    spans: dict[tuple[str, ...], tuple[int, int]] = field(default_factory=dict)
    """Character offsets (start, end) of each value in `text`."""

    def locate(self, loc: Sequence[str | int], *, key: bool = False) -> tuple[int, int]:
        """Where `loc` is written; the nearest enclosing value when it is missing.

        With `key`, or a trailing "[key]" (pydantic's marker), the key itself rather than
        its value.
        """
        parts = tuple(str(part) for part in loc)
        if parts and parts[-1] == "[key]":
            parts, key = parts[:-1], True
        while parts and parts not in self.values:
            parts, key = parts[:-1], False
        if key and parts in self.keys:
            return self.keys[parts]
        return self.values.get(parts, (1, 1))

    def find(self, loc: Sequence[str | int], pattern: re.Pattern[str]) -> tuple[int, int]:
        """Where `pattern` first matches inside the value at `loc` as written (the value's
        start when it does not, e.g. after escapes)."""
        parts = tuple(str(part) for part in loc)
        span = self.spans.get(parts)
        match = pattern.search(self.text, *span) if span else None
        if match is None:
            return self.locate(loc)
        before = self.text[: match.start()]
        return before.count("\n") + 1, match.start() - (before.rfind("\n") + 1) + 1


@dataclass(frozen=True)
class LoadedRoutine:
    """A valid routine with where each of its parts is written (for lints)."""

    routine: Routine
    source: str
    marks: SourceMap


@dataclass(frozen=True)
class RoutineInfo:
    """A routine that can be loaded by name."""

    name: str
    builtin: bool
    path: str


class _Stop(Exception):
    """A located problem that ends reading (the data cannot be trusted past it)."""

    def __init__(self, line: int, column: int, message: str) -> None:
        super().__init__(message)
        self.line, self.column, self.message = line, column, message

    @classmethod
    def at(cls, node: Node, message: str) -> _Stop:
        return cls(node.start_mark.line + 1, node.start_mark.column + 1, message)


class _Loader(yaml.SafeLoader):
    """SafeLoader that keeps yes/no/on/off and dates as text and bounds nesting depth."""

    depth = 0

    def compose_node(self, parent: Node | None, index: object) -> Node:
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                mark = self.peek_event().start_mark
                raise _Stop(
                    mark.line + 1,
                    mark.column + 1,
                    f"the data is nested more than {MAX_DEPTH} levels deep — "
                    "a routine needs only a few levels; check the brackets and indentation",
                )
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in (_BOOL_TAG, _TIMESTAMP_TAG)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    _BOOL_TAG, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


# -- public API -------------------------------------------------------------------------


def load_routine(path_or_name: str | os.PathLike[str], folder: Path | None = None) -> Routine:
    """Load a routine from a file path, or by name (in `folder` first, then built-in).

    Raises RoutineError listing every problem found.
    """
    return read_routine(path_or_name, folder).routine


def load_text(text: str | bytes, source_name: str = "<text>") -> Routine:
    """Load a routine from YAML text; `source_name` is shown in error locations."""
    return parse_routine(text, source_name).routine


def read_routine(path_or_name: str | os.PathLike[str], folder: Path | None = None) -> LoadedRoutine:
    """Like `load_routine`, also returning where each part is written (for lints).

    A string containing a path separator or ending in .yaml/.yml (or any PathLike) is a
    file path; anything else is a routine name, looked up in `folder` (a user's routines,
    see voice_guide.library), then among the built-in ones; a name never leaves them.
    """
    if isinstance(path_or_name, os.PathLike) or _looks_like_path(path_or_name):
        return _read_file(Path(path_or_name))
    name = path_or_name
    if not NAME_PATTERN.fullmatch(name):
        raise RoutineError(
            [
                Problem(
                    repr(name)[1:-1] or "''",
                    None,
                    None,
                    "not a routine name — names use lower-case letters, digits, '-' and '_' "
                    "(see `voice-guide list`); to load a file, give its path, e.g. ./my.yaml",
                )
            ]
        )
    user = folder / f"{name}.yaml" if folder else None
    if user and os.path.lexists(user):  # a FIFO or a link here is refused when read
        return _read_file(user)
    builtin = _builtin_dir() / f"{name}.yaml"
    if builtin.is_file():
        return parse_routine(builtin.read_bytes(), str(builtin))
    known = [info.name for info in available_routines(folder)]
    close = difflib.get_close_matches(name, known, n=1)
    hint = f"did you mean {close[0]!r}?" if close else f"known routines: {', '.join(known)}"
    if os.path.lexists(name):  # e.g. `run some-folder`: say what is there instead
        kind = "a folder" if os.path.isdir(name) else "a file"
        hint = f"{kind} of this name is here; to read a routine file, give its path, e.g. ./{name}"
    raise RoutineError(
        [Problem(name, None, None, f"no routine with this name — {hint} (`voice-guide list`)")]
    )


def parse_routine(data: str | bytes, source: str) -> LoadedRoutine:
    """Validate YAML text or bytes into a routine, locating every problem in `source`."""
    size = len(data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data)
    if size > MAX_BYTES:
        raise RoutineError([_too_big(source, size)])
    try:
        text = data.removeprefix("\ufeff") if isinstance(data, str) else _decode(data)
        raw, marks = _parse(text)
    except _Stop as stop:
        raise RoutineError([Problem(source, stop.line, stop.column, stop.message)]) from None
    try:
        routine = Routine.model_validate(raw)
    except ValidationError as error:
        raise RoutineError(_explain_all(error, marks, source)) from None
    problems = _over_limits(routine, marks, source) + _unheard_language(routine, marks, source)
    if problems:
        raise RoutineError(problems)
    return LoadedRoutine(routine, source, marks)


def _unheard_language(routine: Routine, marks: SourceMap, source: str) -> list[Problem]:
    """A routine in a language without command phrases could not hear a single command."""
    known = languages()
    if routine.language in known:
        return []
    line, column = marks.locate(("language",))
    message = (
        f"no command phrases for language {_quote(routine.language)}, so the session could "
        f"not hear anyone — write one of: {', '.join(known)}"
    )
    return [Problem(source, line, column, message)]


def _over_limits(routine: Routine, marks: SourceMap, source: str) -> list[Problem]:
    """What a valid routine declares beyond the limits that keep every session responsive."""
    located = routine.located_steps()
    found: list[tuple[tuple[str | int, ...], str]] = []
    if len(located) > MAX_STEPS:
        found.append(
            (
                located[MAX_STEPS][0],
                f"the routine has {len(located)} steps, more than the {MAX_STEPS} allowed — "
                "split it into several routines",
            )
        )
    for where, step in located:
        if len(step.cues) > MAX_CUES:
            found.append(
                (
                    (*where, "cues", MAX_CUES),
                    f"step {step.id!r} has {len(step.cues)} cues, more than the {MAX_CUES} "
                    "allowed — split the step into several steps",
                )
            )
    total = sum(step.duration or 0.0 for _, step in located)
    if total > MAX_TOTAL_SECONDS:
        found.append(
            (
                located[0][0][:1],
                f"the timed steps last {total / 3600:.1f} hours together, more than the "
                f"{MAX_TOTAL_SECONDS // 3600} hours allowed — split it into several routines",
            )
        )
    return [Problem(source, *marks.locate(where), message) for where, message in found]


def builtin_names() -> list[str]:
    """Names of the routines shipped with voice-guide."""
    return sorted(
        entry.name.removesuffix(".yaml")
        for entry in _builtin_dir().iterdir()
        if entry.name.endswith(".yaml")
    )


def available_routines(folder: Path | None = None) -> list[RoutineInfo]:
    """Built-in routines, then those in `folder` (a user's routines), by name."""
    found = [
        RoutineInfo(name, True, str(_builtin_dir() / f"{name}.yaml")) for name in builtin_names()
    ]
    if folder and folder.is_dir():
        for path in sorted(folder.glob("*.yaml")):
            name = path.name.removesuffix(".yaml")
            if NAME_PATTERN.fullmatch(name):
                found.append(RoutineInfo(name, False, str(path)))
    return found


# -- reading bytes --------------------------------------------------------------------------


def _builtin_dir() -> Traversable:
    return resources.files("voice_guide.routine").joinpath("builtin")


def _looks_like_path(text: str) -> bool:
    separators = {"/", os.sep, *([os.altsep] if os.altsep else [])}
    return any(sep in text for sep in separators) or text.lower().endswith((".yaml", ".yml"))


def _read_file(path: Path) -> LoadedRoutine:
    source = str(path)
    try:
        # Read one byte past the limit, never the whole of a huge or endless file.
        # Only a regular file: a FIFO or a device would block or never end.
        with open_regular(path) as handle:
            data = handle.read(MAX_BYTES + 1)
    except FileNotFoundError:
        stem = path.name.removesuffix(".yaml").removesuffix(".yml")
        known = {info.name for info in available_routines()}
        hint = (
            f"to use the routine named {stem!r}, give the name without '.yaml'"
            if stem in known and path.suffix
            else "check the path, or give a routine name (`voice-guide list`)"
        )
        raise RoutineError([Problem(source, None, None, f"no such file — {hint}")]) from None
    except IsADirectoryError:
        raise RoutineError(
            [Problem(source, None, None, "this is a folder — give a routine file (.yaml)")]
        ) from None
    except NotARegularFile as error:
        raise RoutineError(
            [Problem(source, None, None, f"{error.strerror} — give a routine file (.yaml)")]
        ) from None
    except OSError as error:
        reason = error.strerror or str(error)
        raise RoutineError(
            [
                Problem(
                    source, None, None, f"cannot read the file ({reason}) — check its permissions"
                )
            ]
        ) from None
    if len(data) > MAX_BYTES:
        try:
            size = path.stat().st_size
        except OSError:
            size = len(data)
        raise RoutineError([_too_big(source, max(size, len(data)))])
    return parse_routine(data, source)


def _too_big(source: str, size: int) -> Problem:
    shown = f"{size / 1024 / 1024:.1f} MB" if size >= 1024 * 1024 else f"{size / 1024:.0f} KiB"
    return Problem(
        source,
        1,
        1,
        f"the file is {shown}, more than the {MAX_BYTES // 1024} KiB a routine may have — "
        "shorten it or split it into several routines",
    )


def _decode(data: bytes) -> str:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        before = data[: error.start]
        line = before.count(b"\n") + 1
        column = len(before[before.rfind(b"\n") + 1 :].decode("utf-8", "replace")) + 1
        raise _Stop(
            line,
            column,
            f"byte 0x{data[error.start]:02x} is not UTF-8 text (a binary file, or another "
            "encoding?) — save the routine as plain UTF-8 text",
        ) from None
    return text.removeprefix("\ufeff")


# -- YAML -> plain data with positions -----------------------------------------------------


def _parse(text: str) -> tuple[Any, SourceMap]:
    try:
        # The reader checks every character when it is created.
        loader = _Loader(text)
    except yaml.reader.ReaderError as error:
        raise _reader_problem(text, error) from None
    try:
        try:
            root = loader.get_single_node()
        except yaml.MarkedYAMLError as error:
            raise _yaml_problem(error) from None
        if root is None:
            raise _Stop(
                1,
                1,
                "the file is empty (or only comments) — start with 'title:' and 'steps:'; "
                "`voice-guide new NAME` writes a starter routine",
            )
        if not isinstance(root, MappingNode) or root.tag != _MAP_TAG:
            kind = "a list" if isinstance(root, SequenceNode) else "a single value"
            raise _Stop.at(
                root,
                f"the routine is {kind}, but it must be a mapping of 'key: value' lines — "
                "start the file with 'title: ...' at the left margin",
            )
        marks = SourceMap(text)
        builder = _Builder(loader, marks)
        marks.values[()] = (root.start_mark.line + 1, root.start_mark.column + 1)
        return builder.build(root, ()), marks
    finally:
        loader.dispose()


class _Builder:
    """Turns composed YAML nodes into plain data, recording positions and refusing
    duplicate keys, unknown tags, recursive aliases and alias bombs."""

    def __init__(self, loader: _Loader, marks: SourceMap) -> None:
        self.loader = loader
        self.marks = marks
        self.count = 0
        self.active: set[int] = set()

    def build(self, node: Node, path: tuple[str, ...]) -> Any:
        self.count += 1
        if self.count > MAX_VALUES:
            raise _Stop.at(
                node,
                f"the file expands to more than {MAX_VALUES} values (aliases used over and "
                "over?) — write the routine out without '*' aliases",
            )
        if len(path) > MAX_DEPTH:
            raise _Stop.at(node, f"aliases nest more than {MAX_DEPTH} levels — remove them")
        if id(node) in self.active:
            raise _Stop.at(node, "an alias refers to a value that contains it — remove it")
        if isinstance(node, ScalarNode):
            return self._scalar(node)
        self.active.add(id(node))
        try:
            if isinstance(node, SequenceNode) and node.tag == _SEQ_TAG:
                return [self._child(item, (*path, str(n))) for n, item in enumerate(node.value)]
            if isinstance(node, MappingNode) and node.tag == _MAP_TAG:
                return self._mapping(node, path)
            raise _unsupported_tag(node)
        finally:
            self.active.discard(id(node))

    def _child(self, node: Node, path: tuple[str, ...]) -> Any:
        self.marks.values[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
        self.marks.spans[path] = (node.start_mark.index, node.end_mark.index)
        return self.build(node, path)

    def _mapping(self, node: MappingNode, path: tuple[str, ...]) -> dict[Any, Any]:
        explicit = {id(key) for key, _ in node.value if key.tag != _MERGE_TAG}
        try:
            self.loader.flatten_mapping(node)  # '<<' merge keys, as safe_load does
        except yaml.MarkedYAMLError as error:
            raise _yaml_problem(error) from None
        result: dict[Any, Any] = {}
        first_line: dict[Any, int] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                raise _Stop.at(
                    key_node, "a key must be a plain word — remove the brackets or '?' before it"
                )
            key = self._scalar(key_node)
            if id(key_node) in explicit:
                # Merged keys ('<<') may be overridden; keys written here may not repeat.
                if key in first_line:
                    raise _Stop.at(
                        key_node,
                        f"key {_quote(key)} appears twice in this mapping (first on line "
                        f"{first_line[key]}) — keep only one",
                    )
                first_line[key] = key_node.start_mark.line + 1
            sub = (*path, str(key))
            self.marks.keys[sub] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            result[key] = self._child(value_node, sub)
        return result

    def _scalar(self, node: ScalarNode) -> Any:
        if node.tag not in _SCALAR_TAGS:
            raise _unsupported_tag(node)
        try:
            return self.loader.construct_object(node)
        except ValueError:
            # e.g. an integer of thousands of digits (Python refuses to convert it).
            raise _Stop.at(node, "this number is far too long — write a small number") from None


def _unsupported_tag(node: Node) -> _Stop:
    return _Stop.at(
        node,
        f"the tag {node.tag.replace('tag:yaml.org,2002:', '!!')!r} is not allowed — a routine "
        "is plain text, numbers, lists and mappings; remove the tag",
    )


# PyYAML's problem texts, and how a non-programmer fixes each.
_YAML_FIXES = (
    ("'\\t'", "a tab is used for indentation — indent with spaces (YAML does not allow tabs)"),
    (
        "mapping values are not allowed",
        "a ':' here cannot start a value — put text that "
        "contains ': ' in quotes, or check the indentation of this line",
    ),
    (
        "could not find expected ':'",
        "a line here is not 'key: value' — add the missing ':' "
        "or line it up with the keys above it",
    ),
    (
        "expected <block end>",
        "this line's indentation does not match the lines above — line up keys of the same level",
    ),
    (
        "did not find expected key",
        "this line's indentation does not match the lines above — line up keys of the same level",
    ),
    (
        "did not find expected '-'",
        "a list item here is not lined up — start each item with '- ' at the same indentation",
    ),
    (
        "found undefined alias",
        "this '*' alias names no '&' anchor — define the anchor first, or write the value out",
    ),
    (
        "expected ',' or '}'",
        "inside '{ }' a text holding ',', ':', '?' or brackets needs quotes — quote it, or "
        "write the mapping as indented lines",
    ),
    (
        "expected ',' or ']'",
        "inside '[ ]' a text holding ',', ':', '?' or brackets needs quotes — quote it, or "
        "write the list as '- ' lines",
    ),
    (
        "found another document",
        "the file holds more than one document ('---') — keep one routine per file",
    ),
    (
        "'<stream end>'",
        "the file ends inside an unfinished list or mapping — close the "
        "'[' or '{', or finish the last entry",
    ),
    ("found unexpected end of stream", "the file ends inside quotes or brackets — close them"),
    (
        "escape",
        "a backslash starts an unknown escape — write '\\\\' for a backslash, or use single quotes",
    ),
    ("found character '@'", "'@' and '`' cannot start a value — put the text in quotes"),
    ("found character '`'", "'@' and '`' cannot start a value — put the text in quotes"),
)


def _yaml_problem(error: yaml.MarkedYAMLError) -> _Stop:
    mark = error.problem_mark or error.context_mark
    problem = " ".join(str(error.problem or error.context or "invalid YAML").split())
    fix = next((fix for key, fix in _YAML_FIXES if key in problem), None)
    message = (
        f"YAML syntax: {fix}"
        if fix
        else f"YAML syntax: {problem} — check the quotes, colons and indentation here"
    )
    line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    return _Stop(line, column, message)


def _reader_problem(text: str, error: yaml.reader.ReaderError) -> _Stop:
    before = text[: error.position]
    line = before.count("\n") + 1
    column = error.position - (before.rfind("\n") + 1) + 1
    code = error.character if isinstance(error.character, int) else ord(error.character)
    return _Stop(
        line,
        column,
        f"the control character U+{code:04X} is not allowed (is this a binary file?) — "
        "a routine is plain UTF-8 text",
    )


# -- validation errors -> located sentences ------------------------------------------------


def _explain_all(error: ValidationError, marks: SourceMap, source: str) -> list[Problem]:
    problems: dict[tuple[int, int, str], Problem] = {}
    for item in error.errors():
        loc = list(item["loc"])
        located = item.get("ctx", {}).get("error")
        if isinstance(located, LocatedValueError):
            loc += list(located.where)
        line, column = marks.locate(loc, key=item["type"] in ("extra_forbidden", "invalid_key"))
        message = _sentence(item, loc)
        problems.setdefault((line, column, message), Problem(source, line, column, message))
    return [problems[key] for key in sorted(problems)]


def _sentence(item: Any, loc: list[Any]) -> str:
    """One pydantic error as 'what is wrong — how to fix it'."""
    kind, ctx, value = item["type"], item.get("ctx", {}), item.get("input")
    names = [part for part in loc if isinstance(part, str) and part != "[key]"]
    name = names[-1] if names else "routine"
    if kind == "value_error":
        return _one_line(str(ctx["error"]))
    if loc and loc[-1] == "[key]":
        return (
            f"{_quote(value)} is not a pressure level — number the levels 1, 2, 3, ... (at most 10)"
        )
    if kind == "missing":
        described = _field_description(loc)
        return f"{name!r} is missing — add '{name}:'" + (f" ({described})" if described else "")
    if kind in ("extra_forbidden", "invalid_key"):
        return _unknown_key(str(loc[-1]), loc[:-1])
    simple = _SIMPLE.get(kind)
    if simple:
        return simple.format(name=name, got=_describe(value), **ctx)
    if kind == "string_pattern_mismatch":
        return _pattern(name, value)
    if kind in ("string_too_long", "too_long"):
        fix = "use a short name" if name in ("id", "area") else "split it into steps or cues"
        return (
            f"{name!r} is {len(value)} characters long, more than the {ctx.get('max_length')} "
            f"allowed — shorten it, or {fix}"
        )
    return f"{name!r}: {_one_line(item['msg'])} — see `voice-guide schema` for what fits here"


_SIMPLE = {
    "string_type": "{name!r} should be text, got {got} — write the text after the colon "
    "(in quotes if it looks like a number)",
    "string_too_short": "{name!r} is empty — write what to say, or remove the key",
    "int_type": "{name!r} should be a whole number, got {got} — write a number like 3",
    "int_parsing": "{name!r} should be a whole number, got {got} — write a number like 3",
    "int_from_float": "{name!r} should be a whole number, got {got} — drop the decimals",
    "float_type": "{name!r} should be a number, got {got} — write a number like 0.8",
    "float_parsing": "{name!r} should be a number, got {got} — write a number like 0.8",
    "greater_than_equal": "{name!r} is {got}, below the lowest allowed {ge} — use {ge} or more",
    "greater_than": "{name!r} is {got}, it must be more than {gt} — use a larger number",
    "less_than_equal": "{name!r} is {got}, above the highest allowed {le} — use {le} or less",
    "less_than": "{name!r} is {got}, it must be less than {lt} — use a smaller number",
    "list_type": "{name!r} should be a list, got {got} — write each item on its own line "
    "starting with '- '",
    "dict_type": "{name!r} should be a mapping, got {got} — write 'key: value' lines "
    "indented under '{name}:'",
    "model_type": "{name!r} should be a mapping, got {got} — write 'key: value' lines "
    "indented under '{name}:'",
    "model_attributes_type": "{name!r} should be a mapping, got {got} — write 'key: value' "
    "lines indented under '{name}:'",
    "too_short": "{name!r} is empty — add at least one item",
    "finite_number": "{name!r} is {got} — write an ordinary number",
}


def _pattern(name: str, value: object) -> str:
    if name == "id":
        slug = re.sub(r"[^a-z0-9_-]+", "-", str(value).lower()).strip("-_") or "step-1"
        return (
            f"step id {_quote(value)} may use only lower-case letters, digits, '-' and '_' — "
            f"e.g. {slug!r}"
        )
    if name == "language":
        return f"{_quote(value)} is not a language code — write a code like 'en' or 'ko'"
    return f"{name!r} has the wrong form ({_quote(value)}) — see `voice-guide schema`"


def _describe(value: object) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return f"{str(value).lower()} (yes/no)"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, (int, float)):
        return f"the number {value!r}"
    return _quote(str(value))


def _quote(value: object, limit: int = 40) -> str:
    """A value as quoted in a message, cut short so one error stays one readable line."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 4] + "...'"


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _unknown_key(key: str, parent: list[Any]) -> str:
    model = _model_at(parent)
    allowed = list(model.model_fields) if model else []
    close = difflib.get_close_matches(key.lower(), allowed, n=1, cutoff=0.6)
    if close:
        return f"unknown key {_quote(key)} — did you mean {close[0]!r}?"
    if allowed:
        return f"unknown key {_quote(key)} — remove it; allowed here: {', '.join(allowed)}"
    return f"unknown key {_quote(key)} — remove it"


def _field_description(loc: list[Any]) -> str | None:
    model = _model_at(loc[:-1])
    info = model.model_fields.get(loc[-1]) if model else None
    return info.description if info else None


def _model_at(loc: Sequence[Any]) -> type[BaseModel] | None:
    """The model class that validates the value at `loc` (None for plain values)."""
    current: Any = Routine
    for part in loc:
        current = _unwrap(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            info = current.model_fields.get(part) if isinstance(part, str) else None
            if info is None:
                return None
            current = info.annotation
        elif typing.get_origin(current) is list:
            current = typing.get_args(current)[0]
        elif typing.get_origin(current) is dict:
            current = typing.get_args(current)[1]
        else:
            return None
    current = _unwrap(current)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _unwrap(annotation: Any) -> Any:
    """Strip Annotated[...] and Optional[...] down to the type that matters."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            args = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
            annotation = args[0]
        else:
            return annotation
