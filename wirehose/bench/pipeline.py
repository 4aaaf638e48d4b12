"""The whole pipeline with a real worker: saturated throughput, and latency at a paced load.

Throughput is first produce to last document searchable (polled with ``count_indexed``, which
refreshes the index first, so "searchable" is exact to the polling interval).

Latency per article is the document's ``indexed_at`` (stamped by the sink as it buffers the
document, a flush of at most ``WIREHOSE_SINK_FLUSH_SECONDS`` before Elasticsearch acknowledges
it) minus its ``fetched_at``, which this module sets to the moment it hands the article to the
producer. Both come from this machine's clock, so no clock skew enters. A fresh worker (own
topics, group and index) runs each measurement, warmed up with one article first so that model
loading and the first rebalance are not counted.

A *backlog* run is what a user replaying an archive creates: every article is in the raw topic
before the workers start, and the clock starts with them (model loading included). It reports
the time to the first searchable article, and, from the workers' own ``/metrics``, the share of
wall time their NER processes were busy (``wirehose_stage_busy_seconds_total{step="entities"}``
over the wall time and the number of NER processes): below 1, NER waited for input.
"""

from __future__ import annotations

import contextlib
import logging
import statistics
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from elasticsearch import NotFoundError

from processors.topology import TABLES, TOPICS, create_topics
from producers.kafka import ArticleProducer
from producers.replay import Pacer
from wirehose.core.article import Article
from wirehose.core.clients import es_client, kafka_access
from wirehose.core.metrics import STEP_ENTITIES
from wirehose.core.offsets import KafkaOffsets
from wirehose.core.settings import Settings
from wirehose.ops.local import count_indexed, wait_indexed, worker_process
from wirehose.ops.services.runtime import free_port
from wirehose.ops.status_sources import fetch_worker_metrics

log = logging.getLogger(__name__)

POLL_SECONDS = 0.25


@dataclass
class PipelineRun:
    articles: int
    seconds: float
    rate_asked: float | None
    latencies: list[float] = field(default_factory=list)
    topic_bytes: dict[str, int] = field(default_factory=dict)  # by topology role
    first_searchable: float | None = None  # seconds from the start to the first article
    ner_busy_share: float | None = None
    workers: int = 1
    ner_processes: int = 1
    backlog: bool = False

    @property
    def rate(self) -> float:
        return self.articles / self.seconds if self.seconds > 0 else float("inf")

    def percentile(self, q: float) -> float | None:
        if len(self.latencies) < 2:
            return self.latencies[0] if self.latencies else None
        return statistics.quantiles(self.latencies, n=1000, method="inclusive")[round(q * 1000) - 1]

    def as_dict(self) -> dict[str, Any]:
        p50, p99 = self.percentile(0.5), self.percentile(0.99)
        return {
            "articles": self.articles,
            "seconds": round(self.seconds, 2),
            "articles_per_s": round(self.rate, 1),
            "rate_asked": round(self.rate_asked, 1) if self.rate_asked else None,
            "latency_p50_s": round(p50, 3) if p50 is not None else None,
            "latency_p99_s": round(p99, 3) if p99 is not None else None,
            "latency_max_s": round(max(self.latencies), 3) if self.latencies else None,
            "topic_bytes": dict(self.topic_bytes),
            "internal_bytes_per_raw_byte": self.internal_per_raw(),
            "first_searchable_s": (
                round(self.first_searchable, 1) if self.first_searchable is not None else None
            ),
            "ner_busy_share": (
                round(self.ner_busy_share, 3) if self.ner_busy_share is not None else None
            ),
            "workers": self.workers,
            "ner_processes": self.ner_processes,
            "backlog": self.backlog,
        }

    def internal_per_raw(self) -> float | None:
        """Bytes the worker's own topics and changelogs hold per byte of the raw topic (the
        enriched output and dead letters are the product, not overhead, and not counted)."""
        raw = self.topic_bytes.get("raw")
        if not raw:
            return None
        internal = sum(
            size
            for role, size in self.topic_bytes.items()
            if role not in ("raw", "enriched", "dead-letters")
        )
        return round(internal / raw, 2)


def _fresh(settings: Settings, label: str) -> Settings:

    tag = f"{label}-{uuid.uuid4().hex[:6]}"
    return settings.model_copy(
        update={
            "topic_raw": f"bench-raw-{tag}",
            "topic_enriched": f"bench-enriched-{tag}",
            "topic_dead_letter": f"bench-dlq-{tag}",
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
    label: str,
    logs: Path,
    timeout: float = 7200.0,
    backlog: bool = False,
    workers: int = 1,
) -> PipelineRun:
    """Replay ``articles`` (at ``rate``/s, or as fast as possible) through fresh workers; with
    ``backlog``, write them all before the workers start."""

    settings = _fresh(settings, label)
    create_topics(settings)
    es = es_client(settings, request_timeout=60)
    ids = {a.article_id for a in articles}
    warm = Article.create(
        title="Warm-up", body=f"Warm-up article {uuid.uuid4().hex}.", producer="bench"
    )
    ports = [settings.worker_web_port, *(free_port() for _ in range(workers - 1))]
    try:
        with contextlib.ExitStack() as running:
            if backlog:
                _produce(settings, [warm, *articles], label, rate=None)
            start = time.perf_counter()
            procs = [
                running.enter_context(
                    worker_process(
                        settings.model_copy(update={"worker_web_port": port}),
                        log_path=logs / f"worker-{label}-{n}.log",
                    )
                )
                for n, port in enumerate(ports)
            ]
            if not backlog:
                _produce(settings, [warm], label, rate=None)
                if wait_indexed(es, settings.index_alias, {warm.article_id}, timeout=600) < 1:
                    raise RuntimeError(f"the {label} worker never indexed its warm-up article")
                start = time.perf_counter()
            busy_before = _ner_busy(ports)
            if not backlog:
                _produce(settings, articles, label, rate=rate)
            deadline = start + timeout
            first: float | None = None
            # The index is this run's own: its whole count (ids plus the warm-up article) is a
            # cheap poll, where checking 100k ids every quarter second cost the measured machine
            # a sixth of a core. The ids are checked exactly once the count says done.
            expected = len(ids) + 1
            while (found := _searchable(es, settings.index_alias)) < expected or (
                count_indexed(es, settings.index_alias, ids) < len(ids)
            ):
                if first is None and found > (0 if backlog else 1):
                    first = time.perf_counter() - start
                if time.perf_counter() > deadline or any(p.poll() is not None for p in procs):
                    raise RuntimeError(f"{label}: not everything was indexed; see {logs}")
                time.sleep(POLL_SECONDS)
            seconds = time.perf_counter() - start
            busy = _ner_busy(ports) - busy_before
        return PipelineRun(
            len(articles),
            seconds,
            rate,
            _latencies(es, settings.index_alias, ids),
            topic_bytes=_topic_bytes(settings),
            first_searchable=first if first is not None else seconds,
            ner_busy_share=busy / (seconds * settings.ner_processes * workers),
            workers=workers,
            ner_processes=settings.ner_processes,
            backlog=backlog,
        )
    finally:
        es.close()


def _produce(
    settings: Settings, articles: Sequence[Article], label: str, *, rate: float | None
) -> None:
    """Send ``articles`` to the raw topic, each stamped with the moment it is handed over."""
    pacer = Pacer(rate)
    with ArticleProducer(kafka_access(settings), settings.topic_raw) as producer:
        for article in articles:
            pacer.wait()
            producer.send(article.model_copy(update={"fetched_at": datetime.now(UTC)}))
        report = producer.flush()
    if report.failed:
        raise RuntimeError(f"{label}: sends failed: {report.summary()}")


def _ner_busy(ports: Sequence[int]) -> float:
    """Seconds the workers' NER processes have been busy so far, summed (0 before a worker
    answers: its counter starts at 0 with it)."""
    key = f'wirehose_stage_busy_seconds_total{{step="{STEP_ENTITIES}"}}'
    total = 0.0
    for port in ports:
        found = fetch_worker_metrics(f"http://127.0.0.1:{port}")
        total += (found or {}).get(key, 0.0)
    return total


def _topic_bytes(settings: Settings) -> dict[str, int]:
    """Bytes each of this run's topics and changelogs holds, by topology role (``raw``,
    ``dedup-bands``, ``dedup-entries-changelog``, ...)."""
    roles = {spec.name(settings): spec.role for spec in TOPICS}
    roles.update({spec.changelog(settings): f"{spec.name}-changelog" for spec in TABLES})
    with KafkaOffsets(kafka_access(settings)) as offsets:
        sizes = offsets.topic_bytes(roles)
    return {roles[name]: size for name, size in sorted(sizes.items())}


def _searchable(es: Any, alias: str) -> int:
    """Documents searchable in ``alias`` now (a refresh first, so the answer is exact); 0 until
    the worker has created the index (a backlog run starts polling before it does)."""
    try:
        es.indices.refresh(index=alias)
        return int(es.count(index=alias)["count"])
    except NotFoundError:
        return 0


def _latencies(es: Any, alias: str, ids: set[str]) -> list[float]:
    """``indexed_at - fetched_at`` in seconds for every benchmark document."""
    out: list[float] = []
    search_after: list[Any] | None = None
    while True:
        hits = es.search(
            index=alias,
            size=5000,
            source_includes=["fetched_at", "indexed_at"],
            sort=[{"article_id": "asc"}],
            search_after=search_after,
        )["hits"]["hits"]
        if not hits:
            return out
        for hit in hits:
            if hit["_id"] in ids:
                src = hit["_source"]
                delta = datetime.fromisoformat(src["indexed_at"]) - datetime.fromisoformat(
                    src["fetched_at"]
                )
                out.append(delta.total_seconds())
        search_after = hits[-1]["sort"]
