"""Every Prometheus metric wirehose exposes, defined once, on one registry.

Names follow ``wirehose_<stage>_<noun>_<unit>``: the stage that counts (``producer``, ``enrich``,
``dedup``, ``entities``, ``sink``, ``deadletter``, ``consumer``, ``process``), what it counts, and
a unit suffix (``_total`` for counters; ``_seconds``, ``_documents``, ``_messages`` or ``_info``
otherwise). Counters and histograms carry a ``step`` label holding the stable ``step_id`` of the
code that counted (``replay``, ``rss``, ``enrich``, ``dedup``, ``entities``, ``sink.elasticsearch``,
``validate``...), so a dashboard survives a refactor that moves work between agents. A unit test
holds every name to that convention (``tests/unit/test_metrics.py``).

One registry of our own, not prometheus_client's global one: ``/metrics`` then shows wirehose's
metrics and nothing a library registered by accident, and tests can read exact values.
Counters live in the process that counts: the worker serves them at ``/metrics`` on its web
port, a producer on ``--metrics-port``. Prometheus sums them across processes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    generate_latest,
    start_http_server,
)

from wirehose import __version__

if TYPE_CHECKING:
    from wirehose.core.article import Article
    from wirehose.core.deadletter import DeadLetter

log = logging.getLogger(__name__)

REGISTRY = CollectorRegistry(auto_describe=True)

# Stable step ids used as label values (the same strings the code uses as ``step_id``).
STEP_VALIDATE = "validate"
STEP_DEDUP = "dedup"
STEP_ENTITIES = "entities"
STEP_SINK = "sink.elasticsearch"

PRODUCER_ARTICLES = Counter(
    "wirehose_producer_articles_total",
    "Articles a producer handed to Kafka; outcome=sent once the broker confirmed, else failed.",
    ["step", "outcome"],
    registry=REGISTRY,
)
FETCHES_REFUSED = Counter(
    "wirehose_producer_fetches_refused_total",
    "Requests a producer refused to send: reason is the kind of address the host resolved to "
    "(loopback, private, link-local, ...; see WIREHOSE_FETCH_ALLOW) or robots (robots.txt "
    "disallows the page, or could not be read).",
    ["step", "reason"],
    registry=REGISTRY,
)
ENRICH_RECORDS = Counter(
    "wirehose_enrich_records_total",
    "Records an enrichment step took in: step=validate counts raw records, valid or not.",
    ["step"],
    registry=REGISTRY,
)
ENRICH_ARTICLES = Counter(
    "wirehose_enrich_articles_total",
    "Articles an enrichment step passed on (the rest were dead-lettered).",
    ["step"],
    registry=REGISTRY,
)
ENTITIES_TAGGED = Counter(
    "wirehose_entities_tagged_total",
    "Entity mentions tagged in articles leaving the entity tagger.",
    ["step"],
    registry=REGISTRY,
)
ENTITIES_SOURCE = Counter(
    "wirehose_entities_articles_total",
    "Articles the entity tagger handled, by how: 'ner' (spaCy ran), 'reused' (a copy took "
    "its original's entities from the worker's cache) or 'skipped' (written in a language the "
    "model was not trained on: no entities).",
    ["step", "source"],
    registry=REGISTRY,
)
STAGE_BUSY = Counter(
    "wirehose_stage_busy_seconds_total",
    "Seconds an enrichment step's pipeline spent working on batches, summed over its "
    "processes. Its rate over the step's processes (WIREHOSE_NER_PROCESSES for step=entities) is the share of time the step was busy: "
    "for step=entities (spaCy NER, the slowest stage) below 1 means NER waited for input.",
    ["step"],
    registry=REGISTRY,
)
DEDUP_DUPLICATES = Counter(
    "wirehose_dedup_duplicates_total",
    "Articles reaching the sink marked as a copy of an earlier article.",
    ["step"],
    registry=REGISTRY,
)
SINK_RECORDS = Counter(
    "wirehose_sink_records_total",
    "Enriched articles handed to the Elasticsearch sink.",
    ["step"],
    registry=REGISTRY,
)
SINK_INDEXED = Counter(
    "wirehose_sink_documents_indexed_total",
    "Documents Elasticsearch acknowledged as written.",
    ["step"],
    registry=REGISTRY,
)
SINK_CONFLICTS = Counter(
    "wirehose_sink_version_conflicts_total",
    "Documents Elasticsearch already held at this or a newer version (409): a redelivery, done.",
    ["step"],
    registry=REGISTRY,
)
DEADLETTER_RECORDS = Counter(
    "wirehose_deadletter_records_total",
    "Records published to the dead-letter topic, by the step that rejected them and why.",
    ["step", "reason"],
    registry=REGISTRY,
)
SINK_BATCH = Histogram(
    "wirehose_sink_batch_documents",
    "Documents per sink flush (one flush is one or more bulk requests).",
    ["step"],
    buckets=(1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000),
    registry=REGISTRY,
)
SINK_BULK_LATENCY = Histogram(
    "wirehose_sink_bulk_latency_seconds",
    "Time to flush one batch to Elasticsearch, retries included.",
    ["step"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
    registry=REGISTRY,
)
CONSUMER_LAG = Gauge(
    "wirehose_consumer_lag_messages",
    "Messages in a partition this worker owns that its consumer group has not committed yet.",
    ["step", "topic", "partition"],
    registry=REGISTRY,
)
BUILD = Info("wirehose_process_build", "The wirehose version of this process.", registry=REGISTRY)
BUILD.info({"version": __version__})

# Series that exist from the start at 0, so a rate() has a baseline before the first event.
for _counter, _step in (
    (ENRICH_RECORDS, STEP_VALIDATE),
    (ENRICH_ARTICLES, STEP_VALIDATE),
    (ENRICH_RECORDS, STEP_ENTITIES),
    (ENRICH_ARTICLES, STEP_ENTITIES),
    (ENTITIES_TAGGED, STEP_ENTITIES),
    (STAGE_BUSY, STEP_ENTITIES),
    (STAGE_BUSY, STEP_VALIDATE),
    (DEDUP_DUPLICATES, STEP_DEDUP),
    (SINK_RECORDS, STEP_SINK),
    (SINK_INDEXED, STEP_SINK),
    (SINK_CONFLICTS, STEP_SINK),
):
    _counter.labels(step=_step)


def observe_enrich(
    step: str,
    received: int,
    articles: Sequence[Article],
    counts: Mapping[str, int] | None = None,
    busy_seconds: float = 0.0,
) -> None:
    """Count one batch of an enrichment step: records in, articles out, the time the step
    worked on it, and, after the tagger, the entity mentions the articles carry and how many
    articles reused a copy's."""
    ENRICH_RECORDS.labels(step=step).inc(received)
    STAGE_BUSY.labels(step=step).inc(busy_seconds)
    ENRICH_ARTICLES.labels(step=step).inc(len(articles))
    if step == STEP_ENTITIES:
        ENTITIES_TAGGED.labels(step=step).inc(sum(len(a.entities) for a in articles))
        for source in ("ner", "reused", "skipped"):
            ENTITIES_SOURCE.labels(step=step, source=source).inc((counts or {}).get(source, 0))


def observe_dead_letters(letters: Iterable[DeadLetter]) -> None:
    """Count dead letters as they are published, by rejecting step and reason."""
    for letter in letters:
        DEADLETTER_RECORDS.labels(step=letter.step, reason=letter.reason).inc()


def delivery_counter(step: str) -> Callable[[str, BaseException | None], None]:
    """An ``ArticleProducer(on_delivery=...)`` callback counting confirmed and failed sends."""
    sent = PRODUCER_ARTICLES.labels(step=step, outcome="sent")
    failed = PRODUCER_ARTICLES.labels(step=step, outcome="failed")

    def count(_article_id: str, exc: BaseException | None) -> None:
        (failed if exc is not None else sent).inc()

    return count


def exposition() -> tuple[bytes, str]:
    """The text exposition of every wirehose metric, and its content type."""
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def serve(port: int, host: str = "127.0.0.1") -> None:
    """Serve ``/metrics`` from a daemon thread (for producers, which have no web server)."""
    start_http_server(port, addr=host, registry=REGISTRY)
    log.info("metrics served url=http://%s:%d/metrics", host, port)


def sample_value(name: str, labels: dict[str, str] | None = None) -> float:
    """The current value of one sample (0 when absent): for tests and the status command."""
    value = REGISTRY.get_sample_value(name, labels or {})
    return 0.0 if value is None else float(value)
