"""Each stage alone, on the same articles: produce, dedup, NER, Elasticsearch bulk.

A stand-alone number is the ceiling a stage could reach if nothing else ran; the whole
pipeline can only be as fast as the slowest of them, so the ratio of the pipeline to that
slowest stage says how much the plumbing (Kafka hops, Faust, serialisation) costs.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from processors.dedup.detector import WireCopyDetector
from processors.entities.tagger import EntityTagger
from processors.pipeline import RawRecord, Stamp
from processors.worker.app import build_steps
from processors.worker.tag_runner import TagRunner
from producers.kafka import ArticleProducer
from sinks.elasticsearch import ElasticsearchSink
from wirehose.core.article import Article
from wirehose.core.clients import ensure_topics, es_client, kafka_access
from wirehose.core.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class StageResult:
    """``articles`` handled in ``seconds`` of wall time (one run, 2-core machine)."""

    name: str
    articles: int
    seconds: float
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.articles / self.seconds if self.seconds > 0 else float("inf")

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "articles": self.articles,
            "seconds": round(self.seconds, 3),
            "articles_per_s": round(self.rate, 1),
            **self.extra,
        }


def produce(settings: Settings, articles: Sequence[Article], topic: str) -> StageResult:
    """kafka-python through ``ArticleProducer``: first send to the last confirmed ack."""

    access = kafka_access(settings)
    ensure_topics(access, [topic], partitions=settings.topic_partitions)
    with ArticleProducer(access, topic) as producer:
        start = time.perf_counter()
        for article in articles:
            producer.send(article)
        report = producer.flush()
        seconds = time.perf_counter() - start
    if report.failed:
        raise RuntimeError(f"produce benchmark lost sends: {report.summary()}")
    size = sum(len(article.to_bytes()) for article in articles)
    return StageResult("produce (kafka-python)", len(articles), seconds, {"bytes": size})


def dedup(settings: Settings, articles: Sequence[Article]) -> tuple[StageResult, list[Article]]:
    """``WireCopyDetector`` in one process, articles in publishing order; returns marked copies."""

    detector = WireCopyDetector.from_settings(settings)
    start = time.perf_counter()
    marked = [detector.process(article) for article in articles]
    seconds = time.perf_counter() - start
    copies = sum(1 for a in marked if a.dedup is not None and not a.dedup.is_canonical)
    return StageResult(
        "dedup (WireCopyDetector)", len(articles), seconds, {"copies": copies}
    ), marked


def ner(
    settings: Settings,
    articles: Sequence[Article],
    marked: Sequence[Article],
    *,
    worker_way: bool = True,
) -> tuple[StageResult, StageResult | None, list[Article]]:
    """spaCy NER alone through ``EntityTagger.process_batch`` (``nlp.pipe``), model loaded
    first; then, if ``worker_way``, the tag stage alone as the worker runs it
    (``_tag_like_the_worker``) over the dedup-marked articles: NER only for non-copies."""

    tagger = EntityTagger(settings.spacy_model, max_chars=settings.max_body_chars)
    tagger.process_batch(list(articles[:8]))  # first-call warm-up is not throughput
    start = time.perf_counter()
    tagged: list[Article] = []
    for i in range(0, len(articles), 256):
        tagged.extend(tagger.process_batch(list(articles[i : i + 256])))
    seconds = time.perf_counter() - start
    words = sum(len(a.text.split()) for a in articles)
    alone = StageResult(
        f"NER alone ({settings.spacy_model}, nlp.pipe)",
        len(articles),
        seconds,
        {"entities": sum(len(a.entities) for a in tagged), "words_per_s": round(words / seconds)},
    )
    if not worker_way:
        return alone, None, tagged
    size = settings.batch_size
    batches = [list(marked[i : i + size]) for i in range(0, len(marked), size)]
    seconds, counts = asyncio.run(_tag_like_the_worker(settings, batches))
    processes = settings.ner_processes
    as_worker_does = StageResult(
        f"tag stage alone, as the worker runs it ({processes} NER process"
        f"{'es' if processes > 1 else ''}; NER for non-copies)",
        len(marked),
        seconds,
        {
            "ner_runs": counts["ner"],
            "reused": counts["reused"],
            "skipped": counts["skipped"],
            "processes": processes,
        },
    )
    return alone, as_worker_does, tagged


async def _tag_like_the_worker(
    settings: Settings, batches: list[list[Article]]
) -> tuple[float, Counter[str]]:
    """The worker's tag stage without Kafka: its steps (language, entities, stamp) in its
    ``TagRunner``, ``ner_processes`` children, the worker's batches as wire bytes, as many
    batches in flight as the agent keeps (one per child, and one more waiting). Timed once
    every child has loaded its model, as the pipeline runs are timed after their warm-up."""
    runner = TagRunner(settings, build_steps, subprocess=True)
    processes = settings.ner_processes
    try:
        warm = [make_records(batch[:4]) for batch in batches[: processes * 2]]
        await asyncio.gather(*(runner.run(records) for records in warm))
        in_flight = asyncio.Semaphore(processes + 1)
        counts: Counter[str] = Counter()

        async def one(batch: list[Article]) -> None:
            async with in_flight:
                counts.update((await runner.run(make_records(batch))).counts)

        start = time.perf_counter()
        await asyncio.gather(*(one(batch) for batch in batches))
        return time.perf_counter() - start, counts
    finally:
        runner.close()


def make_records(articles: Sequence[Article]) -> list[RawRecord]:
    return [
        RawRecord(value=a.to_bytes(), key=a.article_id.encode(), offset=n)
        for n, a in enumerate(articles)
    ]


def es_bulk(settings: Settings, articles: Sequence[Article]) -> StageResult:
    """The project's ``ElasticsearchSink`` (bulk, external versions) into a fresh index, until
    everything is searchable (a refresh at the end)."""

    stamp = Stamp()
    ready = [stamp.process(article) for article in articles]
    sink = ElasticsearchSink(settings)
    sink.setup()
    start = time.perf_counter()
    rejected = 0
    for article in ready:
        sink.add(article)
        if sink.full:
            rejected += len(sink.flush())
    rejected += len(sink.flush())
    client = es_client(settings, request_timeout=60)
    try:
        client.indices.refresh(index=settings.index_alias)
        count = int(client.count(index=settings.index_alias)["count"])
    finally:
        client.close()
    seconds = time.perf_counter() - start
    if count != len(ready) or rejected:
        raise RuntimeError(f"bulk benchmark indexed {count} of {len(ready)}, rejected {rejected}")
    return StageResult(
        "Elasticsearch bulk (sink)", len(ready), seconds, {"batch": settings.sink_batch_size}
    )
