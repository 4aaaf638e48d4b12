"""Saved-search alerts as Faust stages: match in parallel, decide once per story (thin shells).

::

    {topic_enriched} ─[alerts-match]─> {app}-alert-matches ─[alerts-decide]─> {topic_alerts}
      (any partition,    one Candidate per     (keyed by story)    one Delivery per story
       batches)          (alert, article)                           and alert, keyed by id

``alerts-match`` reads the enriched topic beside the ``index`` agent (Faust hands each record
to both and commits it once both have acknowledged it), matches each batch of canonical
articles against the saved alerts (``sinks.percolate``) and sends the matches on, keyed by
story, so that every match of one story meets one ``OncePerStory`` state, whichever partition
or worker its article came through. The logic is in ``processors.alerts``.

Delivery, as everywhere in the worker: concurrency 1, a batch acknowledged only after its
matches are sent, and Faust flushes the producer (sends and changelog writes) before it commits
an offset; a crash replays the unacknowledged tail. ``alerts-decide`` handles one match at a
time, sends its delivery (to the alerts partition of its matches partition, with a header
naming the match), waits until Kafka has acknowledged it, and only then records the pair as
fired (``OncePerStory.settle``) and moves the partition's mark past it. Recorded first, a crash
in between would lose the alert; recorded after, a crash in between (or before the match's
offset is committed) leaves the delivery on the topic without its pair in the table. So before
it decides the first match of a partition it has been given (at start, and after every
rebalance), the agent reads that partition's deliveries back from the mark to the end of the
alerts topic and restores the pairs the table lacks (``processors.alerts.recovery``): the
replayed match finds its pair and delivers nothing. Every delivery reaches the alerts topic
once, as long as one worker at a time decides for a partition (a worker that lost its
partitions without noticing, and still sends, is not fenced off: that needs Kafka transactions).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

import faust
from elasticsearch import Elasticsearch, NotFoundError

from processors.alerts.decider import OncePerStory
from processors.alerts.messages import Candidate
from processors.alerts.recovery import DeliveryRecovery
from processors.worker.base import Fronts, batches, faust_table, faust_topic, record_of
from processors.worker.sent_tail import SentTail
from sinks.alerts import AlertStore
from sinks.bulk import Backoff, is_transient
from sinks.document import to_document
from sinks.percolate import AlertMatcher, open_matcher, sweep_probes
from wirehose.core.article import Article
from wirehose.core.clients import es_client
from wirehose.core.errors import DropArticle, SinkClosed
from wirehose.core.settings import Settings

log = logging.getLogger(__name__)

T = TypeVar("T")
PROBES_KEPT = timedelta(hours=1)  # probes older than this were left by a worker that died


def retrying(call: Callable[[], T], closed: threading.Event, what: str) -> T:
    """``call()``, waiting out an unreachable or overloaded Elasticsearch like the sink does."""
    backoff = Backoff()
    attempt = 0
    while True:
        try:
            return call()
        except Exception as exc:
            if not is_transient(exc):
                raise
            delay = backoff.delay(attempt)
            log.warning(
                "alerts %s failed, retrying attempt=%d in_seconds=%.1f error=%s",
                what, attempt + 1, delay, exc,
            )  # fmt: skip
            if closed.wait(delay):
                raise SinkClosed(f"the worker stopped while alerts {what} was retrying") from exc
            attempt += 1


class AlertStage:
    """The matching step: the alerts index opened on first use, and opened again when it was
    rebuilt under a running worker (``AlertStore`` rebuilds it after an index migration)."""

    def __init__(self, settings: Settings, es: Elasticsearch) -> None:
        self.settings = settings
        self.es = es
        self.matcher: AlertMatcher | None = None

    def open(self) -> AlertMatcher:
        """Create the alerts index if needed and the matcher its cluster allows."""
        settings = self.settings
        index = settings.alerts_index_name
        matcher = AlertStore(self.es, index, settings.index_alias).ensure()
        if matcher == "search":
            swept = sweep_probes(self.es, index, older_than=PROBES_KEPT)
            if swept:
                log.info("deleted probes left behind index=%s count=%d", index, swept)
        log.info("alerts matching index=%s matcher=%s", index, matcher)
        self.matcher = open_matcher(
            self.es, index, matcher, reload_seconds=settings.alerts_reload_seconds
        )
        return self.matcher

    def candidates(self, articles: list[Article]) -> list[Candidate]:
        """Every (alert, article) match of the canonical articles among ``articles``."""
        canonical = [a for a in articles if a.dedup is None or a.dedup.is_canonical]
        if not canonical:
            return []
        documents = [to_document(article) for article in canonical]
        matcher = self.matcher or self.open()
        try:
            found = matcher.match(documents)
        except NotFoundError:
            found = self.open().match(documents)
        return [
            Candidate.of(article, ref.name, updates=ref.updates, webhook=ref.webhook)
            for article, refs in zip(canonical, found, strict=True)
            for ref in refs
        ]


def install_alerts(app: faust.App, settings: Settings, *, source: faust.TopicT) -> dict[str, Any]:
    """Add the alert topics, table and agents; ``source`` is the enriched topic."""
    matches = faust_topic(app, settings, "alert-matches")
    deliveries = faust_topic(app, settings, "alerts")
    fired = faust_table(app, settings, "alert-fired")
    keep = timedelta(hours=settings.alert_state_hours)

    @app.agent(source, name="alerts-match", concurrency=1)
    async def alerts_match(stream: faust.StreamT[Any]) -> None:
        loop = asyncio.get_running_loop()
        closed = threading.Event()
        es = es_client(settings)
        stage = AlertStage(settings, es)
        try:
            await loop.run_in_executor(None, retrying, stage.open, closed, "setup")
            async for events in batches(
                stream, settings.sink_batch_size, settings.sink_flush_seconds
            ):
                articles = []
                for event in events:
                    record = record_of(event)
                    if record.remark:
                        continue
                    try:
                        articles.append(Article.from_bytes(record.value))
                    except DropArticle:
                        continue  # the index stage dead-letters it
                found = await loop.run_in_executor(
                    None, retrying, lambda a=articles: stage.candidates(a), closed, "matching"
                )
                for candidate in found:
                    await matches.send(key=candidate.story.encode(), value=candidate.to_bytes())
                for event in events:
                    await stream.ack(event)
        finally:
            closed.set()  # a retry still waiting in its thread gives up; nothing was acked
            es.close()

    @app.agent(matches, name="alerts-decide", concurrency=1)
    async def alerts_decide(stream: faust.StreamT[Any]) -> None:
        loop = asyncio.get_running_loop()
        closed = threading.Event()
        tail = SentTail(settings, closed)
        decider: OncePerStory | None = None
        recovery: DeliveryRecovery | None = None
        fronts = Fronts(app)
        try:
            async for event in stream.events():
                if decider is None or recovery is None:
                    # Built on the first event: by then Faust has recovered the table.
                    decider = OncePerStory(fired, keep=keep)
                    recovery = DeliveryRecovery(decider, source=matches.get_topic_name())
                message = event.message
                partition = message.partition
                if recovery.due(partition, message.generation_id):
                    # Before deciding: deliveries a crash left without their pair go in first.
                    count = await loop.run_in_executor(None, tail.count)
                    starts = recovery.read_from(partition, count)
                    records, ends = await loop.run_in_executor(None, tail.read, starts)
                    recovery.restore(partition, records, ends)
                candidate = Candidate.from_bytes(message.value)
                delivery = decider.decide(candidate, partition=partition, offset=message.offset)
                if delivery is not None:
                    sent = await deliveries.send(
                        key=delivery.delivery_id.encode(),
                        value=delivery.to_bytes(),
                        partition=recovery.target(partition),
                        headers=[recovery.header(partition, message.offset)],
                    )
                    stored = await sent  # acknowledged by Kafka before the pair is recorded
                    decider.settle(delivery)
                    recovery.settled(partition, stored.partition, stored.offset)
                    log.info(
                        "alert fired alert=%s story=%s kind=%s article=%s delivery=%s",
                        delivery.alert, delivery.story_id, delivery.kind,
                        candidate.article_id, delivery.delivery_id,
                    )  # fmt: skip
                decider.expire(partition, committed=fronts.committed(message.topic, partition))
        finally:
            closed.set()  # a read-back still retrying in its thread gives up
            tail.close()

    return {
        "agents": (alerts_match, alerts_decide),
        "tables": {"fired": fired},
        "topics": {"matches": matches, "deliveries": deliveries},
    }
