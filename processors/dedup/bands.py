"""Stage 2 of the partitioned detector: one bands partition verifies and files probes.

See ``processors.dedup`` for how the three stages fit together.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from processors.dedup.detector import (
    CandidateIndex,
    Watermarks,
)
from processors.dedup.messages import Probe, Table, backfill_message, partial_message
from processors.dedup.store import (
    Buckets,
    Entry,
    add_member,
    entry_from_bytes,
    entry_to_bytes,
    members_of,
    remove_member,
)
from processors.dedup.wire import pack_id, unpack_id
from processors.progress import Progress

log = logging.getLogger(__name__)


class TableDedupStore:
    """``DedupStore`` for one bands partition: entries in a table, buckets derived in memory.

    Entry keys are prefixed with the partition. Bucket membership is not a table of its own:
    filing one article touches 65 buckets, and a changelog-backed table logs a bucket's whole
    member list on every change, which made three quarters of all the messages the worker
    wrote. Membership is a function of the entries instead - every entry lists its buckets - so
    the index is rebuilt from the table, exactly, whenever the partition may have changed hands
    (see ``BandWorker``). Ranks are kept beside it so that ordering candidates decodes nothing.
    """

    def __init__(self, entries: Table, partition: int) -> None:
        self.entries = entries
        self.prefix = partition.to_bytes(2, "big")
        self._buckets: Buckets = {}
        self._ranks: dict[str, tuple[datetime, str]] = {}
        self._best: dict[str, tuple[datetime, str]] = {}
        filed = [
            entry_from_bytes(unpack_id(key[len(self.prefix) :]), raw)
            for key, raw in list(entries.items())
            if key.startswith(self.prefix)
        ]
        for entry in sorted(filed, key=lambda e: e.rank):
            self._file(entry)

    def _file(self, entry: Entry) -> None:
        self._ranks[entry.article_id] = entry.rank
        if entry.best is not None:
            self._best[entry.article_id] = entry.best
        for bucket in entry.bucket_keys:
            add_member(self._buckets, bucket, entry.article_id)

    def get(self, article_id: str) -> Entry | None:
        raw = self.entries.get(self.prefix + pack_id(article_id))
        return None if raw is None else entry_from_bytes(article_id, raw)

    def rank(self, article_id: str) -> tuple[datetime, str] | None:
        return self._ranks.get(article_id)

    def best(self, article_id: str) -> tuple[datetime, str] | None:
        return self._best.get(article_id)

    def improve(self, article_id: str, rank: tuple[datetime, str]) -> None:
        # In memory only: after a rebuild the filed best is known again, worse at most, which
        # costs a verification, never a wrong mark.
        known = self._best.get(article_id)
        if article_id in self._ranks and (known is None or rank < known):
            self._best[article_id] = rank

    def put(self, entry: Entry) -> None:
        key = self.prefix + pack_id(entry.article_id)
        if key in self.entries:
            return
        self.entries[key] = entry_to_bytes(entry)
        self._file(entry)

    def members(self, bucket_key: int) -> tuple[str, ...]:
        return members_of(self._buckets, bucket_key)

    def bucket_members(self) -> dict[int, tuple[str, ...]]:
        """Every bucket and its members (for tests and diagnostics)."""
        return {key: members_of(self._buckets, key) for key in self._buckets}

    def expire(self, before: datetime) -> int:
        old = [article_id for article_id, rank in self._ranks.items() if rank[0] < before]
        for article_id in old:
            entry = self.get(article_id)
            del self._ranks[article_id]
            self._best.pop(article_id, None)
            if entry is None:
                continue
            for bucket in entry.bucket_keys:
                remove_member(self._buckets, bucket, article_id)
            del self.entries[self.prefix + pack_id(article_id)]
        return len(old)


class BandWorker:
    """Stage 2: verify a probe against its buckets in one partition, then file it there.

    ``generation`` is the consumer group generation the probe was read in. Only the worker that
    owns a partition writes its entries, and a partition can change owners only at a rebalance,
    which starts a new generation; so a new generation drops the derived bucket indexes, and
    each is rebuilt from the (recovered) table on its partition's next probe.

    ``handle`` answers the probe's own decider with the best earlier match found here, and
    every later-ranked article the probe matches with a backfill: when copies arrived before
    their original, the original's arrival re-points them.
    """

    def __init__(
        self,
        entries: Table,
        *,
        threshold: float,
        window: timedelta,
        lateness: timedelta = timedelta(hours=72),
        origins: int = 1,
    ) -> None:
        self.entries = entries
        self.threshold, self.window, self.lateness = threshold, window, lateness
        self.origins = origins
        self._indexes: dict[int, tuple[CandidateIndex, Watermarks]] = {}
        self._progress: dict[int, Progress] = {}
        self._generation: int | None = None

    def index(self, partition: int, generation: int = 0) -> CandidateIndex:
        return self._partition(partition, generation)[0]

    def watermarks(self, partition: int, generation: int = 0) -> Watermarks:
        return self._partition(partition, generation)[1]

    def _partition(self, partition: int, generation: int) -> tuple[CandidateIndex, Watermarks]:
        if generation != self._generation:
            self._indexes.clear()
            self._progress.clear()
            self._generation = generation
        known = self._indexes.get(partition)
        if known is None:
            index = CandidateIndex(
                TableDedupStore(self.entries, partition),
                threshold=self.threshold,
                window=self.window,
            )
            marks = Watermarks(self.origins, window=self.window, lateness=self.lateness)
            known = self._indexes[partition] = (index, marks)
        return known

    def handle(
        self,
        partition: int,
        probe: Probe,
        generation: int = 0,
        *,
        offset: int | None = None,
        progress: Progress | None = None,
    ) -> list[tuple[str, bytes]]:
        """``(article_id, message)`` pairs for the deciders: any backfills, then the partial.

        ``progress`` tracks what this bands partition has processed (the agent starts it at the
        group's committed offset); without one, probes are taken to come without holes.

        The order matters. The partial reports how far this partition has come, this probe
        included, and a decider that hears it may forget marks older than that; so the
        backfills this probe causes go out first, ahead of any report that covers it.
        """
        index, marks = self._partition(partition, generation)
        if progress is None:
            progress = self._progress.setdefault(partition, Progress(0))
        if progress.done(offset):
            return []
        if marks.is_late(probe.origin, probe.when):  # against what came before it, not after
            log.warning(
                "article later than the dedup lateness id=%s origin=%d event_time=%s "
                "origin_watermark=%s carried_watermark=%s bands_partition=%d offset=%s",
                probe.article_id,
                probe.origin,
                probe.when.isoformat(),
                marks.high[probe.origin].isoformat(),
                probe.watermark.isoformat() if probe.watermark else None,
                partition,
                offset,
            )
        entry = Entry(
            article_id=probe.article_id,
            when=probe.when,
            bucket_keys=probe.keys,
            sketch=probe.sketch,
            size=probe.size,
        )
        found = index.find(entry)
        index.add(entry, found)  # idempotent: a redelivered probe is not filed twice
        progress.see(
            offset if offset is not None else progress.front or 0, probe.origin, probe.watermark
        )
        for origin, watermark in progress.released.items():
            marks.advance(origin, watermark)
        index.expire(marks.due())
        out = [(other, backfill_message(other, when, match)) for other, when, match in found.later]
        partial = partial_message(
            probe.article_id, partition, probe.parts, found.best, marks.low(), probe.when
        )
        out.append((probe.article_id, partial))
        return out
