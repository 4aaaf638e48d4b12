"""``wirehose rss``: poll RSS and Atom feeds and publish new items to the raw topic."""

from __future__ import annotations

import signal
import threading
from pathlib import Path

import click

from wirehose.core.errors import WirehoseError
from wirehose.core.settings import get_settings


@click.command("rss")
@click.argument("feed_urls", nargs=-1, metavar="FEED_URL...")
@click.option(
    "--config",
    "config_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A feeds.yaml listing feeds (see below).",
)
@click.option(
    "--interval",
    type=click.FloatRange(min=1),
    help="Seconds between polls of each feed. [default: 300, or the config's interval]",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=1),
    default=60.0,
    show_default=True,
    help="Seconds one feed download may take in all; slower servers are cut off.",
)
@click.option("--once", is_flag=True, help="Poll every feed once, report and exit.")
@click.option("--no-pages", is_flag=True, help="Never fetch linked pages for teaser items.")
@click.option("--topic", help="Topic to write to. [default: WIREHOSE_TOPIC_RAW]")
@click.option(
    "--bootstrap",
    help="Kafka host:port[,host:port]; the WIREHOSE_KAFKA_SECURITY_PROTOCOL, SASL and SSL "
    "settings apply to it too. [default: the wirehose broker]",
)
@click.option(
    "--metrics-port",
    type=click.IntRange(min=1, max=65535),
    help="Serve Prometheus metrics at http://127.0.0.1:PORT/metrics while running.",
)
def command(
    feed_urls: tuple[str, ...],
    config_path: Path | None,
    interval: float | None,
    timeout: float,
    once: bool,
    no_pages: bool,
    topic: str | None,
    bootstrap: str | None,
    metrics_port: int | None,
) -> None:
    """Poll RSS 2.0 and Atom feeds and publish each new item once, keyed by its URL.

    Items already published are remembered under WIREHOSE_HOME/state/feeds, so a restart
    does not republish them. Unchanged feeds cost one conditional GET. A feed that fails
    (HTTP error, timeout, oversized or hostile XML) is logged and retried with growing
    delays, without holding up the other feeds. Items that carry only a teaser get their
    text from the linked page.

    \b
    Examples:
      wirehose rss https://feeds.bbci.co.uk/news/world/rss.xml
      wirehose rss --once https://example.com/atom.xml     one poll, then exit
      wirehose rss --config feeds.yaml --interval 120

    \b
    feeds.yaml:
      interval: 300                # seconds, for feeds without their own
      feeds:
        - https://example.com/rss
        - url: https://example.org/atom.xml
          interval: 900
          fetch_pages: false       # trust the feed's text, fetch no pages

    \b
    Fetching from strangers (feed items name any URL they like):
      * only public addresses are fetched, checked after DNS and at every
        redirect; loopback, private, link-local (169.254.169.254), CGNAT and
        other non-public addresses are refused and logged unless listed in
        WIREHOSE_FETCH_ALLOW, e.g. for a feed on your own network:
          WIREHOSE_FETCH_ALLOW=10.1.0.0/16,feeds.corp.example wirehose rss ...
      * linked pages honour the site's robots.txt (user agent "wirehose");
      * one page request at a time per site (WIREHOSE_FETCH_HOST_CONCURRENCY),
        WIREHOSE_FETCH_HOST_INTERVAL seconds apart; a 429/503 Retry-After pauses
        the site (at most WIREHOSE_FETCH_RETRY_AFTER_MAX seconds).

    With --once the exit status is 1 if any feed failed or any item was not delivered.
    """
    from dataclasses import replace

    # lazy: keeps `wirehose --help` and other commands fast; loads only when this runs
    from producers.base import SourceRunner
    from producers.fetch import FEED_LIMITS, PAGE_LIMITS, make_client
    from producers.guard import AddressPolicy
    from producers.kafka import ArticleProducer
    from producers.polite import PageFetcher
    from producers.rss import FeedConfig, FeedSource, load_feed_config
    from wirehose.core.clients import ensure_topics, kafka_access
    from wirehose.core.metrics import delivery_counter, serve

    settings = get_settings()
    feeds = [FeedConfig(url) for url in feed_urls]
    default_interval = 300.0
    if config_path is not None:
        from_file, file_interval = load_feed_config(config_path)
        feeds.extend(from_file)
        default_interval = file_interval or default_interval
    if not feeds:
        raise click.UsageError("give at least one FEED_URL or --config feeds.yaml")
    state_dir = settings.seen_state_dir / "feeds"
    policy = AddressPolicy.from_settings(settings)
    feed_limits = replace(
        FEED_LIMITS, deadline=timeout, retry_after_max=settings.fetch_retry_after_max
    )
    page_limits = replace(
        PAGE_LIMITS,
        deadline=min(PAGE_LIMITS.deadline, timeout),
        retry_after_max=settings.fetch_retry_after_max,
    )
    # One page fetcher for every feed: pacing and robots.txt are per site, not per feed.
    pages = PageFetcher.from_settings(
        settings,
        make_client(page_limits, policy=policy, step="rss"),
        limits=page_limits,
        step="rss",
    )
    try:
        sources = [
            FeedSource(
                feed.url,
                state_dir=state_dir,
                interval=interval or feed.interval or default_interval,
                fetch_pages=feed.fetch_pages and not no_pages,
                limits=feed_limits,
                page_limits=page_limits,
                policy=policy,
                pages=pages,
            )
            for feed in {f.url: f for f in feeds}.values()  # a feed listed twice polls once
        ]
    except WirehoseError as exc:
        pages.close()
        raise click.UsageError(str(exc)) from exc
    access = kafka_access(settings, bootstrap=bootstrap)
    topic = topic or settings.topic_raw
    ensure_topics(access, [topic], partitions=settings.topic_partitions)
    if metrics_port:
        serve(metrics_port)

    stop = threading.Event()
    in_main = threading.current_thread() is threading.main_thread()
    # SIGTERM (systemd, docker stop) ends the loop cleanly: pending sends are confirmed.
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set()) if in_main else None
    try:
        with ArticleProducer(
            access, topic, client_id="wirehose-rss", on_delivery=delivery_counter("rss")
        ) as producer:
            runner = SourceRunner(sources, producer)
            try:
                report = runner.run(once=once, stop=stop)
            except KeyboardInterrupt:
                report = producer.flush()
    finally:
        pages.close()
        if in_main:
            signal.signal(signal.SIGTERM, previous)
    failing = [(s.step_id, runner.state(s.step_id).last_error) for s in sources]
    failing = [(step_id, error) for step_id, error in failing if error]
    click.echo(f"rss feeds={len(sources)} failing={len(failing)} {report.summary()}", err=True)
    for step_id, error in failing:
        click.echo(f"  {step_id}: {error}", err=True)
    if once and (failing or not report.ok):
        raise SystemExit(1)
