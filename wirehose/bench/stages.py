"""Each stage alone, on the same articles: produce, dedup, NER, Elasticsearch bulk.

A stand-alone number is the ceiling a stage could reach if nothing else ran; the whole
pipeline can only be as fast as the slowest of them, so the ratio of the pipeline to that
slowest stage says how much the plumbing (Kafka hops, Faust, serialisation) costs.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from processors.dedup.detector import WireCopyDetector
from processors.entities.tagger import EntityTagger
from processors.entities.tagging import CopyAwareTagger
from processors.pipeline import Stamp
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
    first; then, if ``worker_way``, tagging as the worker does it (``CopyAwareTagger`` over
    dedup-marked articles, in the worker's batches), which runs NER only for non-copies."""

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
    copy_aware = CopyAwareTagger(tagger)
    start = time.perf_counter()
    size = settings.batch_size
    for i in range(0, len(marked), size):
        copy_aware.process_batch(list(marked[i : i + size]))
    seconds = time.perf_counter() - start
    as_worker_does = StageResult(
        "tagging as the worker does (NER for non-copies)",
        len(marked),
        seconds,
        {"ner_runs": copy_aware.counts["ner"], "reused": copy_aware.counts["reused"]},
    )
    return alone, as_worker_does, tagged


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
