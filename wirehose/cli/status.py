"""``wirehose status``: services, per-stage flow, lag, dead letters and index counts."""

from __future__ import annotations

import time

import click

from wirehose.core.settings import get_settings


@click.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print the snapshot as JSON for scripts.")
@click.option(
    "--watch",
    type=click.FloatRange(min=1),
    is_flag=False,
    flag_value=5.0,
    default=None,
    metavar="[SECONDS]",
    help="Refresh every SECONDS (5 when given alone) until Ctrl-C.",
)
@click.option(
    "--worker-url",
    help="The worker's web server. [default: http://WIREHOSE_WORKER_WEB_HOST:_PORT]",
)
def command(as_json: bool, watch: float | None, worker_url: str | None) -> None:
    """Show what the pipeline is doing, and what is wrong when something is.

    \b
    - services: Kafka, Elasticsearch and the worker, up or down (and the worker ready or not)
    - stages: records that reached each agent's input topic, what it wrote, its group's lag;
      with a reachable worker, also the worker's own counters from its /metrics page
    - lag: per topic and partition, for the worker's consumer group (WIREHOSE_APP_ID)
    - dead letters: how many, and the most common reasons (over the newest
      WIREHOSE_STATUS_DEAD_LETTER_SCAN records)
    - elasticsearch: alias, the indices behind it, documents, canonical and duplicate counts

    Nothing is started: status only looks. The exit status is 1 when a problem was found.

    \b
    Examples:
      wirehose status
      wirehose status --json | jq .total_lag
      wirehose status --watch 2
    """
    # lazy: keeps `wirehose --help` and other commands fast; loads only when this runs
    from wirehose.ops.status import gather
    from wirehose.ops.status_render import print_snapshot, to_json
    from wirehose.ops.status_sources import live_sources

    settings = get_settings()
    try:
        while True:
            with live_sources(settings, url_override=worker_url) as sources:
                snapshot = gather(settings, sources)
            if as_json:
                click.echo(to_json(snapshot))
            else:
                if watch:
                    click.clear()
                print_snapshot(snapshot)
            if not watch:
                break
            time.sleep(watch)
    except KeyboardInterrupt:
        return
    if not snapshot.healthy:
        raise SystemExit(1)
