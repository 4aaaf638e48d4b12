"""``wirehose services up|down|status|logs``: the native Kafka and Elasticsearch."""

from __future__ import annotations

import json
import time

import click

from wirehose.core.settings import get_settings
from wirehose.ops.services import ElasticsearchService, KafkaService
from wirehose.ops.services.runtime import NativeService


def _managed() -> list[NativeService]:
    settings = get_settings()
    services: list[NativeService] = []
    if settings.kafka_managed:
        services.append(KafkaService(settings))
    if settings.es_managed:
        services.append(ElasticsearchService(settings))
    return services


def _external_note() -> None:
    settings = get_settings()
    if not settings.kafka_managed:
        click.echo(
            f"kafka  external at {settings.kafka_servers} (WIREHOSE_KAFKA_BOOTSTRAP): not managed"
        )
    if not settings.es_managed:
        click.echo(
            f"es     external at {settings.elasticsearch_url} (WIREHOSE_ES_URL): not managed"
        )


@click.group("services")
def command() -> None:
    """Provision, start, stop and check the native Kafka and Elasticsearch.

    No Docker needed: the first `up` fetches Apache Kafka (KRaft mode) and Elasticsearch 8
    from Maven Central into ~/.cache/wirehose (WIREHOSE_HOME), then starts both in the
    background with small heaps, listening on 127.0.0.1 only. Later runs start in seconds.

    When WIREHOSE_KAFKA_BOOTSTRAP or WIREHOSE_ES_URL is set, that service is yours and
    wirehose leaves it alone.

    \b
    Examples:
      wirehose services up
      WIREHOSE_KAFKA_PORT=19092 WIREHOSE_ES_PORT=19200 wirehose services up
      wirehose services status --json
      wirehose services down
    """


@command.command("up")
def up() -> None:
    """Start Kafka and Elasticsearch (reusing running ones) and wait until healthy."""
    _external_note()
    for service in _managed():
        started = time.monotonic()
        state = service.up()
        click.echo(
            f"{service.name:<6} {state.detail:<8} {state.address}  "
            f"(pid {state.pid}, {time.monotonic() - started:.1f}s, logs: {service.logs_hint()})"
        )
    click.echo("Stop them with: wirehose services down")


@command.command("down")
@click.option("--force", is_flag=True, help="SIGKILL at once instead of a clean shutdown.")
def down(force: bool) -> None:
    """Stop the native Kafka and Elasticsearch. Their data stays for the next `up`."""
    for service in reversed(_managed()):
        if force:
            service.kill()
            stopped = True
        else:
            stopped = service.down()
        click.echo(f"{service.name:<6} {'stopped' if stopped else 'was not running'}")


@command.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def status(as_json: bool) -> None:
    """Whether each native service is running and healthy. Exit status 1 when one is not."""
    states = [service.status() for service in _managed()]
    if as_json:
        click.echo(json.dumps([state.__dict__ for state in states], indent=2))
    else:
        _external_note()
        for state in states:
            health = (
                "healthy"
                if state.healthy
                else ("running, not healthy" if state.running else "down")
            )
            click.echo(f"{state.name:<6} {health:<22} {state.address}  pid={state.pid or '-'}")
    if not all(state.healthy for state in states):
        raise SystemExit(1)


@command.command("logs")
@click.argument("service", type=click.Choice(["kafka", "es"]))
@click.option("-n", "--lines", default=40, show_default=True, help="How many lines to show.")
def logs(service: str, lines: int) -> None:
    """Show the end of a native service's log."""
    settings = get_settings()
    target: NativeService = (
        KafkaService(settings) if service == "kafka" else ElasticsearchService(settings)
    )
    path = target.server_log if isinstance(target, KafkaService) else target.node_log  # type: ignore[attr-defined]
    try:
        text = path.read_text(errors="replace").splitlines()[-lines:]
    except OSError:
        raise click.ClickException(
            f"no log yet at {path}; has `wirehose services up` run?"
        ) from None
    click.echo("\n".join(text))
