"""Re-reading a partition from its committed offset when a message there never got acknowledged.

Around a rebalance Faust drops messages it has already taken from the Kafka client: ``getmany``
stops mid-batch when the generation changes, flow stops, or a partition is paused, and a
``perform_seek`` in the middle of a batch leaves the rest of that batch behind the read offset,
so the messages the seek fetched again are dropped as already read. The fetch position has moved
on, so nothing reads those messages again by itself: the commit guard (``processors.worker.patches``) keeps
them uncommitted, and this module gets them delivered again.

The seek happens at the start of the next fetch, not when the hole is noticed: only there is no
batch in flight to overwrite the read offset (which would drop the re-read messages once more),
and it goes through the consumer thread like every other call on the Kafka client. The first
record that fetch returns also settles whether the offsets before it exist at all: a fetch from
``C`` that starts at ``F > C`` proves ``C .. F-1`` gone (retention, compaction), and only then
are they counted as done, so a truly missing offset cannot block the partition forever.

Should re-reads still not close a hole (once in thirteen live-takeover runs, before the seek
stopped waiting on positions, the holes stayed open and the fetch loop went quiet; the cause
was not proven), the last resort is to rejoin the consumer group: Faust then seeks every
partition to its committed offset, exactly what a restart of the worker does and what is known
to deliver the stranded messages.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable, Mapping
from typing import Any

from aiokafka.errors import IllegalStateError
from faust.transport.consumer import ThreadDelegateConsumer
from faust.types import TP

from processors.worker import watchdog

log = logging.getLogger(__name__)


class Rereads:
    """Per consumer: open holes, partitions to re-read at the next fetch, re-reads awaiting
    their proof."""

    def __init__(self) -> None:
        self.open_since: dict[TP, float] = {}  # tp -> when its hole at the head was first seen
        self.pending: set[TP] = set()
        self.checking: dict[TP, tuple[int, int]] = {}  # tp -> (offset sought, generation)
        self.attempts: dict[TP, int] = {}  # re-reads asked for a hole that is still open
        self.last_fetch = time.monotonic()
        self.last_stall_warning = 0.0
        self.last_rejoin = float("-inf")


def rereads(consumer: Any) -> Rereads:
    state: Rereads | None = getattr(consumer, "_wirehose_rereads", None)
    if state is None:
        state = Rereads()
        consumer._wirehose_rereads = state
    return state


HOLE_SEEK_SECONDS = 5.0
STALL_WARNING_SECONDS = 30.0
REJOIN_AFTER_REREADS = 4
REJOIN_MIN_INTERVAL_SECONDS = 60.0


def hole_open(consumer: Any, tp: TP) -> None:
    """The message at ``tp``'s committed offset is not acknowledged: re-read once that lasts."""
    state = rereads(consumer)
    first_seen = state.open_since.setdefault(tp, time.monotonic())
    if time.monotonic() - first_seen < HOLE_SEEK_SECONDS:
        return  # usually the message is simply still being processed
    del state.open_since[tp]
    request_reread(consumer, tp)


def request_reread(consumer: Any, tp: TP) -> None:
    """Ask for ``tp`` to be read again from its committed offset at the next fetch.

    The last resort, when re-reads have not closed a hole after ``REJOIN_AFTER_REREADS``
    tries, is to rejoin the consumer group: after every rebalance Faust seeks each partition to
    its committed offset, which is what a restart of the worker would do, without the restart.
    """
    state = rereads(consumer)
    state.pending.add(tp)
    state.attempts[tp] = state.attempts.get(tp, 0) + 1
    now = time.monotonic()
    idle = now - state.last_fetch
    if idle > STALL_WARNING_SECONDS and now - state.last_stall_warning > STALL_WARNING_SECONDS:
        # Re-reads happen at the next fetch; if fetching itself has stopped they never will.
        # Say so, so that a stalled worker is told apart from one that is only slow to heal.
        state.last_stall_warning = now
        log.warning(
            "re-reads are waiting for a fetch that has not happened for %.0f s; the fetch loop "
            "is blocked (a full stream buffer or a stuck send); partitions=%s",
            idle,
            _names(state.pending),
        )
    if (
        state.attempts[tp] >= REJOIN_AFTER_REREADS
        and now - state.last_rejoin > REJOIN_MIN_INTERVAL_SECONDS
    ):
        state.last_rejoin = now
        log.warning(
            "re-reads did not close the holes; rejoining the consumer group so that every "
            "partition is read again from its committed offset partitions=%s",
            _names(t for t, n in state.attempts.items() if n >= REJOIN_AFTER_REREADS),
        )
        state.attempts.clear()
        _request_rejoin(consumer)


def hole_closed(consumer: Any, tp: TP) -> None:
    """The message at ``tp``'s committed offset is acknowledged: its re-reads worked."""
    state = rereads(consumer)
    state.open_since.pop(tp, None)
    state.attempts.pop(tp, None)


def _request_rejoin(consumer: Any) -> None:
    thread = consumer._thread
    coordinator = thread._ensure_consumer()._coordinator
    # aiokafka's coordinator lives on the consumer thread's loop: hand the call over to it.
    thread.thread_loop.call_soon_threadsafe(coordinator.request_rejoin)


def _names(tps: Iterable[TP]) -> str:
    return ",".join(sorted(f"{tp.topic}/{tp.partition}" for tp in tps))


SEEK_TIMEOUT_SECONDS = 10.0


async def apply_rereads(consumer: Any) -> None:
    """Seek every partition asked for back to its committed offset (no batch is in flight now)."""
    state = rereads(consumer)
    if not state.pending:
        return
    assignment = consumer.assignment()
    generation = consumer.app.consumer_generation_id
    # A revoked partition is left out: its next owner reads it from the committed offset anyway.
    # None: no commit known here (none yet, or Faust's None for 0); the consumer thread asks.
    offsets: dict[TP, int | None] = {
        tp: consumer._committed_offset.get(tp) for tp in state.pending if tp in assignment
    }
    state.pending.clear()
    if not offsets:
        return
    thread = consumer._thread
    try:
        # Bounded: this runs inside the fetch loop, which must never hang on a heal. Faust's own
        # seek_wait also awaited every partition's position, which can wait out a whole request
        # timeout (90 s) when a rebalance lands in between, and stalled the fetch loop with it.
        sought: dict[TP, tuple[int, int | None]] = await asyncio.wait_for(
            thread.call_thread(_seek_in_consumer_thread, thread, offsets),
            timeout=SEEK_TIMEOUT_SECONDS,
        )
    except TimeoutError:
        log.warning(
            "re-read seek timed out, trying again at the next fetch partitions=%s",
            _names(offsets),
        )
        state.pending.update(offsets)
        return
    for tp, (offset, learned) in sought.items():
        if learned is not None:  # the group's commit, which Faust did not know: the true head
            consumer._committed_offset[tp] = learned
        log.warning(
            "re-reading a partition whose next message was never acknowledged topic=%s "
            "partition=%d offset=%d",
            tp.topic,
            tp.partition,
            offset,
        )
        state.checking[tp] = (offset, generation)


async def _seek_in_consumer_thread(
    thread: Any, offsets: Mapping[TP, int | None]
) -> dict[TP, tuple[int, int | None]]:
    """Runs on the consumer thread: move the fetch position and the read offset together, so
    the messages fetched again are not dropped as already read. An unknown offset is the
    group's commit, asked of the broker, else the start of the log (offset 0; a log that starts
    later is reset to its start, and the re-read proves the offsets before it absent). Skips
    partitions the client no longer holds (a rebalance got there first, and it re-reads from
    the committed offset). Returns, per partition, the offset sought and the commit learned."""
    client = thread._ensure_consumer()
    sought: dict[TP, tuple[int, int | None]] = {}
    for tp, known in offsets.items():
        learned = None
        try:
            if known is None:
                learned = await client.committed(tp)
            offset = known if known is not None else (learned or 0)
            client.seek(tp, offset)
        except IllegalStateError:
            log.info(
                "not re-reading a partition no longer assigned topic=%s partition=%d",
                tp.topic,
                tp.partition,
            )
            continue
        thread.consumer._read_offset[tp] = offset
        sought[tp] = (offset, learned)
    return sought


def confirm_rereads(consumer: Any, records: Mapping[Any, Any]) -> None:
    """Count as done the offsets a re-read proved absent: the fetch from C started above C."""
    state = rereads(consumer)
    generation = consumer.app.consumer_generation_id
    for tp, (sought, sought_in) in list(state.checking.items()):
        if sought_in != generation:
            del state.checking[tp]  # a rebalance since: the position is not ours to judge
            continue
        fetched = records.get(tp)
        if not fetched:
            continue  # nothing fetched for it yet: the proof comes with its first records
        del state.checking[tp]
        mark_absent(consumer, tp, sought, fetched[0].offset)


def mark_absent(consumer: Any, tp: TP, start: int, first: int) -> None:
    committed = consumer._committed_offset.get(tp)
    start = max(start, committed or 0)
    if first <= start:
        return  # the message at the committed offset came again: the ordinary path acks it
    log.warning(
        "offsets absent when re-read, counting them as done topic=%s partition=%d offsets=%d-%d",
        tp.topic,
        tp.partition,
        start,
        first - 1,
    )
    acked_index: set[int] = consumer._acked_index[tp]
    missing = [offset for offset in range(start, first) if offset not in acked_index]
    consumer._acked[tp].extend(missing)
    acked_index.update(missing)


def keep_uncommitted(consumer: Any, records: Mapping[Any, Any]) -> None:
    """Let through fetched messages Faust would drop as already read although nothing has
    acknowledged them and no commit covers them.

    Faust drops a fetched message below the partition's read offset. A read offset left over
    from before a rebalance (a partition revoked before its first commit and assigned again)
    made a worker drop a whole partition it had to read again from its start: nothing was
    acknowledged, so no hole at the head was ever seen, and the partition never committed. A
    message between the committed offset and the read offset with no acknowledgement pending
    is not in flight (a rebalance empties the streams): it must be read.
    """
    if getattr(consumer.app, "rebalancing", False):
        return
    for tp, fetched in records.items():
        if not fetched:
            continue
        read = consumer._read_offset.get(tp)
        first = fetched[0].offset
        if read is None or first >= read or consumer._acked.get(tp):
            continue
        committed = consumer._committed_offset.get(tp)
        head = committed if committed is not None else 0
        if first < head:
            continue  # below the commit: done before, Faust may drop them
        log.warning(
            "reading again messages Faust would drop as already read, though none was "
            "acknowledged topic=%s partition=%d offsets=%d-%d",
            tp.topic,
            tp.partition,
            first,
            read,
        )
        consumer._read_offset[tp] = None


original_getmany = ThreadDelegateConsumer._getmany


async def getmany_with_rereads(
    self: Any, active_partitions: set[TP] | None, timeout: float
) -> Mapping[Any, Any]:
    rereads(self).last_fetch = time.monotonic()
    await apply_rereads(self)
    records: Mapping[Any, Any] = await original_getmany(self, active_partitions, timeout)
    confirm_rereads(self, records)
    keep_uncommitted(self, records)
    watchdog.check_partitions(self, time.monotonic(), reread=request_reread)
    return records


def install() -> None:
    if getattr(ThreadDelegateConsumer._getmany, "__wirehose__", False):
        return
    getmany_with_rereads.__wirehose__ = True  # type: ignore[attr-defined]
    ThreadDelegateConsumer._getmany = getmany_with_rereads  # type: ignore[method-assign]
