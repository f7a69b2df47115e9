"""`voice-guide models list|download|path|verify`: the Vosk speech models on this machine."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from voice_guide import paths
from voice_guide.cli import cli, hints
from voice_guide.commands import languages
from voice_guide.errors import Terminated, VoiceGuideError, stopped_message
from voice_guide.speech_in.model_install import (
    STALL_MIN_RATE,
    STALL_TIMEOUT,
    TOTAL_TIMEOUT,
    DownloadLimits,
    StderrProgress,
    install_model,
    resolve_source,
)
from voice_guide.speech_in.models import (
    DEFAULT_MODEL,
    MARKER_NAME,
    InstalledModel,
    find_model,
    installed_models,
    manifest,
    mark_failed,
    packaged_models,
    verify_model,
)


def _echo_err(message: str) -> None:
    click.echo(message, err=True)


def _du(path: Path) -> int:
    """Bytes used by the files under `path`."""
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _all_models() -> list[InstalledModel]:
    """Complete models in the models directory, then models brought by pip packages."""
    return installed_models() + packaged_models()


@cli.group()
def models() -> None:
    """Vosk speech models: what is installed, what can be fetched, where they live."""


@models.command("list")
def list_models() -> None:
    """Installed and downloadable models; * marks the model the listener uses for its language."""
    in_use = {language: find_model(language) for language in _all_languages()}
    used_paths = {path.resolve() for path in in_use.values() if path is not None}
    click.echo(f"Models directory: {paths.models_dir()}")
    click.echo("\nInstalled (* = what the listener loads for that language):")
    rows = _all_models()
    for model in rows:
        mark = "*" if model.path.resolve() in used_paths else " "
        size = _du(model.path) / 1e6
        click.echo(f"  {mark} {model.name:34} {model.language:6} {size:7.0f} MB  {model.path}")
    if not rows:
        click.echo("    (none)")
    unusable = _unusable()
    if unusable:
        click.echo(
            "\nNot loaded (failed verify or changed since install; reinstall with "
            f"{hints.command('models', 'download', 'NAME', '--force')}):"
        )
        for child in unusable:
            click.echo(f"    {child.name}")
    click.echo("\nListener per command language (--engine auto):")
    for language in languages():
        chosen = in_use.get(language)
        if chosen is not None:
            click.echo(f"    {language}: Vosk with {chosen}")
        elif language == "en":
            click.echo(
                "    en: PocketSphinx with its bundled English model "
                f"(better: {hints.command('models', 'download', DEFAULT_MODEL)})"
            )
        else:
            click.echo(f"    {language}: no model for this language")
    installed_names = {m.name for m in installed_models()}
    click.echo(f"\nAvailable ({hints.command('models', 'download', 'NAME')}):")
    for entry in manifest():
        state = "installed" if entry.name in installed_names else ""
        check = "checksum recorded" if entry.sha256 else "no checksum: --sha256 or --no-verify"
        click.echo(
            f"    {entry.name:34} {entry.language:6} ~{entry.approx_mb:4d} MB  "
            f"{entry.licence:11} {check:37} {state}".rstrip()
        )


def _unusable() -> list[Path]:
    """Model folders with an install record that are not loaded (FAILED, or changed)."""
    root = paths.models_dir()
    complete = {m.path for m in installed_models()}
    if not root.is_dir():
        return []
    return [
        child
        for child in sorted(root.iterdir())
        if not child.name.startswith(".")
        and (child / MARKER_NAME).is_file()
        and child not in complete
    ]


def _all_languages() -> set[str]:
    """Languages with command phrases or with a model on this machine."""
    return set(languages()) | {m.language for m in _all_models()}


@models.command()
@click.argument("name", default=DEFAULT_MODEL)
@click.option(
    "--url",
    help="Mirror: a base URL holding NAME.zip, or the full URL of the .zip "
    "(default: $VOICE_GUIDE_MODEL_URL, else the manifest's URL).",
)
@click.option(
    "--sha256",
    "sha256",
    metavar="HEX",
    help="Expected SHA-256 of the archive (overrides the manifest).",
)
@click.option("--no-verify", is_flag=True, help="Install without checking size and SHA-256.")
@click.option("--language", help="Language tag of a model that is not in the manifest.")
@click.option("--force", is_flag=True, help="Download again even if it is installed.")
@click.option(
    "--stall-timeout",
    type=click.FloatRange(0.1, 3600),
    default=STALL_TIMEOUT,
    show_default=True,
    metavar="SECONDS",
    help=f"Retry when less than {STALL_MIN_RATE} bytes/s arrive for this long.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(1, 7 * 24 * 3600),
    default=TOTAL_TIMEOUT,
    show_default=True,
    metavar="SECONDS",
    help="Give up (keeping what arrived, to resume) after this long in all.",
)
def download(
    name: str,
    url: str | None,
    sha256: str | None,
    no_verify: bool,
    language: str | None,
    force: bool,
    stall_timeout: float,
    timeout: float,
) -> None:
    """Download, check and install the Vosk model NAME (default: the small English model)."""
    try:
        source = resolve_source(
            name, base_url=url, language=language, sha256=sha256, no_verify=no_verify
        )
        if source.sha256 is None:
            _echo_err(f"warning: {source.name} will be installed without an integrity check")
        model = install_model(
            source,
            force=force,
            progress=StderrProgress(source.name),
            on_status=_echo_err,
            limits=DownloadLimits(stall_timeout=stall_timeout, total_timeout=timeout),
        )
    except (KeyboardInterrupt, Terminated) as stop:
        _echo_err(
            "voice-guide: interrupted; the partial download is kept, "
            "run the same command to resume."
        )
        sys.exit(stopped_message(stop)[1])
    _echo_err(f"{model.name} ({model.language}) is installed in {model.path}")
    click.echo(str(model.path))


@models.command()
@click.argument("name", required=False)
@click.option("--language", help="Print the model the listener would load for this language.")
def path(name: str | None, language: str | None) -> None:
    """Print the models directory, the directory of model NAME, or the listener's model."""
    if name and language:
        raise click.UsageError("give a model NAME or --language, not both.")
    if language:
        found = find_model(language)
        if found is None:
            raise VoiceGuideError(
                f"no Vosk model for {language!r} is installed; see "
                f"{hints.command('models', 'list')}."
            )
        click.echo(str(found))
    elif name:
        model = _by_name(name)
        if model is None:
            raise VoiceGuideError(
                f"model {name!r} is not installed; {hints.command('models', 'download', name)}"
            )
        click.echo(str(model.path))
    else:
        click.echo(str(paths.models_dir()))


def _by_name(name: str) -> InstalledModel | None:
    """The installed or packaged model called `name` (or whose directory is called that)."""
    return next((m for m in _all_models() if name in (m.name, m.path.name)), None)


@models.command()
@click.argument("names", nargs=-1)
def verify(names: tuple[str, ...]) -> None:
    """Check installed models (all, or NAMES): required files present, files unchanged."""
    root = paths.models_dir()
    if names:
        candidates = []
        for name in names:
            model = _by_name(name)
            if model is None and not (root / name).is_dir():
                raise VoiceGuideError(f"{name!r} is not installed in {root}.")
            candidates.append((name, model.path if model else root / name))
    else:
        candidates = [(m.name, m.path) for m in _all_models()]
        # Directories that are not complete installs are reported too: they are never loaded.
        complete = {path.resolve() for _, path in candidates}
        if root.is_dir():
            candidates += [
                (child.name, child)
                for child in sorted(root.iterdir())
                if child.is_dir() and not child.name.startswith(".")
                if child.resolve() not in complete
            ]
    if not candidates:
        click.echo(f"no models installed in {root}")
        return
    failed = 0
    for model_name, model_dir in candidates:
        problems = verify_model(model_dir)
        mark_failed(model_dir, problems)  # a failed model is never loaded
        if problems:
            failed += 1
            click.echo(f"FAILED {model_name}: {'; '.join(problems)}")
        else:
            click.echo(f"ok     {model_name}  {model_dir}")
    if failed:
        raise VoiceGuideError(
            f"{failed} model(s) failed and will not be loaded; reinstall with "
            f"{hints.command('models', 'download', 'NAME', '--force')}."
        )
