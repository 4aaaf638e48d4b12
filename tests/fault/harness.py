"""What every fault test does: send a corpus, disturb something, and count what reached the index.

Counting is by article id: ``indexed`` (how many of the sent ids are in the index), ``extra``
(documents in the index that were never sent), ``doubled`` (ids with more than one document in
any of the indices behind the alias: every generation is searched, so a document written to a
second index is caught too) and ``enriched_doubled`` (ids with more than one article record on
the enriched topic: where at-least-once delivery shows, and what the sink must absorb). Marks
are the dedup decisions per id, which a disturbed run must give as the reference detector does.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from elasticsearch import Elasticsearch, NotFoundError
from kafka import KafkaConsumer

from processors.pipeline import is_remark
from producers.kafka import ArticleProducer
from wirehose.core.article import Article
from wirehose.core.clients import kafka_access
from wirehose.core.deadletter import DeadLetter
from wirehose.core.settings import Settings
from wirehose.ops.local import count_indexed, worker_process

# Faust reads these from the environment. A SIGKILLed member leaves its consumer group only when
# its session times out; 10 s instead of Faust's 60 s keeps each kill from stalling a minute.
FAST_REBALANCE_ENV = {"BROKER_SESSION_TIMEOUT": "10", "BROKER_HEARTBEAT_INTERVAL": "1"}
INDEX_TIMEOUT = 480.0  # a deadline, not an assertion on speed: CI machines are slow

Mark = tuple[bool, str | None]


@dataclass
class Figures:
    """One fault scenario's outcome, as reported in bench/results/fault-summary.json."""

    scenario: str
    sent: int
    indexed: int = 0
    doubled: int = 0
    extra: int = 0
    dead_lettered: int = 0
    enriched_doubled: int = 0
    notes: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def outcome(self) -> tuple[int, int, int, int]:
        """(indexed, doubled, extra, dead-lettered): exactly once is ``(n, 0, 0, 0)``."""
        return (self.indexed, self.doubled, self.extra, self.dead_lettered)


def prepare(settings: Settings) -> None:
    """Every topic of the topology, before any worker starts (as `wirehose worker` does)."""
    from processors.topology import create_topics

    create_topics(settings)


def send_all(settings: Settings, articles: Sequence[Article], **producer: Any) -> tuple[int, int]:
    """Send and confirm every article; (sent, failed) as the broker confirmed them."""
    with ArticleProducer(kafka_access(settings), settings.topic_raw, **producer) as out:
        for article in articles:
            out.send(article)
        report = out.flush()
    return report.sent, report.failed


@contextmanager
def worker(
    settings: Settings, log: Path, *, extra_env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """A real ``wirehose worker`` child with fast rebalancing; stopped cleanly on exit."""
    env = {**FAST_REBALANCE_ENV, **(extra_env or {})}
    with worker_process(settings, log_path=log, extra_env=env) as process:
        yield process


def wait_for(
    predicate: Callable[[], bool], timeout: float, *, interval: float = 0.5, what: str = ""
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what or predicate}")


def wait_all_indexed(
    es: Elasticsearch, settings: Settings, ids: set[str], *, timeout: float = INDEX_TIMEOUT
) -> int:
    """Wait until every id is searchable (or the timeout); return how many are."""
    deadline = time.monotonic() + timeout
    found = 0
    while time.monotonic() < deadline:
        found = count_indexed(es, settings.index_alias, ids)
        if found >= len(ids):
            break
        time.sleep(1.0)
    return found


def index_ids(es: Elasticsearch, settings: Settings) -> Counter[str]:
    """Every document id in every index behind the alias (all generations), with how often
    it occurs."""
    every = f"{settings.index_alias}-v*"
    try:
        es.indices.refresh(index=every)
    except NotFoundError:
        return Counter()
    ids: Counter[str] = Counter()
    search_after: list[Any] | None = None
    while True:
        page = es.search(
            index=every,
            size=5000,
            source=False,
            sort=[{"article_id": "asc"}],
            search_after=search_after,
            query={"match_all": {}},
        )["hits"]["hits"]
        if not page:
            return ids
        ids.update(hit["_id"] for hit in page)
        search_after = page[-1]["sort"]


def marks(es: Elasticsearch, settings: Settings) -> dict[str, Mark]:
    """Dedup decision per indexed article: (is_canonical, duplicate_of)."""
    es.indices.refresh(index=settings.index_alias)
    out: dict[str, Mark] = {}
    search_after: list[Any] | None = None
    while True:
        page = es.search(
            index=settings.index_alias,
            size=5000,
            source_includes=["is_canonical", "duplicate_of"],
            sort=[{"article_id": "asc"}],
            search_after=search_after,
        )["hits"]["hits"]
        if not page:
            return out
        for hit in page:
            out[hit["_id"]] = (bool(hit["_source"]["is_canonical"]), hit["_source"]["duplicate_of"])
        search_after = page[-1]["sort"]


def read_topic(settings: Settings, topic: str, *, idle_ms: int) -> list[Any]:
    """Every record on ``topic`` so far (reads until idle for ``idle_ms``)."""
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=settings.kafka_servers,
        auto_offset_reset="earliest",
        consumer_timeout_ms=idle_ms,
        group_id=None,
        fetch_max_bytes=64 * 1024 * 1024,
        max_partition_fetch_bytes=64 * 1024 * 1024,
    )
    try:
        return list(consumer)
    finally:
        consumer.close()


def enriched_records(settings: Settings, *, idle_ms: int = 3000) -> Counter[str]:
    """Article records per id on the enriched topic (dedup re-marks are not articles)."""
    return Counter(
        message.key.decode()
        for message in read_topic(settings, settings.topic_enriched, idle_ms=idle_ms)
        if message.key and not is_remark(message.headers)
    )


def dead_letters(settings: Settings, *, idle_ms: int = 5000) -> list[DeadLetter]:
    """Everything on the dead-letter topic so far (reads until idle)."""
    records = read_topic(settings, settings.topic_dead_letter, idle_ms=idle_ms)
    return [DeadLetter.from_bytes(message.value) for message in records]


def tally(
    es: Elasticsearch, settings: Settings, scenario: str, sent: Sequence[Article], **notes: Any
) -> Figures:
    """Count what the index holds against what was sent."""
    wanted = {article.article_id for article in sent}
    present = index_ids(es, settings)
    return Figures(
        scenario=scenario,
        sent=len(sent),
        indexed=len(wanted & set(present)),
        doubled=sum(1 for count in present.values() if count > 1),
        enriched_doubled=sum(1 for n in enriched_records(settings).values() if n > 1),
        extra=len(set(present) - wanted),
        dead_lettered=len(dead_letters(settings, idle_ms=3000)),
        notes=notes,
    )


def log_tail(path: Path, chars: int = 4000) -> str:
    try:
        return path.read_text(errors="replace")[-chars:]
    except OSError:
        return ""


def write_summary(path: Path, figures: Sequence[Figures]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps([f.as_dict() for f in figures], indent=2) + "\n")
