"""Event-time progress that only moves past records a stage has actually processed.

A stage that expires state by event time must not let its watermark run ahead of records it
has not processed yet. Kafka delivers a partition in order, but a worker does not always
process it in order: at a rebalance Faust can drop messages it fetched, process the ones after
them, and read the dropped ones again later (``processors.worker.rereads``). In a backlog those
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

    A record counts once it lies below the group's committed offset (``commit``): a record at
    or above the commit may still be read again after a restart or a rebalance, and must then
    find the state it found the first time, so what it carries cannot move expiry yet. The
    commit never passes an unprocessed record (``processors.worker.patches``), so below it there
    is no hole. Without a commit to go by (``start`` given, as in one process), a record counts
    once everything from ``start`` up to it has been seen.
    """

    def __init__(self, start: int | None = 0) -> None:
        self.front = start  # every offset below it has been seen (None: go by the commit)
        self.committed: int | None = None
        self.released: dict[Hashable, datetime] = {}
        self._released_to = start  # None until the first commit is known
        self._seen: dict[int, tuple[Hashable, datetime | None]] = {}

    def commit(self, offset: int | None) -> None:
        """The group's committed offset for this partition (it only moves forward)."""
        if offset is None or (self.committed is not None and offset <= self.committed):
            return
        self.committed = offset
        if self._released_to is None:
            # What lies below the first commit this process knows was processed before it
            # started: nothing it saw there can be claimed.
            self._released_to = offset
            self._seen = {o: seen for o, seen in self._seen.items() if o >= offset}
        self._release()

    def see(self, offset: int, key: Hashable, watermark: datetime | None) -> None:
        """Record that the record at ``offset`` was processed; it carries ``watermark`` (if any)
        for ``key``. Offsets already counted are repeats (a re-read) and change nothing."""
        if (self._released_to is not None and offset < self._released_to) or offset in self._seen:
            return
        self._seen[offset] = (key, watermark)
        if self.front is not None:
            while self.front in self._seen:
                self.front += 1
        self._release()

    def _release(self) -> None:
        if self._released_to is None:
            return
        limits = [limit for limit in (self.front, self.committed) if limit is not None]
        limit = min(limits)
        for offset in sorted(o for o in self._seen if o < limit):
            key, mark = self._seen.pop(offset)
            if mark is not None and (key not in self.released or mark > self.released[key]):
                self.released[key] = mark
        self._released_to = max(self._released_to, limit)

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
