"""``wirehose replay``: publish seed text files or JSONL articles to the raw topic."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from wirehose.core.article import Article
from wirehose.core.errors import WirehoseError
from wirehose.core.settings import get_settings

if TYPE_CHECKING:
    from wirehose.core.clients import KafkaAccess


@click.command("replay")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--jsonl",
    "jsonl",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A JSON Lines file of articles (repeatable).",
)
@click.option("--rate", type=click.FloatRange(min=0, min_open=True), help="Articles per second.")
@click.option(
    "--loop",
    "loops",
    type=click.IntRange(min=0),
    default=1,
    show_default=True,
    help="Send everything N times; 0 repeats until Ctrl-C.",
)
@click.option("--topic", help="Topic to write to. [default: WIREHOSE_TOPIC_RAW]")
@click.option(
    "--bootstrap",
    help="Kafka host:port[,host:port]; the WIREHOSE_KAFKA_SECURITY_PROTOCOL, SASL and SSL "
    "settings apply to it too. [default: the wirehose broker]",
)
@click.option(
    "--create-topic/--no-create-topic",
    default=True,
    show_default=True,
    help="Create the topic with WIREHOSE_TOPIC_PARTITIONS partitions if it is missing.",
)
@click.option("--dry-run", is_flag=True, help="Parse and print the articles as JSON; send nothing.")
@click.option("--no-progress", is_flag=True, help="No progress bar (for logs and CI).")
@click.option(
    "--metrics-port",
    type=click.IntRange(min=1, max=65535),
    help="Serve Prometheus metrics at http://127.0.0.1:PORT/metrics while running.",
)
def command(
    paths: tuple[Path, ...],
    jsonl: tuple[Path, ...],
    rate: float | None,
    loops: int,
    topic: str | None,
    bootstrap: str | None,
    create_topic: bool,
    dry_run: bool,
    no_progress: bool,
    metrics_port: int | None,
) -> None:
    """Publish articles from seed text files or JSONL to Kafka, keyed by article id.

    PATHS are directories of pasted article text (.txt), single .txt files or .jsonl files.
    With no PATHS and no --jsonl, the seed articles shipped with wirehose are replayed.
    Headlines, publishers, agency credits and dates are recovered from the pasted text; the
    original is kept in the article's `raw` field.

    Replaying the same input again sends the same keys, so nothing is indexed twice.
    Exits with status 1 if any article could not be delivered.

    \b
    Examples:
      wirehose replay                          the bundled seeds, once
      wirehose replay --dry-run | head -n 2   see what the parser extracted
      wirehose replay ~/clips/ story.txt       your own pasted articles
      wirehose replay --jsonl scraped.jsonl    one {"title","body","url",...} per line
      wirehose replay --rate 5 --loop 0        a steady 5 articles/s until Ctrl-C
      wirehose replay --topic test.raw --bootstrap broker:9092
    """
    # lazy: keeps `wirehose --help` and other commands fast; loads only when this runs
    from producers.replay import iter_inputs

    try:
        articles = list(iter_inputs(paths, jsonl))
    except (WirehoseError, OSError) as exc:
        raise click.ClickException(f"cannot read the input: {exc}") from exc
    if not articles:
        raise click.ClickException("no articles found; pass .txt files, a directory or --jsonl")
    if dry_run:
        for article in articles:
            click.echo(article.model_dump_json(exclude={"raw"}))
        return
    # lazy: keeps `wirehose --help` and other commands fast; loads only when this runs
    from wirehose.core.clients import kafka_access

    settings = get_settings()
    if metrics_port:
        # lazy: keeps `wirehose --help` and other commands fast; loads only when this runs
        from wirehose.core.metrics import serve

        serve(metrics_port)
    _send(
        articles,
        access=kafka_access(settings, bootstrap=bootstrap),
        topic=topic or settings.topic_raw,
        partitions=settings.topic_partitions if create_topic else None,
        rate=rate,
        loops=loops,
        progress=not no_progress,
    )


def _send(
    articles: list[Article],
    *,
    access: KafkaAccess,
    topic: str,
    partitions: int | None,
    rate: float | None,
    loops: int,
    progress: bool,
) -> None:
    from tqdm import tqdm

    # lazy: keeps `wirehose --help` and other commands fast; loads only when this runs
    from producers.kafka import ArticleProducer
    from producers.replay import replay
    from wirehose.cli.terminate import terminate_like_interrupt
    from wirehose.core.clients import ensure_topics
    from wirehose.core.metrics import delivery_counter

    if partitions is not None:
        ensure_topics(access, [topic], partitions=partitions)
    total = len(articles) * loops if loops else None
    bar = tqdm(total=total, unit="article", disable=not progress, file=sys.stderr, desc=topic)
    interrupted = False
    with (
        terminate_like_interrupt(),
        ArticleProducer(access, topic, on_delivery=delivery_counter("replay")) as producer,
    ):
        try:
            replay(articles, producer, rate=rate, loops=loops, on_queued=lambda _: bar.update())
        except KeyboardInterrupt:
            interrupted = True  # leaving the block flushes what was queued, then we report it
    bar.close()
    report = producer.report
    click.echo(f"replayed to topic={topic} {report.summary()}", err=True)
    for article_id, reason in report.failures[:10]:
        click.echo(f"  failed id={article_id} reason={reason}", err=True)
    if report.failed:
        click.echo(
            "some articles were not delivered: check `wirehose services status` and the broker "
            "log, then run the same replay again (keys are stable, so nothing doubles)",
            err=True,
        )
        raise SystemExit(1)
    if interrupted:
        raise SystemExit(130)
