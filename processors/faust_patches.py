"""A correction to faust-streaming's offset bookkeeping that "nothing lost" depends on.

Faust commits, per partition, the end of the first run of consecutive acknowledged offsets. Two
parts of that are unsafe for us, and a rebalance reaches both:

- Its guard against a hole at the head of that run is off by one: with committed offset ``C``
  (the next offset to read) it refuses to commit when the lowest acked offset is above ``C + 1``,
  so an unacknowledged message at exactly ``C`` can be committed past.
- It counts every offset in its "gap" as acknowledged. A gap is any jump between the offset last
  read and the next one; it is meant for compacted topics and transaction markers, which we do
  not have. We get gaps only when Faust drops messages it has taken from the client: at a
  rebalance ``getmany`` stops mid-batch, and a ``perform_seek`` during a batch resets the read
  offset under it. Counting those as acked can commit past messages nobody processed, which then
  nothing reads again: the likely way the live-takeover fault test stranded 1-3 articles for good.

``strict_new_offset`` is Faust's method with the guard made exact and without the gap: never
commit past ``C`` until ``C`` itself is acknowledged (with no commit yet, ``C`` is the start of
the log), and never commit blind (no known ``C``) during a rebalance. A hole at the head that
outlives ``faust_rereads.HOLE_SEEK_SECONDS`` makes the consumer re-read the partition from ``C``
(``processors.faust_rereads``); the pipeline, idempotent by ``article_id``, absorbs the
repeats, and offsets that re-read proves absent count as done. If re-reads do not close the
hole, the worker rejoins its group, and Faust reads every partition again from its committed
offset, as a restart would. Lost becomes late, never gone.
"""

from __future__ import annotations

import logging
from typing import Any

from faust.transport.consumer import Consumer
from faust.types import TP
from faust.utils.functional import consecutive_numbers

from processors import faust_rereads
from processors.faust_rereads import hole_closed, hole_open

log = logging.getLogger(__name__)


def strict_new_offset(self: Any, tp: TP) -> int | None:
    """The offset to commit for ``tp``, or None when the next unread message is not yet acked."""
    _distrust_gap(self, tp)
    acked: list[int] = self._acked[tp]
    if not acked:
        return None
    committed = self._committed_offset[tp]
    if committed is None and getattr(getattr(self, "app", None), "rebalancing", False):
        # Faust forgets C when partitions are revoked, then acks what is in flight: committing
        # that run blind could jump a hole; the next owner re-reads from the last commit instead.
        return None
    acked.sort()
    # No commit yet means the head is the start of the log (we read from "earliest"), not "any
    # offset": messages 0 and 1 of a partition dropped at the group's first rebalance were
    # otherwise committed past by the first acked run, and lost (the live-takeover fault test,
    # 6 of 1200 articles, 2026-11-22). Faust also keeps a committed 0 as None.
    head = committed if committed is not None else 0
    if acked[0] > head:
        hole_open(self, tp)
        return None  # the message at the head is not acknowledged yet: never commit past it
    hole_closed(self, tp)
    batch = next(consecutive_numbers(acked))
    acked[: len(batch)] = []
    self._acked_index[tp].difference_update(batch)
    return int(batch[-1]) + 1


def _distrust_gap(consumer: Any, tp: TP) -> None:
    """Drop Faust's gap for ``tp``: its offsets were dropped unread, not acknowledged."""
    gap = consumer._gap.pop(tp, None)
    if gap:
        log.warning(
            "not counting skipped offsets as acknowledged topic=%s partition=%d offsets=%d-%d",
            tp.topic,
            tp.partition,
            gap.begin(),
            gap.end() - 1,
        )


def install() -> None:
    """Replace Faust's methods once per process."""
    faust_rereads.install()
    if getattr(Consumer._new_offset, "__wirehose__", False):
        return
    strict_new_offset.__wirehose__ = True  # type: ignore[attr-defined]
    Consumer._new_offset = strict_new_offset  # type: ignore[method-assign]
    log.debug("installed the strict commit-offset guard on faust Consumer")
