"""``wirehose demo``: the main job in one command — seeds through the pipeline, then a search."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import click

from wirehose.core.settings import Settings, get_settings


@click.command("demo")
@click.option("--query", default="Hamas", show_default=True, help="What to search for at the end.")
@click.option(
    "--timeout",
    default=300.0,
    show_default=True,
    help="Seconds to wait for every article to become searchable.",
)
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
def command(query: str, timeout: float, paths: tuple[Path, ...]) -> None:
    """Replay the seed articles through the whole pipeline and search the result.

    \b
    1. starts (or reuses) the native Kafka and Elasticsearch
    2. starts a worker: validate, dedup, story clusters, entity tagging, indexing
    3. replays the seed articles (or PATHS) onto the raw topic
    4. waits until every article is searchable, then stops the worker
    5. searches for --query and shows hits with entity, publisher and story facets

    Kafka and Elasticsearch keep running afterwards, so you can go on with
    `wirehose search`, `wirehose web` (the search page in a browser), `wirehose status` or
    curl; `wirehose services down` stops them.
    Running the demo twice indexes nothing twice: article ids are deterministic.
    """
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    # lazy: keeps `wirehose --help` and other commands fast; loads only when this runs
    from processors.topology import create_topics
    from producers.kafka import ArticleProducer
    from producers.replay import iter_inputs, replay
    from wirehose.cli.terminate import terminate_like_interrupt
    from wirehose.core.clients import es_client, kafka_access
    from wirehose.ops.local import wait_indexed, worker_process
    from wirehose.ops.services import resolve_endpoints

    console = Console(stderr=True)
    settings = get_settings()
    started = time.monotonic()
    run_start = datetime.now(UTC)
    console.print("[bold]1/5[/] services")
    endpoints = resolve_endpoints(settings)
    console.print(f"    kafka {endpoints.kafka_bootstrap}   elasticsearch {endpoints.es_url}")
    create_topics(settings)
    articles = list(iter_inputs(list(paths)))
    ids = {article.article_id for article in articles}

    console.print("[bold]2/5[/] worker (loads the spaCy model; a few seconds)")
    # The worker runs in its own session: on Ctrl-C or SIGTERM leaving this block stops it.
    with terminate_like_interrupt(), worker_process(settings) as worker:
        console.print(f"[bold]3/5[/] replaying {len(articles)} articles to {settings.topic_raw}")
        with ArticleProducer(kafka_access(settings), settings.topic_raw) as producer:
            report = replay(articles, producer)
        if not report.ok:
            raise click.ClickException(
                f"{report.failed} articles could not be sent: {dict(report.reasons)}"
            )

        console.print(
            f"[bold]4/5[/] waiting until all {len(ids)} are searchable in '{settings.index_alias}'"
        )
        client = es_client(settings)
        with Progress(
            TextColumn("    indexed"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
        ) as progress:
            task = progress.add_task("indexed", total=len(ids))
            found = wait_indexed(
                client,
                settings.index_alias,
                ids,
                timeout=timeout,
                worker=worker,
                on_progress=lambda n: progress.update(task, completed=n),
                processed_since=run_start,  # this run's work, not an earlier demo's documents
            )
    if found < len(ids):
        raise click.ClickException(
            f"only {found} of {len(ids)} articles were indexed within {timeout:.0f}s; "
            f"see the worker log under {settings.home / 'logs'} and `wirehose status`"
        )
    console.print(
        f"[bold]5/5[/] search for {query!r}  (whole run {time.monotonic() - started:.1f}s)\n"
    )
    _show_results(settings, query)
    console.print(
        "\nNext: `wirehose search --help`, `wirehose status`, "
        f"curl '{settings.elasticsearch_url}/{settings.index_alias}/_search?q={query}'. "
        "Stop the services with `wirehose services down`."
    )
    # lazy: only for the address format; the page itself is not started here
    from wirehose.web.server import address

    console.print(
        "Browse the results: run `wirehose web` and open "
        + address(settings.web_host, settings.web_port),
        markup=False,
    )


def _show_results(settings: Settings, query: str) -> None:
    # lazy: keeps `wirehose --help` and other commands fast; loads only when this runs
    from sinks.render import render
    from sinks.search import SearchRequest, search

    render(search(settings, SearchRequest(query=query)))
