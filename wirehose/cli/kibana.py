"""``wirehose kibana import``: the data view, saved search and dashboard, into a running Kibana."""

from __future__ import annotations

from pathlib import Path

import click

from wirehose.core.settings import get_settings


@click.group("kibana")
def command() -> None:
    """Import the saved searches and dashboard into Kibana.

    \b
    Examples:
      wirehose kibana import                                  # Kibana on 127.0.0.1:5601
      wirehose kibana import --url http://kibana:5601 --wait 300
      wirehose kibana import --url https://kb.example --username elastic --password ...
    """


@command.command("import")
@click.option("--url", default="http://127.0.0.1:5601", show_default=True, help="Kibana base URL.")
@click.option("--space", help="Kibana space id (default: the default space).")
@click.option("--username", help="Kibana user (basic auth).")
@click.option("--password", help="Password of --username.")
@click.option("--api-key", help="Kibana API key (base64 id:key), instead of user and password.")
@click.option(
    "--wait",
    type=click.FloatRange(min=0),
    default=0.0,
    help="Seconds to wait for Kibana to come up first (for a compose one-shot service).",
)
@click.option(
    "--file",
    "path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="NDJSON to import instead of wirehose's kibana/saved_objects.ndjson.",
)
def import_(
    url: str,
    space: str | None,
    username: str | None,
    password: str | None,
    api_key: str | None,
    wait: float,
    path: Path | None,
) -> None:
    """Import the data view (on WIREHOSE_INDEX_ALIAS), saved search and dashboard.

    Existing objects with the same ids are overwritten, so re-running is safe. Open
    <url>/app/dashboards and pick "wirehose: news overview".
    """
    # lazy: keeps `wirehose --help` and other commands fast; loads only when this runs
    from sinks.kibana import SAVED_OBJECTS, KibanaClient, import_saved_objects

    if bool(username) != bool(password):
        raise click.UsageError("--username and --password go together")
    source = path or SAVED_OBJECTS
    if not source.exists():
        raise click.UsageError(f"{source} is missing; pass --file with a saved objects NDJSON")
    alias = get_settings().index_alias
    auth = (username, password) if username and password else None
    with KibanaClient(url, space=space, auth=auth, api_key=api_key) as client:
        if wait:
            client.wait_until_available(wait)
        report = import_saved_objects(client, alias, source)
    click.echo(
        f"imported {report.success_count} saved objects into {url} (data view on {alias!r}); "
        f"open {url.rstrip('/')}/app/dashboards"
    )
