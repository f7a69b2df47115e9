"""The session flow as a Mermaid diagram, generated from the state machine's own
transition table (the README embeds it; a test keeps the two equal)."""

from __future__ import annotations

from collections import defaultdict

from voice_guide.session import STAY, TRANSITIONS, Phase

_TARGETS_OF_ENTER = (Phase.RUNNING, Phase.WAITING, Phase.ASKING, Phase.ENDED)
_TARGETS_OF_UNPAUSE = (Phase.RUNNING, Phase.WAITING, Phase.ASKING, Phase.PAUSED, Phase.CHECKING)


def mermaid() -> str:
    """A `stateDiagram-v2` of TRANSITIONS; in-place commands are listed as notes."""
    edges: dict[tuple[str, str], list[str]] = defaultdict(list)
    in_place: dict[str, list[str]] = defaultdict(list)
    for (phase, trigger), target in TRANSITIONS.items():
        if target == STAY:
            in_place[phase.value].append(trigger)
            continue
        name = target.value if isinstance(target, Phase) else target.replace("-", "_")
        edges[(phase.value, name)].append(trigger)
    lines = [
        "stateDiagram-v2",
        "    state enter_step <<choice>>",
        "    state unpause <<choice>>",
        "    [*] --> ready",
    ]
    for (source, target), triggers in edges.items():
        lines.append(f"    {source} --> {target}: {', '.join(triggers)}")
    for phase in _TARGETS_OF_ENTER:
        lines.append(f"    enter_step --> {phase.value}")
    for phase in _TARGETS_OF_UNPAUSE:
        lines.append(f"    unpause --> {phase.value}: as before")
    lines.append("    ended --> [*]")
    for phase, triggers in in_place.items():
        lines.append(f"    note right of {phase}: stays on {', '.join(triggers)}")
    return "\n".join(lines) + "\n"
