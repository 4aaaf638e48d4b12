"""Faust agents for wire-copy detection across partitions and workers (thin shells).

Topology (``P`` = ``WIREHOSE_TOPIC_PARTITIONS`` partitions for every internal topic)::

    source ─[dedup-sign]─┬─> {app}-dedup-bands (by LSH bucket) ─[dedup-band]─┐ partials and
      (partition =       │                                                   ▼ backfills
       origin)           └──────────> {app}-dedup-verdicts (by article_id) ─[dedup-decide]─> sink
                                                                     articles, then remarks

Each source partition is one origin (the raw topic partition it mirrors); probes carry it, so
state expires only behind the slowest origin's event time (``processors.dedup.detector.Watermarks``).
A remark (``REMARK_HEADER``) follows an article already sent when an earlier-ranked copy of it
arrives later: the stages after dedup pass it along, and the sink updates the document's marks.

The logic is in ``processors.dedup`` (``messages``, ``bands``, ``decider``; why it is split this way is explained in the package docstring).
State is in two changelog-backed tables - ``dedup-entries`` (per bands partition; the bucket
index is derived from it in memory) and ``dedup-decisions`` (per verdicts partition) - so a
restarted or rebalanced worker recovers exactly the state of the partitions it is given. All of it is bounded by
``WIREHOSE_DEDUP_WINDOW_HOURS`` of event time.

Delivery: at least once, and safe to repeat. Each agent runs with concurrency 1 (with more,
Faust can commit past an offset another task has not finished: faust-streaming issue 606);
sign and band handle one event at a time, decide a batch at a time, acknowledged once its
output is in Kafka. Faust commits an offset only after the event was processed, and flushes
the producer (sends and changelog writes) before it commits. A replayed probe is not
filed twice, partials are kept per partition, and a replayed article gets its remembered mark.

Records that are not valid articles pass through unchanged to ``sink``: rejecting them with a
reason is the validating step's job, downstream.
"""

from __future__ import annotations

import logging
import weakref
from datetime import datetime, timedelta
from typing import Any

import faust
from faust.streams import _current_event  # what Table.partition_for_key reads

from processors.dedup.bands import BandWorker
from processors.dedup.decider import Decider
from processors.dedup.messages import Probe, Remark, article_message, probes, route_partition
from processors.dedup.sign import Signer
from processors.pipeline import REMARK_HEADER, WATERMARK_HEADER, header
from processors.topology import create_topics
from processors.worker.base import Fronts, batches, faust_table, faust_topic, new_app
from wirehose.core.article import Article, event_time
from wirehose.core.errors import DropArticle
from wirehose.core.logs import configure
from wirehose.core.settings import Settings, get_settings

log = logging.getLogger(__name__)

# How long dedup-decide waits to fill a batch (short: every article passes through it), and
# how many messages at most (an article and its partials are 1 + P of them).
DECIDE_WITHIN_SECONDS = 0.02
DECIDE_BATCH = 256


def as_current(event: Any) -> None:
    """Make ``event`` the one Faust writes this task's table changes for (to the changelog of
    its partition), or none.

    Faust sets it itself only while a stream is iterated one event at a time; an agent that
    takes a batch and changes a table for each of its events must say which one it is on. Only
    the task's context variable is set (what ``Table`` reads): the stream's own attribute is
    what the batch is being filled from, in the background.
    """
    _current_event.set(None if event is None else weakref.ref(event))


def install_dedup(
    app: faust.App, settings: Settings, *, source: faust.TopicT, sink: faust.TopicT
) -> dict[str, Any]:
    """Add the dedup topics, tables and agents to ``app``: articles from ``source`` reach
    ``sink`` with ``dedup`` set. Returns the agents and tables by name (for tests and metrics)."""
    partitions = settings.topic_partitions
    window = timedelta(hours=settings.dedup_window_hours)
    lateness = timedelta(hours=settings.dedup_lateness_hours)

    bands = faust_topic(app, settings, "dedup-bands")
    verdicts = faust_topic(app, settings, "dedup-verdicts")
    entries = faust_table(app, settings, "dedup-entries")
    decisions = faust_table(app, settings, "dedup-decisions")

    @app.agent(source, name="dedup-sign", concurrency=1)
    async def dedup_sign(stream: faust.StreamT[Any]) -> None:
        signer = Signer()
        fronts = Fronts(app)
        async for event in stream.events():
            message = event.message
            origin = message.partition
            progress = fronts.of(message.topic, origin, message.generation_id)
            if progress.done(message.offset):
                continue  # read again below the commit: its probes went out the first time
            try:
                article = Article.from_bytes(message.value, max_body_chars=settings.max_body_chars)
            except DropArticle as drop:
                log.info(
                    "passing on invalid record reason=%s offset=%s", drop.reason, message.offset
                )
                progress.see(message.offset, origin, None)
                await sink.send(key=message.key, value=message.value)
                continue
            stamped = header(message.headers, WATERMARK_HEADER)
            progress.see(
                message.offset,
                origin,
                datetime.fromisoformat(stamped.decode()) if stamped else event_time(article),
            )
            routed = probes(article, signer.sign(article), partitions, origin, progress.get(origin))
            key = article.article_id.encode()
            await verdicts.send(key=key, value=article_message(article, len(routed)))
            for partition, probe in routed.items():  # no key: the probe names its article
                await bands.send(key=None, value=probe.to_bytes(), partition=partition)

    @app.agent(bands, name="dedup-band", concurrency=1)
    async def dedup_band(stream: faust.StreamT[Any]) -> None:
        worker = BandWorker(
            entries,
            threshold=settings.dedup_threshold,
            window=window,
            lateness=lateness,
            origins=partitions,
        )
        fronts = Fronts(app)
        async for event in stream.events():
            message = event.message
            found = worker.handle(
                message.partition,
                Probe.from_bytes(message.value),
                generation=message.generation_id or 0,
                offset=message.offset,
                progress=fronts.of(message.topic, message.partition, message.generation_id),
            )
            for article_id, value in found:
                await verdicts.send(key=article_id.encode(), value=value)

    @app.agent(verdicts, name="dedup-decide", concurrency=1)
    async def dedup_decide(stream: faust.StreamT[Any]) -> None:
        decider = Decider(decisions, window=window, lateness=lateness, origins=partitions)
        fronts = Fronts(app)
        # A batch at a time: its output is sent together and awaited once, then every decision
        # in it is recorded (Decider.settle), the table changes written, and the batch
        # acknowledged. One at a time, each article waited for Kafka's acknowledgement before
        # the next: a round trip per article, and every record on the deduped topic a batch
        # (and compressed) of its own. Table changes wait for the end of the batch, and only
        # the last of each key is written: an article decided in the batch it came in is never
        # written to the changelog as held (nothing is lost: a crash re-reads the whole batch).
        async for events in batches(stream, DECIDE_BATCH, DECIDE_WITHIN_SECONDS):
            sent: list[tuple[str, Any, Any]] = []
            decider.state.defer()
            for event in events:
                message = event.message
                decider.state.context = event  # the partition its table changes belong to
                out = decider.handle(
                    message.partition,
                    message.value,
                    offset=message.offset,
                    progress=fronts.of(message.topic, message.partition, message.generation_id),
                    committed=fronts.committed(message.topic, message.partition),
                )
                if out is None:
                    continue
                key = out.article_id.encode()
                to = route_partition(decider.route(out.article_id), partitions)
                if isinstance(out, Remark):
                    delivery = await sink.send(
                        key=key, value=out.to_bytes(), partition=to, headers=[REMARK_HEADER]
                    )
                else:
                    delivery = await sink.send(key=key, value=out.to_bytes(), partition=to)
                sent.append((out.article_id, delivery, event))
            for article_id, delivery, event in sent:
                await delivery  # acknowledged by Kafka before the mark is recorded
                decider.state.context = event
                decider.settle(article_id)
            decider.state.flush(as_current)
            as_current(None)
            for event in events:
                await stream.ack(event)

    return {
        "agents": (dedup_sign, dedup_band, dedup_decide),
        "tables": {"entries": entries, "decisions": decisions},
        "topics": {"bands": bands, "verdicts": verdicts},
    }


def create_dedup_app(settings: Settings) -> faust.App:
    """A worker that only dedups: ``topic_raw`` -> ``topic_enriched`` with marks set.

    Used by the integration tests (several of these processes share the partitions) and handy
    for measuring dedup on its own; the full worker installs the same agents into its app.
    """

    app = new_app(settings)
    source = app.topic(settings.topic_raw, key_type=bytes, value_type=bytes)
    sink = app.topic(settings.topic_enriched, key_type=bytes, value_type=bytes)
    install_dedup(app, settings, source=source, sink=sink)
    return app


def main() -> None:
    """``python -m processors.worker.dedup [--web-port N]``: run a dedup-only worker."""

    settings = get_settings()
    configure(settings.log_level)
    create_topics(settings)
    app = create_dedup_app(settings)
    faust.Worker(app, loglevel=settings.log_level.lower(), quiet=True).execute_from_commandline()


if __name__ == "__main__":
    main()
