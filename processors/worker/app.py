"""The Faust application: thin agents around plain classes, wired into one topology.

::

    {topic_raw} ─[validate]─> {app}-articles ─[dedup: sign → band → decide]─> {app}-deduped
        │                                      (processors.worker.dedup)            │
        │                                                                       [tag] spaCy NER,
        ▼                                                                             │  reused for copies
    {topic_dead_letter} <── rejected records / documents                               ▼
        ▲                                              {app}-stories (1 partition) ─[stories]
        │                                                                             │
        └──────────────── [index] <── {topic_enriched} <──────────────────────────────┘
                            │                 └─[alerts: match → decide]─> {topic_alerts}
                            ▼ bulk, _id = article_id        (processors.worker.alerts)
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

from processors.dedup.messages import Remark
from processors.language.detector import UNDETERMINED, LanguageDetector
from processors.language.step import LanguageStep
from processors.pipeline import (
    WATERMARK_HEADER,
    BatchResult,
    EnrichmentPipeline,
    RawRecord,
    Stamp,
    Step,
    Validate,
)
from processors.worker.alerts import install_alerts
from processors.worker.base import Fronts, batches, faust_topic, forward_batches, new_app, record_of
from processors.worker.dedup import install_dedup
from processors.worker.health import install_health
from processors.worker.instrument import ObservedSink
from processors.worker.stories import install_stories
from processors.worker.tag_runner import TagRunner
from processors.worker.watchdog import install_loop_watch
from sinks.elasticsearch import ElasticsearchSink
from wirehose.core import metrics
from wirehose.core.article import Article, event_time
from wirehose.core.deadletter import DeadLetter
from wirehose.core.errors import ConfigError, DropArticle
from wirehose.core.settings import Settings

log = logging.getLogger(__name__)

# spaCy's language code of a multi-language pipeline (xx_ent_wiki_sm): right for any language.
MULTILINGUAL = "xx"


def ner_languages(model_language: str) -> frozenset[str]:
    """The article languages NER runs on: the spaCy model's own, and ``und``.

    An article is ``und`` only when its source declared no language and its text was too short
    (a headline-only item, a caption) or too mixed for the detector to be sure. Such text is
    cheap to tag, and sources that declare nothing are, in this stream, mostly English: skipping
    them would drop the entities (and with them the entity-based story clustering) of English
    headlines too short to detect, while tagging them costs at worst a few spurious entities on
    the odd short item in another language.
    """
    return frozenset({model_language, UNDETERMINED})


def build_steps(settings: Settings) -> list[Step]:
    """The tagging steps, in order: language, entities (a pipeline per language), stamp.

    ``Settings.spacy_model`` tags its own language and ``und``; each pipeline of
    ``Settings.spacy_models`` tags the language it is named for, loaded with only what its NER
    reads. ``ConfigError`` when a language would have two pipelines or a pipeline is for
    another language than the one it is named for.
    """
    # lazy: spaCy takes seconds to import, and only the tagging process needs it
    from processors.entities.components import ner_exclude
    from processors.entities.tagger import EntityTagger
    from processors.entities.tagging import CopyAwareTagger

    tagger = EntityTagger(settings.spacy_model, max_chars=settings.max_body_chars)
    languages = ner_languages(tagger.language)
    others: dict[str, EntityTagger] = {}
    for language, model in settings.spacy_models_by_language.items():
        if language in languages:
            raise ConfigError(
                f"WIREHOSE_SPACY_MODELS names {model} for {language}, which "
                f"WIREHOSE_SPACY_MODEL ({settings.spacy_model}) already tags"
            )
        other = EntityTagger(model, max_chars=settings.max_body_chars, exclude=ner_exclude(model))
        if other.language not in {language, MULTILINGUAL}:
            raise ConfigError(
                f"WIREHOSE_SPACY_MODELS names {model} for {language}, but it is a "
                f"{other.language} pipeline"
            )
        others[language] = other
    log.info(
        "entity pipelines model=%s languages=%s others=%s",
        settings.spacy_model,
        ",".join(sorted(languages)),
        ",".join(f"{code}={settings.spacy_models_by_language[code]}" for code in others) or "-",
    )
    return [
        LanguageStep(LanguageDetector()),
        CopyAwareTagger(tagger, languages=languages, others=others),
        Stamp(),
    ]


def create_app(
    settings: Settings,
    *,
    steps_factory: Callable[[Settings], Sequence[Step]] = build_steps,
) -> faust.App:
    app = new_app(settings)
    raw = faust_topic(app, settings, "raw")
    enriched = faust_topic(app, settings, "enriched")
    dead_letters = faust_topic(app, settings, "dead-letters")
    articles = faust_topic(app, settings, "articles")
    deduped = faust_topic(app, settings, "deduped")
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
        fronts = Fronts(app)
        stamps: dict[int, bytes] = {}

        async def run(records: list[RawRecord]) -> BatchResult:
            fresh = []
            for record in records:
                assert record.topic is not None
                assert record.partition is not None
                progress = fronts.of(record.topic, record.partition, record.generation)
                if not progress.done(record.offset):  # below the commit: sent the first time
                    fresh.append(record)
            records = fresh
            result = pipeline.run(records)
            when = {
                id(r): event_time(a) for r, a in zip(result.records, result.articles, strict=True)
            }
            for record in records:  # rejected ones too: they are processed, not a hole
                assert record.topic is not None
                assert record.partition is not None
                progress = fronts.of(record.topic, record.partition, record.generation)
                progress.see(record.offset or 0, record.partition, when.get(id(record)))
                watermark = progress.get(record.partition)
                if watermark is not None:
                    stamps[record.partition] = watermark.isoformat().encode()
            return result

        def stamp(record: RawRecord) -> list[tuple[str, bytes]]:
            found = stamps.get(record.partition or 0)
            return [(WATERMARK_HEADER, found)] if found else []

        await forward_batches(
            stream,
            run,
            articles,
            publish_dead,
            size=settings.batch_size,
            within=settings.batch_within_seconds,
            observe=lambda n, r: metrics.observe_enrich(
                metrics.STEP_VALIDATE, n, r.articles, busy_seconds=r.busy_seconds
            ),
            # Each articles partition mirrors one raw partition: one origin of event time.
            same_partition=True,
            stamp=stamp,
        )

    install_dedup(app, settings, source=articles, sink=deduped)
    stories = install_stories(app, settings, sink=enriched)
    install_alerts(app, settings, source=enriched)  # saved searches, once per story

    @app.agent(deduped, name="tag", concurrency=1)
    async def tag(stream: faust.StreamT[Any]) -> None:
        runner = TagRunner(settings, steps_factory, subprocess=settings.tag_in_subprocess)
        try:
            await forward_batches(
                stream,
                runner.run,
                stories,
                publish_dead,
                size=settings.batch_size,
                within=settings.batch_within_seconds,
                observe=lambda n, r: metrics.observe_enrich(
                    metrics.STEP_ENTITIES, n, r.articles, r.counts, r.busy_seconds
                ),
                overlap=True,  # spaCy runs in a child process: keep it fed
                pass_remarks=True,
            )
        finally:
            runner.close()

    @app.agent(enriched, concurrency=1)
    async def index(stream: faust.StreamT[Any]) -> None:
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
                            Article.from_internal(record.value),
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
    install_loop_watch(app)  # logs where the event loop is stuck, should it ever block
    return app
