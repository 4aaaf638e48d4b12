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
from collections.abc import Callable, Sequence
from typing import Any

import faust

from processors.dedup_partitioned import Remark
from processors.faust_base import (
    batches,
    bytes_topic,
    forward_batches,
    internal_topic,
    new_app,
    record_of,
)
from processors.health import install_health
from processors.instrument import ObservedSink
from processors.pipeline import BatchResult, EnrichmentPipeline, RawRecord, Stamp, Step, Validate
from processors.tag_runner import TagRunner
from wirehose import metrics
from wirehose.article import Article
from wirehose.deadletter import DeadLetter
from wirehose.errors import DropArticle
from wirehose.settings import Settings

log = logging.getLogger(__name__)


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
    nobody consumes it. Table changelogs are in ``changelog_topics``.
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


def changelog_topics(settings: Settings) -> dict[str, int]:
    """The tables' changelog topics (Faust's naming), with their partition counts.

    Created up front like the others: two workers starting at once against a new broker each
    asked Faust to create them, and one crashed on a changelog it saw with 0 partitions.
    """
    partitions = settings.topic_partitions
    return {
        f"{settings.app_id}-dedup-entries-changelog": partitions,
        f"{settings.app_id}-dedup-decisions-changelog": partitions,
        f"{settings.app_id}-story-members-changelog": 1,
    }


def create_topics(settings: Settings) -> None:
    from producers.kafka import ensure_topics

    for topics, configs in (
        (required_topics(settings), None),
        (changelog_topics(settings), {"cleanup.policy": "compact"}),  # as Faust creates them
    ):
        by_count: dict[int, list[str]] = {}
        for name, count in topics.items():
            by_count.setdefault(count, []).append(name)
        for count, names in sorted(by_count.items()):
            ensure_topics(settings.kafka_servers, names, partitions=count, configs=configs)


def create_app(
    settings: Settings,
    *,
    steps_factory: Callable[[Settings], Sequence[Step]] = build_steps,
) -> faust.App:
    app = new_app(settings)
    raw = bytes_topic(app, settings.topic_raw)
    enriched = bytes_topic(app, settings.topic_enriched)
    dead_letters = bytes_topic(app, settings.topic_dead_letter)
    articles = internal_topic(app, settings, "articles")
    deduped = internal_topic(app, settings, "deduped")
    validate = Validate(settings.max_body_chars)

    async def publish_dead(letters: Sequence[DeadLetter]) -> None:
        metrics.observe_dead_letters(letters)
        for letter in letters:
            key = (letter.article_id or letter.key or "").encode() or None
            await dead_letters.send(key=key, value=letter.to_bytes())

    @app.agent(raw, name="validate", concurrency=1)
    async def validate_agent(stream: faust.StreamT[Any]) -> None:
        # Bad input is dead-lettered here, at the door, with the offset it had on the raw topic.
        pipeline = EnrichmentPipeline(validate, [])

        async def run(records: list[RawRecord]) -> BatchResult:
            return pipeline.run(records)

        await forward_batches(
            stream,
            run,
            articles,
            publish_dead,
            size=settings.batch_size,
            within=settings.batch_within_seconds,
            observe=lambda n, r: metrics.observe_enrich(metrics.STEP_VALIDATE, n, r.articles),
            # Each articles partition mirrors one raw partition: one origin of event time.
            same_partition=True,
        )

    from processors.dedup_agents import install_dedup
    from processors.story_agents import install_stories

    install_dedup(app, settings, source=articles, sink=deduped)
    stories = install_stories(app, settings, sink=enriched)

    @app.agent(deduped, name="tag", concurrency=1)
    async def tag(stream: faust.StreamT[Any]) -> None:
        runner = TagRunner(settings, steps_factory, in_process=settings.tag_in_subprocess)
        try:
            await forward_batches(
                stream,
                runner.run,
                stories,
                publish_dead,
                size=settings.batch_size,
                within=settings.batch_within_seconds,
                observe=lambda n, r: metrics.observe_enrich(metrics.STEP_ENTITIES, n, r.articles),
                overlap=True,  # spaCy runs in a child process: keep it fed
                pass_remarks=True,
            )
        finally:
            runner.close()

    @app.agent(enriched, concurrency=1)
    async def index(stream: faust.StreamT[Any]) -> None:
        from sinks.elasticsearch import ElasticsearchSink

        loop = asyncio.get_running_loop()
        sink = ObservedSink(ElasticsearchSink(settings))  # counted and timed: /metrics
        await loop.run_in_executor(None, sink.setup)
        try:
            async for events in batches(
                stream, settings.sink_batch_size, settings.sink_flush_seconds
            ):
                letters: list[DeadLetter] = []
                for event in events:
                    record = record_of(event)
                    if record.remark:
                        remark = Remark.from_bytes(record.value or b"")
                        sink.remark(
                            remark.article_id,
                            remark.mark,
                            offset=record.offset,
                            partition=record.partition,
                        )
                        continue
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
