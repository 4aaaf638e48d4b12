"""The Faust application: thin agents around plain classes, wired into one topology.

::

    {topic_raw} ─[validate]─> {app}-articles ─[dedup: sign → band → decide]─> {app}-deduped
        │                                      (processors.dedup_agents)            │
        │                                                                       [tag] spaCy NER,
        ▼                                                                             │  reused for copies
    {topic_dead_letter} <── rejected records / documents                               ▼
        ▲                                              {app}-stories (1 partition) ─[stories]
        │                                                                             │
        └──────────────── [index] <── {topic_enriched} <──────────────────────────────┘
                            │
                            ▼ bulk, _id = article_id
                      Elasticsearch alias {index_alias}

Delivery guarantees. Every agent runs with concurrency 1; batch agents take batches with
``noack_take`` and acknowledge them only after their results are published (``validate``,
``tag``) or Elasticsearch has acknowledged every document (``index``); one-at-a-time agents
(dedup, stories) are acknowledged by Faust after each event is handled. Faust flushes its
producer before it commits offsets, so a crash anywhere replays the unacknowledged tail, never
skips it; every stage is keyed and idempotent by ``article_id``, and the sink writes under it,
so a replay overwrites rather than doubles. Concurrency stays 1 on purpose: with more, Faust
can commit past an offset that another concurrent task has not acknowledged (faust-streaming
issue 606).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any, cast

import faust

from processors.health import install_health
from processors.instrument import ObservedSink
from processors.pipeline import EnrichmentPipeline, RawRecord, Stamp, Step, Validate
from wirehose import metrics
from wirehose.article import Article
from wirehose.deadletter import DeadLetter
from wirehose.errors import DropArticle
from wirehose.settings import Settings

log = logging.getLogger(__name__)

ENRICH_BATCH = 64
ENRICH_WITHIN_SECONDS = 0.5


def build_steps(settings: Settings) -> list[Step]:
    """The tagging steps, in order. spaCy imports lazily so `--help` stays fast."""
    from processors.entities import EntityTagger
    from processors.tagging import CopyAwareTagger

    tagger = EntityTagger(settings.spacy_model, max_chars=settings.max_body_chars)
    return [CopyAwareTagger(tagger), Stamp()]


def required_topics(settings: Settings) -> dict[str, int]:
    """Every topic the worker reads or writes, with its partition count.

    Create them before a worker starts (``ensure_topics``): a topic Faust declares itself can
    be missing from the group's first assignment when several workers start at once, and then
    nobody consumes it. Table changelogs are Faust's own and are left to it.
    """
    from processors.dedup_agents import internal_topics

    partitions = settings.topic_partitions
    topics = {
        settings.topic_raw: partitions,
        settings.topic_enriched: partitions,
        settings.topic_dead_letter: partitions,
        f"{settings.app_id}-articles": partitions,
        f"{settings.app_id}-deduped": partitions,
        f"{settings.app_id}-stories": 1,
    }
    topics.update(dict.fromkeys(internal_topics(settings), partitions))
    return topics


def create_topics(settings: Settings) -> None:
    from producers.kafka import ensure_topics

    by_count: dict[int, list[str]] = {}
    for name, count in required_topics(settings).items():
        by_count.setdefault(count, []).append(name)
    for count, names in sorted(by_count.items()):
        ensure_topics(settings.kafka_servers, names, partitions=count)


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
    articles = _internal(app, settings, "articles")
    deduped = _internal(app, settings, "deduped")
    validate = Validate(settings.max_body_chars)
    tagging_holder: dict[str, EnrichmentPipeline] = {}

    def tagging() -> EnrichmentPipeline:
        # Built on first use, inside the worker, so spaCy loads once per process and only there.
        if "p" not in tagging_holder:
            tagging_holder["p"] = EnrichmentPipeline(validate, steps_factory(settings))
        return tagging_holder["p"]

    async def publish_dead(letters: Sequence[DeadLetter]) -> None:
        metrics.observe_dead_letters(letters)
        for letter in letters:
            key = (letter.article_id or letter.key or "").encode() or None
            await dead_letters.send(key=key, value=letter.to_bytes())

    @app.agent(raw, name="validate", concurrency=1)
    async def validate_agent(stream: faust.StreamT[Any]) -> None:
        # Bad input is dead-lettered here, at the door, with the offset it had on the raw topic.
        pipeline = EnrichmentPipeline(validate, [])
        async for events in _batches(stream, ENRICH_BATCH, ENRICH_WITHIN_SECONDS):
            result = pipeline.run([_record(event) for event in events])
            metrics.observe_enrich(metrics.STEP_VALIDATE, len(events), result.articles)
            for article in result.articles:
                await articles.send(key=article.article_id.encode(), value=article.to_bytes())
            await publish_dead(result.dead_letters)
            for event in events:
                await stream.ack(event)

    from processors.dedup_agents import install_dedup
    from processors.story_agents import install_stories

    install_dedup(app, settings, source=articles, sink=deduped)
    stories = install_stories(app, settings, sink=enriched)

    @app.agent(deduped, name="tag", concurrency=1)
    async def tag(stream: faust.StreamT[Any]) -> None:
        loop = asyncio.get_running_loop()
        async for events in _batches(stream, ENRICH_BATCH, ENRICH_WITHIN_SECONDS):
            records = [_record(event) for event in events]
            # NER is CPU-bound: run it off the event loop so heartbeats and fetches keep going.
            result = await loop.run_in_executor(None, tagging().run, records)
            metrics.observe_enrich(metrics.STEP_ENTITIES, len(records), result.articles)
            for article in result.articles:
                await stories.send(key=article.article_id.encode(), value=article.to_bytes())
            await publish_dead(result.dead_letters)
            for event in events:
                await stream.ack(event)

    @app.agent(enriched, concurrency=1)
    async def index(stream: faust.StreamT[Any]) -> None:
        from sinks.elasticsearch import ElasticsearchSink

        loop = asyncio.get_running_loop()
        sink = ObservedSink(ElasticsearchSink(settings))  # counted and timed: /metrics
        await loop.run_in_executor(None, sink.setup)
        try:
            async for events in _batches(
                stream, settings.sink_batch_size, settings.sink_flush_seconds
            ):
                letters: list[DeadLetter] = []
                for event in events:
                    record = _record(event)
                    try:
                        sink.add(
                            Article.from_bytes(record.value),
                            offset=record.offset,
                            partition=record.partition,
                        )
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
        finally:
            # A flush stuck retrying an outage must not outlive the worker; nothing unflushed was acked.
            sink.close()

    install_health(app, settings)  # /metrics, /live, /ready on the worker's web port
    return app


def _internal(app: faust.App, settings: Settings, suffix: str) -> faust.TopicT:
    return app.topic(
        f"{settings.app_id}-{suffix}",
        key_type=bytes,
        value_type=bytes,
        partitions=settings.topic_partitions,
        internal=True,
    )


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
