"""``wirehose index create|status|migrate``: the versioned articles index behind its alias."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import click

from wirehose.core.settings import get_settings

if TYPE_CHECKING:
    from sinks.indices import IndexManager


def _manager() -> IndexManager:
    # lazy: keeps `wirehose --help` and other commands fast; loads only when this runs
    from sinks.indices import IndexManager
    from wirehose.core.clients import es_client

    settings = get_settings()
    return IndexManager(es_client(settings, request_timeout=120), settings.index_alias)


@contextmanager
def _said_plainly() -> Iterator[None]:
    """A refused login, a rejected certificate or a cluster that does not answer becomes an
    error naming the setting to fix, instead of a traceback."""
    # lazy: keeps `wirehose --help` and other commands fast; loads only when this runs
    from wirehose.core.clients import es_errors

    with es_errors(get_settings()):
        yield


@click.group("index")
def command() -> None:
    """Create, inspect and migrate the Elasticsearch index.

    Searches and writes go through an alias (WIREHOSE_INDEX_ALIAS, default `articles`) that
    points at a versioned index (`articles-v1`, `articles-v2`, ...). A new mapping is rolled out
    by `migrate`: it builds the next version, copies every document and switches the alias
    atomically, so searches never see a half-built index.

    \b
    Examples:
      wirehose index create
      wirehose index status --json
      wirehose index migrate --delete-old
    """


@command.command("create")
def create() -> None:
    """Create the index template, `<alias>-v1` and the alias, unless the alias exists.

    The worker does this itself on start; run it by hand to inspect the mapping before any data.
    """
    with _said_plainly():
        manager = _manager()
        before = manager.status()
        if before.exists:
            click.echo(
                f"alias {before.alias!r} already points at {before.index} "
                f"(mapping v{before.mapping_version}, {before.docs} documents); nothing to do"
            )
            if before.migration_needed:
                click.echo("its mapping is outdated: run `wirehose index migrate`")
            return
        name = manager.ensure()
        status = manager.status()
    click.echo(f"created {name} behind alias {status.alias!r} (analyzer {status.analyzer})")


@command.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
def status(as_json: bool) -> None:
    """Show which index the alias points at, its mapping version, analyzer and document count."""
    with _said_plainly():
        info = _manager().status()
    if as_json:
        click.echo(json.dumps(info.as_dict(), indent=2))
        return
    if not info.exists:
        click.echo(f"no index behind alias {info.alias!r}: run `wirehose index create`")
        return
    click.echo(f"alias           {info.alias}")
    click.echo(
        f"index           {info.index}   (all versions: {', '.join(info.generations) or '-'})"
    )
    click.echo(f"documents       {info.docs}")
    click.echo(f"health          {info.health}")
    click.echo(
        f"mapping         v{info.mapping_version} (this build writes v{info.current_version})"
    )
    click.echo(f"text analyzer   {info.analyzer}")
    click.echo(f"index template  {'present' if info.template else 'missing'}")
    if info.migration_needed:
        click.echo("=> migration needed: run `wirehose index migrate`")


@command.command("migrate")
@click.option("--force", is_flag=True, help="Rebuild even when the mapping version is current.")
@click.option("--delete-old", is_flag=True, help="Delete the previous index after the switch.")
def migrate(force: bool, delete_old: bool) -> None:
    """Copy the documents into a new index version with this build's mapping and move the alias.

    Safe while the worker runs: documents keep their versions, and writes made during the copy
    are copied again after the switch. The old index stays unless --delete-old.
    """
    with _said_plainly():
        report = _manager().migrate(force=force, delete_old=delete_old)
    if report is None:
        click.echo("the mapping is current; nothing to migrate (use --force to rebuild anyway)")
        return
    click.echo(
        f"migrated {report.source} -> {report.target}: {report.copied} documents copied, "
        f"{report.caught_up} caught up after the switch"
        + ("; old index deleted" if report.deleted_source else f"; {report.source} kept")
    )
