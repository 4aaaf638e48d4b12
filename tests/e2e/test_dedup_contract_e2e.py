"""The dedup contract through the running pipeline: Elasticsearch's marks equal the reference's.

A wire archive of two months (``tests/corpus/archive.py``: exact twins, half copies, copies of
copies, re-issues beyond the window, robot briefs, originals delivered after their copies) is
written to the raw topic partition by partition, with partitions days of event time apart, and
read by one or two real ``wirehose worker`` processes. Once the pipeline has drained (every
consumer group offset at the end of its topic, every article searchable), every article's mark
in Elasticsearch (``is_canonical``, ``duplicate_of``, ``dedup_method``) must equal the mark the
reference detector gives it in one process over the archive in event-time order.

Backlog: the whole archive is in Kafka before the workers start. Paced: the workers run first
and the archive trickles in, in arrival order.
"""

from __future__ import annotations

import contextlib
import json
import re
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from elasticsearch import Elasticsearch
from kafka import KafkaProducer

from processors.dedup.detector import WireCopyDetector
from processors.topology import create_topics, topic_names
from tests import stalls
from tests.corpus.archive import Item, archive, arrival, reference_order
from wirehose.core.article import Article
from wirehose.core.clients import kafka_access
from wirehose.core.offsets import KafkaOffsets, group_lag
from wirehose.core.settings import Settings
from wirehose.ops.local import count_indexed, worker_process

RESULTS = Path(__file__).resolve().parents[2] / "bench" / "results" / "dedup-contract.json"
# A bound on waiting for the drain, not a speed assertion; below the suite's 600 s timeout so
# that a stalled run still says which partitions are behind.
DEADLINE = 420.0
PACE_SECONDS = 0.03  # between two records of a paced replay
FAST_REBALANCE_ENV = {"BROKER_SESSION_TIMEOUT": "10", "BROKER_HEARTBEAT_INTERVAL": "1"}

Mark = tuple[bool, str | None, str | None]


@pytest.fixture(scope="module")
def corpus() -> list[Item]:
    return archive(originals=90, days=64)


def reference(settings: Settings, items: list[Item]) -> dict[str, Mark]:
    detector = WireCopyDetector.from_settings(settings)
    marks: dict[str, Mark] = {}
    for article in reference_order(items):
        mark = detector.classify(article).mark
        marks[article.article_id] = (mark.is_canonical, mark.duplicate_of, mark.method)
    return marks


def indexed_marks(es: Elasticsearch, alias: str) -> dict[str, Mark]:
    es.indices.refresh(index=alias)
    hits = es.search(
        index=alias,
        size=10_000,
        query={"match_all": {}},
        source_includes=["is_canonical", "duplicate_of", "dedup_method"],
    )["hits"]["hits"]
    return {
        hit["_id"]: (
            hit["_source"]["is_canonical"],
            hit["_source"]["duplicate_of"],
            hit["_source"]["dedup_method"],
        )
        for hit in hits
    }


def send(settings: Settings, deliveries: list[tuple[int, Article]], *, pace: float = 0.0) -> None:
    producer = KafkaProducer(bootstrap_servers=settings.kafka_servers, acks="all", linger_ms=5)
    try:
        for partition, article in deliveries:
            producer.send(
                settings.topic_raw,
                key=article.article_id.encode(),
                value=article.to_bytes(),
                partition=partition,
            )
            if pace:
                producer.flush()
                time.sleep(pace)
        producer.flush()
    finally:
        producer.close()


def drained(settings: Settings, ids: set[str], es: Elasticsearch) -> bool:
    """Every article searchable and the group at the end of every topic it reads."""
    if count_indexed(es, settings.index_alias, ids) < len(ids):
        return False
    with KafkaOffsets(kafka_access(settings)) as kafka:
        committed = kafka.group_offsets(settings.app_id)
        for topic in topic_names(settings, read_only=True):
            offsets = kafka.topic_offsets(topic)
            if offsets is None or any(p.lag for p in group_lag(offsets, committed)):
                return False
    return True


def entity_sources(settings: Settings, count: int) -> dict[str, int]:
    """Articles tagged by spaCy and given their original's entities, summed over the workers."""
    totals = {"ner": 0, "reused": 0}
    for n in range(count):
        text = httpx.get(f"http://127.0.0.1:{settings.worker_web_port + n}/metrics").text
        for source in totals:
            found = re.search(
                rf'wirehose_entities_articles_total{{[^}}]*source="{source}"[^}}]*}} ([0-9.e+]+)',
                text,
            )
            totals[source] += int(float(found.group(1))) if found else 0
    return totals


@contextlib.contextmanager
def workers(settings: Settings, count: int, logs: Path) -> Iterator[list[Any]]:
    with contextlib.ExitStack() as stack:
        procs = []
        for n in range(count):
            own = settings.model_copy(update={"worker_web_port": settings.worker_web_port + n})
            procs.append(
                stack.enter_context(
                    worker_process(
                        own, log_path=logs / f"worker{n}.log", extra_env=FAST_REBALANCE_ENV
                    )
                )
            )
        yield procs


def wait_drained(
    settings: Settings, ids: set[str], es: Elasticsearch, procs: list[Any], logs: Path
) -> None:
    deadline = time.monotonic() + DEADLINE
    streak = 0
    while time.monotonic() < deadline:
        dead = [p for p in procs if p.poll() is not None]
        assert not dead, "a worker died:\n" + tails(logs)
        # Twice in a row, a commit interval apart: a re-mark may still be between two stages.
        streak = streak + 1 if drained(settings, ids, es) else 0
        if streak >= 2:
            return
        time.sleep(2.0)
    behind = stuck(settings, ids, es)
    stacks = stalls.capture(procs, logs, "contract-" + settings.app_id)
    raise AssertionError(
        f"the pipeline did not drain within {DEADLINE:.0f}s\n"
        + behind
        + "\n"
        + stacks
        + "\n"
        + tails(logs)
    )


def stuck(settings: Settings, ids: set[str], es: Elasticsearch) -> str:
    """What has not drained: articles not searchable, and each partition behind its end."""
    lines = [f"searchable {count_indexed(es, settings.index_alias, ids)} of {len(ids)}"]
    with KafkaOffsets(kafka_access(settings)) as kafka:
        committed = kafka.group_offsets(settings.app_id)
        for topic in topic_names(settings, read_only=True):
            offsets = kafka.topic_offsets(topic)
            lines.extend(
                f"behind topic={topic} {p}"
                for p in (group_lag(offsets, committed) if offsets else [])
                if p.lag
            )
    return "\n".join(lines)


def record(combination: str, **figures: Any) -> None:
    """Keep each combination's figures in bench/results/dedup-contract.json."""
    results = {}
    if RESULTS.exists():
        results = json.loads(RESULTS.read_text())
    results[combination] = figures
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(dict(sorted(results.items())), indent=2) + "\n")


def tails(logs: Path) -> str:
    return "\n".join(
        f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}" for p in sorted(logs.glob("*.log"))
    )


@pytest.mark.parametrize("mode", ["backlog", "paced"])
@pytest.mark.parametrize("worker_count", [1, 2])
@pytest.mark.parametrize("partitions", [1, 4, 8])
def test_indexed_marks_equal_the_reference_detector(
    partitions: int,
    worker_count: int,
    mode: str,
    corpus: list[Item],
    make_settings: Callable[..., Settings],
    es: Elasticsearch,
    tmp_path: Path,
) -> None:
    settings = make_settings(topic_partitions=partitions)
    create_topics(settings)
    deliveries = arrival(corpus, partitions)
    ids = {article.article_id for _, article in deliveries}
    expected = reference(settings, corpus)
    try:
        with contextlib.ExitStack() as running:
            if mode == "backlog":
                send(settings, deliveries)
            procs = running.enter_context(workers(settings, worker_count, tmp_path))
            if mode == "paced":
                send(settings, deliveries, pace=PACE_SECONDS)
            wait_drained(settings, ids, es, procs, tmp_path)
            tagged = entity_sources(settings, worker_count)
        found = indexed_marks(es, settings.index_alias)
    finally:
        cleanup(settings, es)
    assert set(found) == ids  # every article once, nothing else
    differing = {i: (found[i], expected[i]) for i in ids if found[i] != expected[i]}
    copies = sum(not mark[0] for mark in expected.values())
    record(
        f"{partitions}p-{worker_count}w-{mode}",
        articles=len(ids),
        copies=copies,
        canonicals=len(ids) - copies,
        groups=len({mark[1] for mark in expected.values() if mark[1]}),
        marks_differing=len(differing),
        re_marks=sum(
            p.read_text(errors="replace").count("re-marks id=") for p in tmp_path.glob("*.log")
        ),
        entities_reused=tagged["reused"],
        entities_ner=tagged["ner"],
    )
    assert not differing, (
        f"{len(differing)} of {len(ids)} marks differ from the reference "
        f"(indexed, reference): {differing}\n"
        f"logs kept in {stalls.keep(tmp_path, 'contract-marks-' + settings.app_id)}"
    )
    assert copies >= len(ids) // 5  # the archive exercises copies, not only originals


def cleanup(settings: Settings, es: Elasticsearch) -> None:
    """The broker and the node are shared: drop this test's topics and index."""
    from kafka.admin import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_servers)
    try:
        with contextlib.suppress(Exception):
            mine = [t for t in admin.list_topics() if settings.app_id in t]
            admin.delete_topics([*mine, settings.topic_raw, settings.topic_enriched])
    finally:
        admin.close()
    with contextlib.suppress(Exception):
        es.indices.delete(index=f"{settings.index_alias}-v*")


def test_the_reference_counts_every_kind_of_copy(corpus: list[Item]) -> None:
    """The archive is no easy case: late originals do re-point copies in the reference too."""
    detector = WireCopyDetector(lateness=timedelta(hours=72))
    supersede = 0
    for _, article in arrival(corpus, 1):
        supersede += bool(detector.classify(article).supersedes)
    assert supersede > 0
