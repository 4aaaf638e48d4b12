"""What every wirehose Faust app shares: its configuration, topics, and the batch loop.

One place decides how a worker talks to Kafka (raw bytes, ``acks=all``, earliest offsets,
a one-second commit interval) so the full worker and the dedup-only worker cannot drift apart.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, cast

import faust
from faust.types import TP

from processors import topology
from processors.pipeline import REMARK_HEADER, BatchResult, RawRecord, is_remark
from processors.progress import Progress
from processors.worker.patches import install
from wirehose.core.clients import best_compression, faust_credentials, kafka_access
from wirehose.core.deadletter import DeadLetter
from wirehose.core.settings import Settings

# Internal topics: at most this long a wait per hop (seven hops from raw to index), for batches
# that compress better. See docs/dedup.md ("State and Kafka bytes, measured") for the effect.
PRODUCER_LINGER_SECONDS = 0.01
PRODUCER_BATCH_BYTES = 1024 * 1024


def new_app(settings: Settings) -> faust.App:
    """A Faust app bound to the settings' broker, with raw bytes on every topic.

    The broker's security (TLS context, SASL login) is the one every kafka-python client gets
    (``wirehose.core.clients.faust_credentials``); Faust passes it to each aiokafka client:
    the consumer, the producer and the one that creates topics.
    """

    install()  # Faust's commit guard is off by one; see processors/worker/patches.py
    datadir = settings.home / "faust" / settings.app_id
    datadir.parent.mkdir(parents=True, exist_ok=True)  # Faust creates only the last level
    access = kafka_access(settings)
    return faust.App(
        settings.app_id,
        broker=[f"kafka://{server}" for server in access.servers],
        broker_credentials=faust_credentials(access),
        store="memory://",  # tables are rebuilt from their changelog topics on start
        value_serializer="raw",
        key_serializer="raw",
        topic_partitions=settings.topic_partitions,
        topic_replication_factor=1,
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
        # Every internal topic carries JSON that compresses severalfold; the codec is the one
        # the replay producer picks, so both ends of every topic can read it.
        producer_compression_type=best_compression(),
        # The codec works per batch, and a batch of one article compresses half as well as a
        # batch of many: each partition's records wait up to PRODUCER_LINGER_SECONDS to share
        # one batch, up to PRODUCER_BATCH_BYTES (before compression).
        producer_linger=PRODUCER_LINGER_SECONDS,
        producer_max_batch_size=PRODUCER_BATCH_BYTES,
        # Articles may reach max_body_chars and dead letters carry up to 4 MB of original bytes;
        # the native broker accepts 32 MB messages (brokers of your own need message.max.bytes).
        producer_max_request_size=16 * 1024 * 1024,
        web_enabled=True,
        web_host=settings.worker_web_host,
        web_port=settings.worker_web_port,
        web_in_thread=False,
        datadir=str(datadir),
        broker_commit_interval=1.0,
    )


def bytes_topic(app: faust.App, name: str) -> faust.TopicT:
    return app.topic(name, key_type=bytes, value_type=bytes)


def faust_topic(app: faust.App, settings: Settings, role: str) -> faust.TopicT:
    """The topic ``role`` of ``processors.topology``, raw bytes; internal unless user-facing."""
    spec = topology.topic(role)
    if spec.setting is not None:
        return bytes_topic(app, spec.name(settings))
    return app.topic(
        spec.name(settings),
        key_type=bytes,
        value_type=bytes,
        partitions=spec.partitions(settings),
        internal=True,
    )


_SCHEMAS: dict[str, faust.Schema] = {
    "json": faust.Schema(key_type=str, key_serializer="json", value_serializer="json"),
    "binary": faust.Schema(
        key_type=bytes, key_serializer="raw", value_type=bytes, value_serializer="raw"
    ),
}


def faust_table(app: faust.App, settings: Settings, name: str) -> Any:
    """The table ``name`` of ``processors.topology``: JSON keys and values, or bytes the stage
    encodes itself, as its spec says; ``None`` default."""
    spec = topology.table(name)
    # A table serialises its keys and values by its own key_type and value_type, not by its
    # schema (which its changelog topic is given): bytes must be named in both, or the
    # changelog is written raw and read back as JSON when the table recovers.
    raw = bytes if spec.encoding == "binary" else None
    return app.Table(
        spec.name,
        default=None,
        partitions=spec.partitions(settings),
        schema=_SCHEMAS[spec.encoding],
        key_type=raw,
        value_type=raw,
        help=spec.help,
    )


def batches(stream: faust.StreamT[Any], size: int, within: float) -> AsyncIterator[Sequence[Any]]:
    """Batches of events that stay unacknowledged until the agent acks them itself."""
    # noack_take is on the concrete Stream only; the StreamT protocol Faust types agents with lacks it.
    concrete = cast(faust.Stream, stream)
    return cast(AsyncIterator[Sequence[Any]], concrete.noack_take(size, within=within))


def record_of(event: Any) -> RawRecord:
    message = event.message
    return RawRecord(
        value=message.value,
        key=message.key,
        topic=message.topic,
        partition=message.partition,
        offset=message.offset,
        remark=is_remark(message.headers),
        generation=message.generation_id,
    )


class Fronts:
    """A ``Progress`` per input partition of one agent (``processors.progress``), kept up to
    date with the group's committed offsets, and started afresh at every consumer generation:
    a partition may have changed hands and come back. Nothing here asks the broker anything:
    an agent must never wait on the consumer that feeds it."""

    def __init__(self, app: faust.App) -> None:
        self.app = app
        self._generation: int | None = None
        self._by_tp: dict[Any, Progress] = {}

    def of(self, topic: str, partition: int, generation: int | None) -> Progress:
        if generation != self._generation:
            self._by_tp.clear()
            self._generation = generation
        tp = TP(topic, partition)
        progress = self._by_tp.get(tp)
        if progress is None:
            progress = self._by_tp[tp] = Progress(None)
        progress.commit(self.committed(topic, partition))
        return progress

    def committed(self, topic: str, partition: int) -> int | None:
        """The group's committed offset of the partition, as this consumer knows it."""
        consumer: Any = self.app.consumer
        found = consumer._committed_offset.get(TP(topic, partition))
        return None if found is None else int(found)


async def pass_remark(out: faust.TopicT, record: RawRecord) -> None:
    """Forward a dedup re-mark unchanged (same key, so it stays behind its article)."""
    await out.send(key=record.key, value=record.value, headers=[REMARK_HEADER])


async def forward_batches(
    stream: faust.StreamT[Any],
    run: Callable[[list[RawRecord]], Awaitable[BatchResult]],
    out: faust.TopicT,
    publish_dead: Callable[[Sequence[DeadLetter]], Awaitable[None]],
    *,
    size: int,
    within: float,
    observe: Callable[[int, BatchResult], None] | None = None,
    overlap: bool = False,
    same_partition: bool = False,
    pass_remarks: bool = False,
    stamp: Callable[[RawRecord], Sequence[tuple[str, bytes]]] | None = None,
) -> None:
    """The loop of every batch agent: run, publish the articles and dead letters, then ack.

    Acking last is what makes a crash replay the batch instead of losing it.

    ``same_partition`` sends each article to the partition its record came from, so that the
    output topic keeps each input partition's order (dedup tracks event-time progress per
    origin partition). ``pass_remarks`` forwards dedup re-marks unchanged, after the batch's
    articles: a re-mark always follows its article. ``stamp`` gives the headers to send each
    article with, from the record it came from.

    With ``overlap``, the next batch is read and handed to ``run`` while the previous one is
    still running or being published; batches are still published and acked in the order they
    were read. For a ``run`` in another process (the tag stage's spaCy child) this keeps the
    child busy instead of idle while the agent waits to fill a batch, publishes and acks.
    """

    async def finish(events: Sequence[Any], records: list[RawRecord], result: BatchResult) -> None:
        if observe is not None:
            observe(len(records), result)
        for n, article in enumerate(result.articles):
            partition = result.records[n].partition if same_partition else None
            headers = list(stamp(result.records[n])) if stamp is not None else None
            await out.send(
                key=article.article_id.encode(),
                value=article.to_bytes(),
                partition=partition,
                headers=headers,
            )
        for record in records:
            if pass_remarks and record.remark:
                await pass_remark(out, record)
        await publish_dead(result.dead_letters)
        for event in events:
            await stream.ack(event)

    async def start(records: list[RawRecord]) -> BatchResult:
        articles = [r for r in records if not (pass_remarks and r.remark)]
        if not articles:
            return BatchResult([], [])
        return await run(articles)

    if not overlap:
        async for events in batches(stream, size, within):
            records = [record_of(event) for event in events]
            await finish(events, records, await start(records))
        return

    queued: asyncio.Queue[tuple[Sequence[Any], list[RawRecord], asyncio.Future[BatchResult]]]
    queued = asyncio.Queue(maxsize=1)  # one batch waits while another is finished: bounded

    async def finisher() -> None:
        while True:
            events, records, running = await queued.get()
            await finish(events, records, await running)

    draining = asyncio.ensure_future(finisher())
    agent = asyncio.current_task()

    def stop_agent_on_failure(task: asyncio.Future[None]) -> None:
        # The agent may be waiting on an idle stream; a failed publish must still crash it.
        if agent is not None and not task.cancelled() and task.exception() is not None:
            agent.cancel()

    draining.add_done_callback(stop_agent_on_failure)
    try:
        async for events in batches(stream, size, within):
            records = [record_of(event) for event in events]
            running = asyncio.ensure_future(start(records))
            handing = asyncio.ensure_future(queued.put((events, records, running)))
            await asyncio.wait({handing, draining}, return_when=asyncio.FIRST_COMPLETED)
            if draining.done():
                handing.cancel()
                running.cancel()
                break
    except asyncio.CancelledError:
        if not draining.done() or draining.cancelled():
            raise
    finally:
        draining.cancel()
    if draining.done() and not draining.cancelled() and draining.exception() is not None:
        raise cast(BaseException, draining.exception())
