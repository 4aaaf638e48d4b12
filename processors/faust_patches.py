"""A correction to faust-streaming's offset bookkeeping that "nothing lost" depends on.

Faust commits, per partition, the end of the first run of consecutive acknowledged offsets. Its
guard against a hole at the head of that run is off by one: with committed offset ``C`` (the
next offset to read) it refuses to commit when the lowest acked offset is above ``C + 1``, so an
unacknowledged message at exactly ``C`` can be committed past. A rebalance makes that reachable:
a worker that keeps a partition finishes and acks a batch read before the rebalance while the
message at ``C`` is still on its way again, and the commit skips it for good. The fault test with
two workers, one killed, lost exactly one article that way (one in 1200, intermittently).

``strict_new_offset`` is Faust's method with the guard made exact: never commit past ``C`` until
``C`` itself is acknowledged. A message dropped at a rebalance is not fetched again by itself
(the fetch position has moved on), so a hole at the head that outlives ``HOLE_SEEK_SECONDS`` makes
the consumer seek the partition back to ``C``: the messages from ``C`` on are delivered again, and
the pipeline, idempotent by ``article_id``, absorbs the repeats. Lost becomes late, never gone.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from faust.transport.consumer import Consumer
from faust.types import TP
from faust.utils.functional import consecutive_numbers

log = logging.getLogger(__name__)

HOLE_SEEK_SECONDS = 5.0
_SEEKS: set[asyncio.Task[None]] = set()


def strict_new_offset(self: Any, tp: TP) -> int | None:
    """The offset to commit for ``tp``, or None when the next unread message is not yet acked."""
    acked: list[int] = self._acked[tp]
    if not acked:
        return None
    max_offset = max(acked)
    gap_for_tp = self._gap[tp]
    if gap_for_tp:
        # Offsets known not to exist (compaction, transaction markers) count as acknowledged.
        candidates = sorted(gap_for_tp.overlap(0, max_offset), key=lambda x: x.begin)
        if candidates:
            filled: list[int] = []
            for entry in candidates:
                filled.extend(range(entry.begin, entry.end))
            acked.extend(filled)
            gap_for_tp.chop(0, max(filled[-1], max_offset + 1))
    acked.sort()
    committed = self._committed_offset[tp]
    if committed is not None and acked[0] > committed:
        _heal_hole(self, tp, committed)
        return None  # the message at `committed` is not acknowledged yet: never commit past it
    _holes(self).pop(tp, None)
    batch = next(consecutive_numbers(acked))
    acked[: len(batch)] = []
    self._acked_index[tp].difference_update(batch)
    return int(batch[-1]) + 1


def _holes(consumer: Any) -> dict[TP, float]:
    holes: dict[TP, float] | None = getattr(consumer, "_wirehose_holes", None)
    if holes is None:
        holes = {}
        consumer._wirehose_holes = holes
    return holes


def _heal_hole(consumer: Any, tp: TP, committed: int) -> None:
    """Seek ``tp`` back to ``committed`` once a hole at the head has lasted long enough."""
    holes = _holes(consumer)
    first_seen = holes.setdefault(tp, time.monotonic())
    if time.monotonic() - first_seen < HOLE_SEEK_SECONDS:
        return  # usually the message is simply still being processed
    holes.pop(tp, None)
    log.warning(
        "re-reading a partition whose next message was never acknowledged topic=%s "
        "partition=%d offset=%d",
        tp.topic,
        tp.partition,
        committed,
    )
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return  # not on the worker's loop (unit tests): nothing to seek
    task = loop.create_task(consumer.seek(tp, committed))
    _SEEKS.add(task)  # keep a reference until done, or the task may be collected mid-flight
    task.add_done_callback(_SEEKS.discard)


def install() -> None:
    """Replace Faust's method once per process."""
    if getattr(Consumer._new_offset, "__wirehose__", False):
        return
    strict_new_offset.__wirehose__ = True  # type: ignore[attr-defined]
    Consumer._new_offset = strict_new_offset  # type: ignore[method-assign]
    log.debug("installed the strict commit-offset guard on faust Consumer")
