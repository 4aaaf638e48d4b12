"""``wirehose alerts add|list|remove|deliver``: saved searches that fire once per story."""

from __future__ import annotations

import json
import signal
from collections.abc import Callable
from typing import Any

import click

from wirehose.core.settings import get_settings

_filters: list[Callable[[Any], Any]] = [
    click.option(
        "--person", "-p", "people", multiple=True, help="Mentions this person (repeatable: all)."
    ),
    click.option(
        "--org",
        "-o",
        "organizations",
        multiple=True,
        help="Mentions this organization (repeatable).",
    ),
    click.option(
        "--place",
        "-l",
        "places",
        multiple=True,
        help="Mentions this place, GPE or LOC (repeatable).",
    ),
    click.option(
        "--entity",
        "-e",
        "entities",
        multiple=True,
        help="Mentions this entity of any type (repeatable).",
    ),
    click.option(
        "--entity-type",
        "-t",
        "entity_types",
        multiple=True,
        help="spaCy label (PERSON, ORG, GPE, ...): with --entity, the entity must have it; alone, "
        "the article must mention some entity of this type.",
    ),
    click.option(
        "--publisher", "publishers", multiple=True, help="Published by (repeatable: any of)."
    ),
    click.option(
        "--agency", "agencies", multiple=True, help="Credits this agency (repeatable: any of)."
    ),
    click.option(
        "--story", "stories", multiple=True, help="Belongs to this story id (repeatable: any of)."
    ),
]


def _with_filters(func: Any) -> Any:
    for option in reversed(_filters):
        func = option(func)
    return func


@click.group("alerts")
def command() -> None:
    """Saved searches that fire once per story, while articles stream in.

    An alert saves a search - QUERY and the filters `wirehose search` takes - and the worker
    matches every new canonical article against it. The first article of a story that matches
    fires the alert once for that story ("new_story"); with --updates, each later matching
    article of the story fires again ("story_update"). Wire copies never fire on their own:
    they belong to their original's story. Deliveries go to the Kafka topic
    WIREHOSE_TOPIC_ALERTS; `wirehose alerts deliver` posts those with a --webhook.

    \b
    Examples:
      wirehose alerts add gaza-truce ceasefire --place Gaza
      wirehose alerts add lavrov --person "Sergei Lavrov" --updates --webhook https://hooks.example.com/wirehose
      wirehose alerts list
      wirehose alerts remove gaza-truce
      wirehose alerts deliver            # post deliveries to webhooks, until Ctrl-C
    """


@command.command("add")
@click.argument("name")
@click.argument("query", nargs=-1)
@_with_filters
@click.option(
    "--updates",
    is_flag=True,
    help="Also fire for each later matching article of a story already alerted.",
)
@click.option("--webhook", help="POST each delivery as JSON to this http(s) URL.")
def add(
    name: str, query: tuple[str, ...], updates: bool, webhook: str | None, **filters: Any
) -> None:
    """Save alert NAME for QUERY and filters (replacing an alert of that name).

    QUERY is read as `wirehose search` reads it: all words must appear in title or body,
    "double quotes" make a phrase. With no QUERY and no filter, the alert fires for every new
    story. It applies to articles the worker handles from now on.
    """
    # lazy: keeps `wirehose --help` and other commands fast; loads only when this runs
    from producers.fetch import check_url
    from sinks.alerts import AlertSpec, AlertStore
    from wirehose.core.clients import es_client, es_errors
    from wirehose.core.errors import FetchError

    if webhook:
        try:
            check_url(webhook)
        except FetchError as exc:
            raise click.BadParameter(str(exc), param_hint="--webhook") from exc
    values: dict[str, Any] = {k: tuple(v) for k, v in filters.items()}
    try:
        spec = AlertSpec(
            name=name, query=" ".join(query), updates=updates, webhook=webhook, **values
        )
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="NAME") from exc
    settings = get_settings()
    es = es_client(settings)
    try:
        with es_errors(settings):
            store = AlertStore(es, settings.alerts_index_name, settings.index_alias)
            replaced = store.get(name) is not None
            store.add(spec)
    finally:
        es.close()
    what = " ".join(filter(None, [repr(spec.query) if spec.query else "", spec.filters_text()]))
    click.echo(
        f"{'replaced' if replaced else 'saved'} alert {name}: {what or 'every new story'}"
        + (" (and updates)" if updates else "")
        + (f" -> {webhook}" if webhook else "")
    )


@command.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the alerts as JSON (for scripts).")
def list_(as_json: bool) -> None:
    """Show the saved alerts: name, query and filters, updates, webhook."""
    # lazy: keeps `wirehose --help` and other commands fast; loads only when this runs
    from sinks.alerts import AlertStore
    from wirehose.core.clients import es_client, es_errors

    settings = get_settings()
    es = es_client(settings)
    try:
        with es_errors(settings):
            alerts = AlertStore(es, settings.alerts_index_name, settings.index_alias).list()
    finally:
        es.close()
    if as_json:
        click.echo(json.dumps([a.to_dict() for a in alerts], ensure_ascii=False, indent=2))
        return
    if not alerts:
        click.echo("no alerts saved; add one with `wirehose alerts add NAME QUERY`", err=True)
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("name", "query", "filters", "updates", "webhook", "created")
    for alert in alerts:
        table.add_row(
            alert.name,
            alert.query or "-",
            alert.filters_text() or "-",
            "yes" if alert.updates else "no",
            alert.webhook or "-",
            alert.created_at[:19],
        )
    Console().print(table)


@command.command("remove")
@click.argument("name")
def remove(name: str) -> None:
    """Delete alert NAME; it stops firing at once (deliveries already made stay on the topic)."""
    # lazy: keeps `wirehose --help` and other commands fast; loads only when this runs
    from sinks.alerts import AlertStore
    from wirehose.core.clients import es_client, es_errors

    settings = get_settings()
    es = es_client(settings)
    try:
        with es_errors(settings):
            removed = AlertStore(es, settings.alerts_index_name, settings.index_alias).remove(name)
    finally:
        es.close()
    if not removed:
        raise click.ClickException(f"no alert named {name!r} (see `wirehose alerts list`)")
    click.echo(f"removed alert {name}")


@command.command("deliver")
@click.option(
    "--group", help="Kafka consumer group (default: WIREHOSE_APP_ID + '-alerts-deliver')."
)
@click.option(
    "--idle-exit",
    type=click.FloatRange(min=0),
    help="Exit after this many seconds without a delivery (default: run until stopped).",
)
def deliver(group: str | None, idle_exit: float | None) -> None:
    """POST each alert delivery that has a webhook, as JSON, until stopped (Ctrl-C).

    Each POST carries the delivery id in the Idempotency-Key header. Failures are retried
    with backoff (WIREHOSE_ALERTS_WEBHOOK_*); what still fails is dead-lettered with reason
    webhook-failed. Delivery to a webhook is at least once: after a crash, what was in flight
    is posted again with the same id, for the receiver to recognise. Webhooks on private
    addresses are refused unless WIREHOSE_FETCH_ALLOW names them.
    """
    # lazy: keeps `wirehose --help` and other commands fast; loads only when this runs
    from producers.fetch import FetchLimits, make_client
    from producers.guard import AddressPolicy
    from wirehose.ops.alert_delivery import Deliverer
    from wirehose.ops.webhooks import STEP, WebhookPolicy, WebhookPoster

    settings = get_settings()
    timeout = settings.alerts_webhook_timeout
    client = make_client(
        FetchLimits(connect_timeout=timeout, read_timeout=timeout),
        policy=AddressPolicy.from_settings(settings),
        step=STEP,
    )
    deliverer: Deliverer
    poster = WebhookPoster(
        client, WebhookPolicy.from_settings(settings), wait=lambda s: deliverer.stop.wait(s)
    )
    deliverer = Deliverer(settings, poster, group=group)
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: deliverer.stop.set())
    try:
        stats = deliverer.run(idle_exit=idle_exit)
    finally:
        client.close()
    click.echo(f"posted={stats.posted} failed={stats.failed} skipped={stats.skipped}", err=True)
