"""Produce-to-alert latency at a paced load: how long after an article is handed to the
producer its story's alert is on the alerts topic.

A fresh worker (own topics, group and indices) runs with one saved alert that has no query, so
it fires for every new story. Articles are produced at ``rate`` (half the saturated throughput
in ``make bench``), each stamped with the moment it is handed over; the latency of a delivery
is the Kafka timestamp of its record (set when the decide stage sends it) minus that moment,
both from this machine's clock. Only ``new_story`` deliveries exist here, one per story: their
articles are the stories' first originals.
"""

from __future__ import annotations

import logging
import statistics
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kafka.structs import TopicPartition

from processors.alerts.messages import Delivery
from processors.topology import create_topics, topic_names
from producers.kafka import ArticleProducer
from producers.replay import Pacer
from sinks.alerts import AlertSpec, AlertStore
from wirehose.core.article import Article
from wirehose.core.clients import es_client, kafka_access, kafka_consumer
from wirehose.core.offsets import KafkaOffsets, group_lag
from wirehose.core.settings import Settings
from wirehose.ops.local import count_indexed, wait_indexed, worker_process
from wirehose.ops.services.runtime import free_port

log = logging.getLogger(__name__)

POLL_SECONDS = 0.5


@dataclass
class AlertRun:
    articles: int
    rate_asked: float | None
    latencies: list[float] = field(default_factory=list)

    def percentile(self, q: float) -> float | None:
        if len(self.latencies) < 2:
            return self.latencies[0] if self.latencies else None
        return statistics.quantiles(self.latencies, n=1000, method="inclusive")[round(q * 1000) - 1]

    def as_dict(self) -> dict[str, Any]:
        p50, p99 = self.percentile(0.5), self.percentile(0.99)
        return {
            "articles": self.articles,
            "rate_asked": round(self.rate_asked, 1) if self.rate_asked else None,
            "alerts": len(self.latencies),
            "latency_p50_s": round(p50, 3) if p50 is not None else None,
            "latency_p99_s": round(p99, 3) if p99 is not None else None,
            "latency_max_s": round(max(self.latencies), 3) if self.latencies else None,
        }


def _fresh(settings: Settings) -> Settings:
    tag = f"alerts-{uuid.uuid4().hex[:6]}"
    return settings.model_copy(
        update={
            "topic_raw": f"bench-raw-{tag}",
            "topic_enriched": f"bench-enriched-{tag}",
            "topic_dead_letter": f"bench-dlq-{tag}",
            "topic_alerts": f"bench-alerts-{tag}",
            "index_alias": f"bench-articles-{tag}",
            "app_id": f"bench-app-{tag}",
            "worker_web_port": free_port(),
            "log_level": "WARNING",
        }
    )


def run(
    settings: Settings,
    articles: Sequence[Article],
    *,
    rate: float | None,
    logs: Path,
    timeout: float = 7200.0,
) -> AlertRun:
    """Replay ``articles`` at ``rate``/s through a fresh worker that alerts on every story."""
    settings = _fresh(settings)
    create_topics(settings)
    es = es_client(settings, request_timeout=60)
    ids = {a.article_id for a in articles}
    warm = Article.create(
        title="Warm-up", body=f"Warm-up article {uuid.uuid4().hex}.", producer="bench"
    )
    try:
        AlertStore(es, settings.alerts_index_name, settings.index_alias).add(
            AlertSpec("every-story")
        )
        with worker_process(settings, log_path=logs / "worker-alerts.log") as worker:
            _send(settings, [warm], rate=None)
            if wait_indexed(es, settings.index_alias, {warm.article_id}, timeout=600) < 1:
                raise RuntimeError("the alerts worker never indexed its warm-up article")
            sent_at = _send(settings, articles, rate=rate)
            deadline = time.monotonic() + timeout
            while count_indexed(es, settings.index_alias, ids) < len(ids) or not _drained(settings):
                if time.monotonic() > deadline or worker.poll() is not None:
                    raise RuntimeError(f"alerts run: the pipeline did not drain; see {logs}")
                time.sleep(POLL_SECONDS)
        latencies = [
            stamp - sent_at[delivery.article["article_id"]]
            for stamp, delivery in _deliveries(settings)
            if delivery.article["article_id"] in sent_at
        ]
        return AlertRun(len(articles), rate, latencies)
    finally:
        es.options(ignore_status=404).indices.delete(index=settings.alerts_index_name)
        es.close()


def _send(
    settings: Settings, articles: Sequence[Article], *, rate: float | None
) -> dict[str, float]:
    """Produce ``articles``; the Unix time each was handed over, by article id."""
    pacer = Pacer(rate)
    sent_at: dict[str, float] = {}
    with ArticleProducer(kafka_access(settings), settings.topic_raw) as producer:
        for article in articles:
            pacer.wait()
            now = time.time()
            sent_at[article.article_id] = now
            producer.send(
                article.model_copy(update={"fetched_at": datetime.fromtimestamp(now, UTC)})
            )
        report = producer.flush()
    if report.failed:
        raise RuntimeError(f"alerts run: sends failed: {report.summary()}")
    return sent_at


def _drained(settings: Settings) -> bool:
    """The worker's group at the end of every topic it reads (the alert matches included)."""
    with KafkaOffsets(kafka_access(settings)) as kafka:
        committed = kafka.group_offsets(settings.app_id)
        for topic in topic_names(settings, read_only=True):
            offsets = kafka.topic_offsets(topic)
            if offsets is None or any(p.lag for p in group_lag(offsets, committed)):
                return False
    return True


def _deliveries(settings: Settings) -> list[tuple[float, Delivery]]:
    """Every record of the alerts topic: its Kafka timestamp (seconds) and the delivery."""
    consumer = kafka_consumer(kafka_access(settings), enable_auto_commit=False)
    try:
        partitions = consumer.partitions_for_topic(settings.topic_alerts) or set()
        tps = [TopicPartition(settings.topic_alerts, p) for p in sorted(partitions)]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        end = consumer.end_offsets(tps)
        found: list[tuple[float, Delivery]] = []
        while any(consumer.position(tp) < end[tp] for tp in tps):
            for records in consumer.poll(timeout_ms=1000).values():
                found.extend(
                    (record.timestamp / 1000, Delivery.from_bytes(record.value))
                    for record in records
                )
        return found
    finally:
        consumer.close()
