"""The Faust application: thin agents around the plain pipeline and sink.

Topology::

    producers ──> {topic_raw} ──[enrich]──> {topic_enriched} ──[index]──> Elasticsearch
                         │                                          │
                         └──── rejected records ──> {topic_dead_letter} <── rejected documents

Delivery guarantees. Agents run with concurrency 1 and take batches with ``noack_take``: a
batch's offsets are acknowledged only after its results are published (``enrich``) or
Elasticsearch has acknowledged every document (``index``). Faust flushes its producer before
it commits offsets, so a crash anywhere replays the unacknowledged tail, never skips it; the
sink writes each article under its deterministic ``article_id``, so a replay overwrites rather
than doubles. Concurrency stays 1 on purpose: with more, Faust can commit past an offset that
another concurrent task has not acknowledged yet (faust-streaming issue 606).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any, cast

import faust

from processors.pipeline import EnrichmentPipeline, RawRecord, Stamp, Step, Validate
from wirehose.article import Article
from wirehose.deadletter import DeadLetter
from wirehose.errors import DropArticle
from wirehose.settings import Settings

log = logging.getLogger(__name__)

ENRICH_BATCH = 64
ENRICH_WITHIN_SECONDS = 0.5


def build_steps(settings: Settings) -> list[Step]:
    """The enrichment steps in order. Heavy ones import lazily so `--help` stays fast."""
    from processors.entities import EntityTagger

    return [EntityTagger(settings.spacy_model, max_chars=settings.max_body_chars), Stamp()]


def create_app(
    settings: Settings,
    *,
    steps_factory: Callable[[Settings], Sequence[Step]] = build_steps,
) -> faust.App:
    datadir = settings.home / "faust" / settings.app_id
    datadir.parent.mkdir(parents=True, exist_ok=True)
    app = faust.App(
        settings.app_id,
        broker=[f"kafka://{server}" for server in settings.kafka_servers.split(",")],
        store="memory://",
        value_serializer="raw",
        key_serializer="raw",
        topic_partitions=settings.topic_partitions,
        topic_replication_factor=1,
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
        web_enabled=True,
        web_host=settings.worker_web_host,
        web_port=settings.worker_web_port,
        web_in_thread=False,
        datadir=str(datadir),
        broker_commit_interval=1.0,
    )
    raw = app.topic(settings.topic_raw, key_type=bytes, value_type=bytes)
    enriched = app.topic(settings.topic_enriched, key_type=bytes, value_type=bytes)
    dead_letters = app.topic(settings.topic_dead_letter, key_type=bytes, value_type=bytes)
    pipeline_holder: dict[str, EnrichmentPipeline] = {}

    def pipeline() -> EnrichmentPipeline:
        # Built on first use, inside the worker, so spaCy loads once per process and only there.
        if "p" not in pipeline_holder:
            pipeline_holder["p"] = EnrichmentPipeline(
                Validate(settings.max_body_chars), steps_factory(settings)
            )
        return pipeline_holder["p"]

    async def publish_dead(letters: Sequence[DeadLetter]) -> None:
        for letter in letters:
            key = (letter.article_id or letter.key or "").encode() or None
            await dead_letters.send(key=key, value=letter.to_bytes())

    @app.agent(raw, concurrency=1)
    async def enrich(stream: faust.StreamT[Any]) -> None:
        loop = asyncio.get_running_loop()
        async for events in _batches(stream, ENRICH_BATCH, ENRICH_WITHIN_SECONDS):
            records = [_record(event) for event in events]
            # NER is CPU-bound: run it off the event loop so heartbeats and fetches keep going.
            result = await loop.run_in_executor(None, pipeline().run, records)
            for article in result.articles:
                await enriched.send(key=article.article_id.encode(), value=article.to_bytes())
            await publish_dead(result.dead_letters)
            for event in events:
                await stream.ack(event)

    @app.agent(enriched, concurrency=1)
    async def index(stream: faust.StreamT[Any]) -> None:
        from sinks.elasticsearch import ElasticsearchSink

        loop = asyncio.get_running_loop()
        sink = ElasticsearchSink(settings)
        await loop.run_in_executor(None, sink.setup)
        async for events in _batches(stream, settings.sink_batch_size, settings.sink_flush_seconds):
            letters: list[DeadLetter] = []
            for event in events:
                record = _record(event)
                try:
                    sink.add(Article.from_bytes(record.value), offset=record.offset)
                except DropArticle as drop:
                    letters.append(
                        DeadLetter.from_drop(
                            drop,
                            step=sink.step_id,
                            original=record.value,
                            topic=record.topic,
                            partition=record.partition,
                            offset=record.offset,
                            key=record.key,
                        )
                    )
            # flush() returns only when every document is indexed or dead-lettered.
            letters.extend(await loop.run_in_executor(None, sink.flush))
            await publish_dead(letters)
            for event in events:
                await stream.ack(event)

    return app


def _batches(stream: faust.StreamT[Any], size: int, within: float) -> AsyncIterator[Sequence[Any]]:
    """Batches of events that stay unacknowledged until the agent acks them itself."""
    # noack_take is on the concrete Stream only; the StreamT protocol Faust types agents with lacks it.
    concrete = cast(faust.Stream, stream)
    return cast(AsyncIterator[Sequence[Any]], concrete.noack_take(size, within=within))


def _record(event: Any) -> RawRecord:
    message = event.message
    return RawRecord(
        value=message.value,
        key=message.key,
        topic=message.topic,
        partition=message.partition,
        offset=message.offset,
    )
