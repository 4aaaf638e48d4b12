"""Where the wire-copy detector keeps what it has seen: entries by article id, LSH buckets.

The detector talks to a ``DedupStore`` so that the same logic runs on a dict in unit tests and
on changelog-backed Faust tables in the worker (a restarted or rebalanced worker must still know
what it saw). The interface is deliberately small - put, get, bucket members, expire - because
every operation has to be cheap on a Kafka-backed key/value table too.

An ``Entry`` holds what verification needs without the article text: the article's sketch
(``processors.dedup.sign.sketch``, 128 bytes whatever the article's length) and its number of
shingles, the bucket keys it is filed under and the mark it was given, so that a redelivered
article gets the same mark again. In a table it is stored as ``entry_to_bytes`` writes it.
"""

from __future__ import annotations

import heapq
from datetime import datetime
from typing import Protocol

from pydantic import BaseModel, ConfigDict

from processors.dedup.sign import EXACT_BIT, SKETCH_BYTES
from processors.dedup.wire import Reader, Writer
from wirehose.core.article import DedupMark


class Entry(BaseModel):
    """One article as the dedup state remembers it."""

    model_config = ConfigDict(frozen=True)

    article_id: str
    when: datetime  # wirehose.core.article.event_time(article)
    bucket_keys: tuple[int, ...]  # the exact and band buckets it is filed under in this store
    sketch: bytes  # processors.dedup.sign.sketch of its shingles
    size: int  # how many distinct shingles it has
    # The mark it was given; None in a band partition of the worker, which only proposes and
    # verifies (the mark is decided where all partitions' matches meet, see processors.worker.dedup).
    mark: DedupMark | None = None
    # The rank of the best earlier match found where it was filed: an article ranked after
    # that cannot become its original, so it need not be verified against it.
    best: tuple[datetime, str] | None = None

    @property
    def rank(self) -> tuple[datetime, str]:
        """Canonical order: earliest event time first, then the smallest id (total, stable)."""
        return (self.when, self.article_id)


_HAS_BEST, _HAS_EXACT = 1, 2


def entry_to_bytes(entry: Entry) -> bytes:
    """A bands partition's entry as its table stores it (the id is in the table key; a bands
    entry carries no mark): about 200 bytes for 16 band keys."""
    if entry.mark is not None:
        raise ValueError("a stored bands entry carries no mark")
    exact = [key for key in entry.bucket_keys if key >= EXACT_BIT]
    bands = [key for key in entry.bucket_keys if key < EXACT_BIT]
    flags = (_HAS_BEST if entry.best is not None else 0) | (_HAS_EXACT if exact else 0)
    out = Writer().u8(flags).time(entry.when).varint(entry.size)
    if entry.best is not None:
        out.time(entry.best[0]).ident(entry.best[1])
    if exact:
        out.u64(exact[0] - EXACT_BIT)
    out.u8(len(bands))
    for key in bands:
        out.u32(key)
    return out.raw(entry.sketch).done()


def entry_from_bytes(article_id: str, data: bytes) -> Entry:
    """The entry ``entry_to_bytes`` stored for ``article_id``."""
    read = Reader(data)
    flags = read.u8()
    when = read.time()
    size = read.varint()
    best = (read.time(), read.ident()) if flags & _HAS_BEST else None
    keys = [EXACT_BIT + read.u64()] if flags & _HAS_EXACT else []
    keys.extend(read.u32() for _ in range(read.u8()))
    sketch = read.raw(SKETCH_BYTES)
    return Entry.model_construct(
        article_id=article_id,
        when=when,
        bucket_keys=tuple(keys),
        sketch=sketch,
        size=size,
        mark=None,
        best=best,
    )


# Bucket -> members: one member as its id, several as a list. Nearly every band bucket holds
# one article (a band is shared by copies only), and a list per bucket was most of the memory
# the index took.
Buckets = dict[int, "str | list[str]"]


def members_of(buckets: Buckets, bucket_key: int) -> tuple[str, ...]:
    """The ids filed under ``bucket_key``, in the order they were filed."""
    ids = buckets.get(bucket_key)
    if ids is None:
        return ()
    return (ids,) if isinstance(ids, str) else tuple(ids)


def add_member(buckets: Buckets, bucket_key: int, article_id: str) -> None:
    """File ``article_id`` under ``bucket_key`` (once)."""
    ids = buckets.get(bucket_key)
    if ids is None:
        buckets[bucket_key] = article_id
    elif isinstance(ids, str):
        if ids != article_id:
            buckets[bucket_key] = [ids, article_id]
    elif article_id not in ids:
        ids.append(article_id)


def remove_member(buckets: Buckets, bucket_key: int, article_id: str) -> None:
    """Take ``article_id`` out of ``buckets[bucket_key]``; drop the bucket once it is empty."""
    ids = buckets.get(bucket_key)
    if ids is None:
        return
    if isinstance(ids, str):
        if ids == article_id:
            del buckets[bucket_key]
        return
    if article_id in ids:
        ids.remove(article_id)
        if len(ids) == 1:
            buckets[bucket_key] = ids[0]


class DedupStore(Protocol):
    """The state behind ``WireCopyDetector``: entries by article id and LSH bucket membership."""

    def get(self, article_id: str) -> Entry | None:
        """The entry for ``article_id``, or ``None`` when unknown or expired."""
        ...

    def put(self, entry: Entry) -> None:
        """Remember ``entry`` and file its id under each of its bucket keys (idempotent)."""
        ...

    def members(self, bucket_key: int) -> tuple[str, ...]:
        """Ids filed under ``bucket_key``, in the order they were filed."""
        ...

    def rank(self, article_id: str) -> tuple[datetime, str] | None:
        """The stored entry's rank without decoding it (``None`` when unknown)."""
        ...

    def best(self, article_id: str) -> tuple[datetime, str] | None:
        """The rank of the best earlier match known for the entry here, if any."""
        ...

    def improve(self, article_id: str, rank: tuple[datetime, str]) -> None:
        """A better earlier match for the entry was found here (kept if better than known)."""
        ...

    def expire(self, before: datetime) -> int:
        """Forget every entry whose event time is before ``before``; return how many."""
        ...


class InMemoryDedupStore:
    """A dict-backed ``DedupStore`` for unit tests, benchmarks and single-process use."""

    def __init__(self) -> None:
        self._entries: dict[str, Entry] = {}
        self._buckets: Buckets = {}
        self._by_time: list[tuple[datetime, str]] = []  # heap, so expiry costs what it removes

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, article_id: str) -> Entry | None:
        return self._entries.get(article_id)

    def put(self, entry: Entry) -> None:
        previous = self._entries.get(entry.article_id)
        self._entries[entry.article_id] = entry
        if previous is not None:
            return
        heapq.heappush(self._by_time, (entry.when, entry.article_id))
        for key in entry.bucket_keys:
            add_member(self._buckets, key, entry.article_id)

    def members(self, bucket_key: int) -> tuple[str, ...]:
        return members_of(self._buckets, bucket_key)

    def rank(self, article_id: str) -> tuple[datetime, str] | None:
        entry = self._entries.get(article_id)
        return None if entry is None else entry.rank

    def best(self, article_id: str) -> tuple[datetime, str] | None:
        entry = self._entries.get(article_id)
        return None if entry is None else entry.best

    def improve(self, article_id: str, rank: tuple[datetime, str]) -> None:
        entry = self._entries.get(article_id)
        if entry is not None and (entry.best is None or rank < entry.best):
            self._entries[article_id] = entry.model_copy(update={"best": rank})

    def bucket_count(self) -> int:
        return len(self._buckets)

    def bucket_keys(self) -> tuple[int, ...]:
        return tuple(self._buckets)

    def expire(self, before: datetime) -> int:
        removed = 0
        while self._by_time and self._by_time[0][0] < before:
            _, article_id = heapq.heappop(self._by_time)
            entry = self._entries.pop(article_id, None)
            if entry is None:
                continue
            removed += 1
            for key in entry.bucket_keys:
                remove_member(self._buckets, key, article_id)
        return removed
