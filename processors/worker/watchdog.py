"""Two watchdogs for a worker that has stopped moving: one per partition, one for the event loop.

**Partitions.** A partition whose committed offset sits below its end and has not moved for
``STALLED_SECONDS``, while this worker holds nothing of its topic in flight, has lost its
messages somewhere between the Kafka client and the agent: fetched and dropped around a
rebalance, left paused by a stream buffer that emptied without saying so, or never fetched
again at all. Nothing upstream will ever resend them, and the pipeline looks idle while it is
behind. The watchdog says so, with everything the consumer knows of the partition, and acts:
a partition left out of fetching while its buffer is empty is let back in, and one with
nothing in flight is read again from its committed offset (``processors.worker.rereads``;
the pipeline is idempotent by ``article_id``). It runs inside the fetch loop, between two
fetches, every ``CHECK_EVERY_SECONDS``.

"In flight" is judged per topic, not per partition: one agent reads all partitions of its
topic through one buffer, and messages waiting there are not tracked until the agent takes
them. An agent held up by a slow stage (an Elasticsearch outage, a long NER batch) has
messages of its topic in hand, so its partitions are left alone however long they wait.

**The event loop.** A thread beats the loop every second; a loop that misses beats for
``LOOP_BLOCKED_SECONDS`` is blocked by a synchronous call, and the watchdog logs the main
thread's stack, which is the one thing that tells what blocked it.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aiokafka.errors import IllegalStateError
from faust.types import TP

log = logging.getLogger(__name__)

STALLED_SECONDS = 60.0
CHECK_EVERY_SECONDS = 5.0
LOOP_BLOCKED_SECONDS = 30.0


@dataclass
class _Seen:
    committed: int | None
    since: float


class PartitionWatch:
    """Per consumer: each assigned partition's committed offset, and since when it is there."""

    def __init__(self) -> None:
        self.seen: dict[TP, _Seen] = {}
        self.last_check = float("-inf")


def _watch(consumer: Any) -> PartitionWatch:
    state: PartitionWatch | None = getattr(consumer, "_wirehose_watch", None)
    if state is None:
        state = PartitionWatch()
        consumer._wirehose_watch = state
    return state


def topics_in_flight(consumer: Any) -> set[str]:
    """Topics with a message an agent has taken and not acknowledged."""
    return {m.tp.topic for m in list(consumer._unacked_messages) if not m.acked}


def check_partitions(consumer: Any, now: float, *, reread: Callable[[Any, TP], None]) -> None:
    """Find partitions behind their end whose commit has stood still, and get them moving:
    ``reread(consumer, tp)`` asks for ``tp`` to be read again from its commit."""
    state = _watch(consumer)
    if now - state.last_check < CHECK_EVERY_SECONDS:
        return
    state.last_check = now
    if getattr(consumer.app, "rebalancing", False):
        state.seen.clear()  # a rebalance seeks every partition to its commit: start afresh
        return
    assigned = set(consumer.assignment())
    for tp in list(state.seen):
        if tp not in assigned:
            del state.seen[tp]
    busy: set[str] | None = None
    acking = consumer.app.topics.acks_enabled_for
    for tp in assigned:
        if not acking(tp.topic) or tp in consumer._paused_partitions:
            continue  # changelogs and standbys are read, never committed
        committed = consumer._committed_offset.get(tp)
        try:
            highwater = consumer.highwater(tp)
        except (AssertionError, IllegalStateError, KeyError):
            continue  # revoked meanwhile
        seen = state.seen.get(tp)
        if seen is None or seen.committed != committed:
            state.seen[tp] = _Seen(committed, now)
            continue
        if highwater is None or highwater <= (committed if committed is not None else 0):
            seen.since = now  # at its end: waiting is not stalling
            continue
        if now - seen.since < STALLED_SECONDS:
            continue
        if busy is None:
            busy = topics_in_flight(consumer)
        if tp.topic in busy:
            continue
        _heal(consumer, tp, committed, highwater, now - seen.since)
        reread(consumer, tp)
        seen.since = now  # give the heal a full period before acting again


def _heal(consumer: Any, tp: TP, committed: int | None, highwater: int, idle: float) -> None:
    active = consumer._active_partitions
    buffered = tp in consumer._buffered_partitions
    paused = tp in consumer._paused_partitions
    log.warning(
        "partition behind its end with nothing in flight; reading it again from its commit "
        "topic=%s partition=%d committed=%s highwater=%d read=%s stalled_seconds=%.0f "
        "fetching=%s buffered=%s paused=%s acked_pending=%d",
        tp.topic,
        tp.partition,
        committed,
        highwater,
        consumer._read_offset.get(tp),
        idle,
        active is None or tp in active,
        buffered,
        paused,
        len(consumer._acked.get(tp) or ()),
    )
    if buffered and not paused:
        # Its buffer filled, fetching stopped, and the "buffer drained" call never came: nothing
        # of the topic is in flight, so the buffer is empty. Let fetching resume.
        consumer.on_buffer_drop(tp)


class LoopWatch:
    """A thread that notices when the worker's event loop stops turning, and shows where."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        main: threading.Thread,
        *,
        blocked_after: float = LOOP_BLOCKED_SECONDS,
        beat_every: float = 1.0,
    ) -> None:
        self.loop = loop
        self.main = main
        self.blocked_after = blocked_after
        self.beat_every = beat_every
        self.last_beat = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="loop-watch", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _beat(self) -> None:
        self.last_beat = time.monotonic()

    def _run(self) -> None:
        reported = False
        while not self._stop.wait(self.beat_every):
            try:
                self.loop.call_soon_threadsafe(self._beat)
            except RuntimeError:
                return  # the loop is closed: the worker is gone
            blocked = time.monotonic() - self.last_beat
            if blocked < self.blocked_after:
                reported = False
                continue
            if not reported:
                reported = True
                log.warning(
                    "event loop blocked blocked_seconds=%.0f; the main thread is at:\n%s",
                    blocked,
                    main_stack(self.main),
                )


def main_stack(thread: threading.Thread) -> str:
    frames: Mapping[int, Any] = sys._current_frames()
    frame = frames.get(thread.ident or -1)
    if frame is None:
        return "(no frame)"
    return "".join(traceback.format_stack(frame)[-25:])


def install_loop_watch(app: Any) -> None:
    """Start the event-loop watchdog with the worker, from inside its loop."""

    @app.task
    async def loop_watch() -> None:
        LoopWatch(asyncio.get_running_loop(), threading.current_thread()).start()
