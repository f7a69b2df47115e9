"""The command head: a pooled speech-embedding vector -> which command was said, or "other".

A small MLP (one ReLU layer, softmax out) trained by scripts/train_commands.py and shipped as
`data/command_head.npz`; run with numpy only. Each command has its own threshold (chosen on
the trainer's dev voices): pain's is low, because a missed "ouch" costs pain and a false one
only a lighter stroke and a question.

A person's enrolled takes (prototypes) sit next to the head as a nearest-neighbour opinion:
for every command with prototypes, the best cosine similarity `s` between the utterance and
one of its takes (both standardized as the head sees them) raises that command's logit by
`max(0, s - prototype_floor) / prototype_temperature`. A take that sounds like the utterance
makes its command far more likely; commands the person did not enroll, and "other", keep the
head's opinion, so enrolling a few commands never makes the others harder to hear.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Final

import numpy as np

from voice_guide.commands import Command
from voice_guide.speech_in.embedding import PoolingSettings
from voice_guide.speech_in.recognizer import RecognizerError

__all__ = ["OTHER", "CommandModel", "HeadWeights", "Prototypes"]

OTHER: Final = "other"
"""The head's label for speech and sounds that are no command."""

Prototypes = Mapping[Command, Sequence[np.ndarray]]


@dataclass(frozen=True)
class HeadWeights:
    """Everything the trained head is: labels, input standardization, layers, thresholds."""

    labels: tuple[str, ...]
    """Output order: command values and OTHER."""
    mean: np.ndarray
    scale: np.ndarray
    layers: tuple[tuple[np.ndarray, np.ndarray], ...]
    """(weights, bias) per layer; ReLU between layers, softmax after the last."""
    thresholds: Mapping[str, float]
    """Per command value: the probability it needs to be acted on (default 0.5)."""
    pooling: PoolingSettings = field(default_factory=PoolingSettings)
    """How the vectors it was trained on were pooled (must match at run time)."""


@dataclass(frozen=True)
class CommandModel:
    """The trained head, loaded once (`CommandModel.load()`), plus the prototype rule."""

    weights: HeadWeights
    prototype_floor: float = 0.55
    """Cosine similarity below which a take is no evidence (standardized vectors)."""
    prototype_temperature: float = 0.05
    """How fast the evidence grows above the floor (logit per unit of similarity = 1/this)."""

    @classmethod
    def load(cls, path: Path | None = None) -> CommandModel:
        """The shipped head (or `path`); RecognizerError with the fix if it is missing or bad."""
        where = path or resources.files(__package__) / "data" / "command_head.npz"
        try:
            with np.load(where.open("rb") if path is None else path, allow_pickle=False) as data:
                return cls(_weights_from_arrays(dict(data)))
        except Exception as error:  # numpy raises several types for a damaged archive
            raise RecognizerError(
                f"the command model {where} is missing or damaged ({type(error).__name__}); "
                "reinstall voice-guide (pip install --force-reinstall voice-guide), or retrain "
                "it with: python scripts/train_commands.py"
            ) from error

    def save(self, path: Path) -> None:
        """Write the head as a numpy archive (no pickles)."""
        w = self.weights
        arrays = {
            "labels": np.array(w.labels),
            "mean": w.mean,
            "scale": w.scale,
            "threshold_labels": np.array(list(w.thresholds), dtype=str),
            "threshold_values": np.array(list(w.thresholds.values()), dtype=np.float32),
            "pooling": np.array([w.pooling.lead, w.pooling.lead_source, w.pooling.last_frames]),
        }
        for i, (weight, bias) in enumerate(w.layers):
            arrays[f"w{i}"], arrays[f"b{i}"] = weight, bias
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as out:
            np.savez_compressed(out, **arrays)

    def logits(self, vector: np.ndarray) -> np.ndarray:
        """The head's output before the softmax, in `weights.labels` order."""
        w = self.weights
        h = (np.asarray(vector, dtype=np.float32) - w.mean) / w.scale
        for i, (weight, bias) in enumerate(w.layers):
            h = h @ weight + bias
            if i < len(w.layers) - 1:
                h = np.maximum(h, 0.0)
        return h

    def raw(self, vector: np.ndarray) -> np.ndarray:
        """The head's probabilities alone, in `weights.labels` order."""
        return _softmax(self.logits(vector))

    def probabilities(
        self, vector: np.ndarray, prototypes: Prototypes | None = None
    ) -> dict[Command | str, float]:
        """{command: p, ..., OTHER: p} for one utterance vector (see the module docstring
        for how `prototypes`, a person's enrolled utterance vectors, are combined)."""
        logits = self.logits(vector)
        if prototypes:
            logits = logits + self._prototype_evidence(vector, prototypes)
        p = _softmax(logits)
        return {_key(label): float(q) for label, q in zip(self.weights.labels, p, strict=True)}

    def decide(self, vector: np.ndarray, prototypes: Prototypes | None = None) -> Command | None:
        """The command to act on, or None (best label OTHER, or below its threshold)."""
        return self.choose(self.probabilities(vector, prototypes))

    def choose(self, probabilities: Mapping[Command | str, float]) -> Command | None:
        """The most probable label if it is a command that clears its threshold, else None."""
        best = max(probabilities, key=probabilities.__getitem__)
        if best == OTHER or probabilities[best] < self.threshold(best):
            return None
        return Command(best)

    def threshold(self, command: Command | str) -> float:
        """The probability `command` needs to be acted on."""
        value = command.value if isinstance(command, Command) else command
        return self.weights.thresholds.get(value, 0.5)

    def _prototype_evidence(self, vector: np.ndarray, prototypes: Prototypes) -> np.ndarray:
        w = self.weights
        z = _unit((np.asarray(vector, dtype=np.float32) - w.mean) / w.scale)
        evidence = np.zeros(len(w.labels), dtype=np.float32)
        for command, takes in prototypes.items():
            if not takes or command.value not in w.labels:
                continue
            similarity = max(float(z @ _unit((t - w.mean) / w.scale)) for t in takes)
            boost = max(0.0, similarity - self.prototype_floor) / self.prototype_temperature
            evidence[w.labels.index(command.value)] = boost
        return evidence


def _weights_from_arrays(data: dict[str, np.ndarray]) -> HeadWeights:
    layers = []
    while f"w{len(layers)}" in data:
        i = len(layers)
        layers.append((data[f"w{i}"].astype(np.float32), data[f"b{i}"].astype(np.float32)))
    if not layers:
        raise ValueError("no layers")
    lead, lead_source, last_frames = data["pooling"]
    pooling = PoolingSettings(float(lead), float(lead_source), int(last_frames))
    if PoolingSettings() != pooling:
        raise ValueError(f"trained with {pooling}, this version pools as {PoolingSettings()}")
    return HeadWeights(
        labels=tuple(str(s) for s in data["labels"]),
        mean=data["mean"].astype(np.float32),
        scale=data["scale"].astype(np.float32),
        layers=tuple(layers),
        thresholds={
            str(k): float(v)
            for k, v in zip(data["threshold_labels"], data["threshold_values"], strict=True)
        },
        pooling=pooling,
    )


def _key(label: str) -> Command | str:
    return OTHER if label == OTHER else Command(label)


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - np.max(x))
    return e / e.sum()


def _unit(x: np.ndarray) -> np.ndarray:
    return x / max(1e-9, float(np.linalg.norm(x)))
