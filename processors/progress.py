"""Event-time progress that only moves past records a stage has actually processed.

A stage that expires state by event time must not let its watermark run ahead of records it
has not processed yet. Kafka delivers a partition in order, but a worker does not always
process it in order: at a rebalance Faust can drop messages it fetched, process the ones after
them, and read the dropped ones again later (``processors.faust_rereads``). In a backlog those
stragglers can be days of event time behind everything processed meanwhile; had the watermark
counted what came after them, the state they need would be gone when they finally arrive.

So every stage on the way - validate (raw offsets), dedup-sign (articles offsets), dedup-band
(bands offsets) and dedup-decide (verdicts offsets) - keeps a ``Progress`` per input partition:
the first offset it has not processed yet (its *front*, starting at the group's committed
offset), and, per key, the highest watermark carried by the records below that front. A hole
holds the front, and with it the watermark, until it is filled.
"""

from __future__ import annotations

from collections.abc import Hashable
from datetime import datetime


class Progress:
    """One input partition: ``see`` each processed record; ``released`` is what may be trusted.

    A record counts once everything below it has been processed (the *front*) and, when the
    group's committed offset is known (``commit``), once it lies below that too: a record at or
    above the commit may still be read again after a restart or a rebalance, and must then find
    the state it found the first time, so what it carries cannot move expiry yet.
    """

    def __init__(self, start: int) -> None:
        self.front = start  # every offset below it has been processed
        self.committed: int | None = None
        self.released: dict[Hashable, datetime] = {}
        self._released_to = start
        self._seen: dict[int, tuple[Hashable, datetime | None]] = {}

    def commit(self, offset: int | None) -> None:
        """The group's committed offset for this partition (it only moves forward)."""
        if offset is not None and (self.committed is None or offset > self.committed):
            self.committed = offset
            self._release()

    def see(self, offset: int, key: Hashable, watermark: datetime | None) -> None:
        """Record that the record at ``offset`` was processed; it carries ``watermark`` (if any)
        for ``key``. Offsets already counted are repeats (a re-read) and change nothing."""
        if offset < self._released_to or offset in self._seen:
            return
        self._seen[offset] = (key, watermark)
        while self.front in self._seen:
            self.front += 1
        self._release()

    def _release(self) -> None:
        limit = self.front if self.committed is None else min(self.front, self.committed)
        while self._released_to < limit:
            key, mark = self._seen.pop(self._released_to)
            if mark is not None and (key not in self.released or mark > self.released[key]):
                self.released[key] = mark
            self._released_to += 1

    def done(self, offset: int | None) -> bool:
        """Whether the record at ``offset`` is below the group's commit: a record read again
        there was processed before, and everything it caused is already in Kafka (Faust
        flushes its sends and table changes before it commits), so it is skipped. Processed
        again after state it saw has expired, it would say less than it did the first time."""
        return offset is not None and self.committed is not None and offset < self.committed

    def get(self, key: Hashable) -> datetime | None:
        return self.released.get(key)

    @property
    def waiting(self) -> int:
        """Records processed but not counted yet (above a hole or the commit)."""
        return len(self._seen)
