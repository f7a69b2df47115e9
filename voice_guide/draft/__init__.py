"""Drafting a routine from a how-to text (plain text, Markdown or a saved web page): offline
and deterministic, every inferred value commented with the guide line it came from.

    drafted = draft_routine(Path("guide.md").read_bytes(), "guide.md", "routine.yaml")
    drafted.text     # the routine YAML
    drafted.todos    # what the author still has to fill in
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from voice_guide.draft.document import DraftRoutine
from voice_guide.draft.inference import infer
from voice_guide.draft.lexicon import lexicon
from voice_guide.draft.reading import Format, GuideError, decode, detect_format, read_guide
from voice_guide.draft.writing import Todo, render_yaml
from voice_guide.routine.durations import format_duration
from voice_guide.routine.loader import MAX_BYTES, MAX_STEPS, MAX_TOTAL_SECONDS

__all__ = ["Drafted", "Format", "GuideError", "Todo", "draft_routine"]


@dataclass(frozen=True)
class Drafted:
    """A drafted routine: its YAML text, what is left to do, and the typed draft."""

    text: str
    todos: list[Todo]
    routine: DraftRoutine


def draft_routine(data: bytes, guide: str, target: str, fmt: Format | None = None) -> Drafted:
    """Draft a routine from the guide `data` (named `guide`, to be written to `target`).

    Raises GuideError with one sentence (what is wrong, how to fix it) when the guide cannot
    be read or holds no instruction.
    """
    path = Path(guide)
    fmt = fmt or detect_format(path, data)
    text = decode(data, guide, fmt)
    blocks = read_guide(text, fmt)
    title = path.stem.replace("-", " ").replace("_", " ").strip().capitalize() or "My routine"
    routine = infer(blocks, text, guide, title, lexicon("en"), MAX_STEPS)
    if not routine.steps:
        raise GuideError(
            f"{guide}: found no instructions to turn into steps — a guide needs English "
            "sentences that say what to do, such as 'Knead the shoulders for two minutes.'"
        )
    _within_limits(routine, guide)
    yaml_text, todos = render_yaml(routine, target)
    if len(yaml_text.encode("utf-8")) > MAX_BYTES:
        raise GuideError(
            f"{guide}: the routine drafted from it would be {len(yaml_text) // 1024} KiB, more "
            f"than the {MAX_BYTES // 1024} KiB a routine may have — split the guide into parts "
            "and draft one routine from each"
        )
    return Drafted(yaml_text, todos, routine)


def _within_limits(routine: DraftRoutine, guide: str) -> None:
    """GuideError when the routine would be beyond what a routine may hold."""
    steps = routine.steps
    seconds = sum(step.duration.value or 0 for step in steps)
    if len(steps) > MAX_STEPS or seconds > MAX_TOTAL_SECONDS:
        size = (
            f"{len(steps)} steps (at most {MAX_STEPS})"
            if len(steps) > MAX_STEPS
            else f"{format_duration(seconds)} of steps (at most {MAX_TOTAL_SECONDS // 3600} hours)"
        )
        raise GuideError(
            f"{guide}: it gives {size} — split the guide into parts and draft one routine from each"
        )
