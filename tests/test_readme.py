"""The README's promises that code can check."""

from __future__ import annotations

import re
from pathlib import Path

from voice_guide.diagram import mermaid

ROOT = Path(__file__).resolve().parent.parent


def test_readme_flow_diagram_is_generated_from_the_transition_table():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- flow:start -->\n```mermaid\n(.*?)```\n<!-- flow:end -->", readme, re.S)
    assert block, "README lost its flow diagram markers"
    assert block.group(1) == mermaid(), "README diagram drifted: paste `voice-guide flow` output"


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "scripts/test" in readme and "exec scripts/test" in ci


def test_readme_phrase_table_is_the_english_phrase_table():
    from voice_guide.cli.session import phrase_markdown
    from voice_guide.commands import phrase_table

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- phrases:start -->\n(.*?)<!-- phrases:end -->", readme, re.S)
    assert block, "README lost its phrase table markers"
    assert block.group(1) == phrase_markdown(phrase_table("en")), "paste `voice-guide phrases`"
