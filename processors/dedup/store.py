"""Where the wire-copy detector keeps what it has seen: entries by article id, LSH buckets.

The detector talks to a ``DedupStore`` so that the same logic runs on a dict in unit tests and
on changelog-backed Faust tables in the worker (a restarted or rebalanced worker must still know
what it saw). The interface is deliberately small - put, get, bucket members, expire - because
every operation has to be cheap on a Kafka-backed key/value table too.

An ``Entry`` holds what verification needs without the article text: the sorted 32-bit shingle
hashes (about 4 bytes per word of story text), the bucket keys it is filed under and the mark it
was given, so that a redelivered article gets the same mark again.
"""

from __future__ import annotations

import base64
import heapq
import struct
from datetime import datetime
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, field_serializer, field_validator

from wirehose.core.article import DedupMark


def pack_hashes(values: tuple[int, ...]) -> str:
    """32-bit hashes as base64 of big-endian words: ~5.3 characters each instead of ~11 in JSON."""
    return base64.b64encode(struct.pack(f">{len(values)}I", *values)).decode("ascii")


def unpack_hashes(text: str) -> tuple[int, ...]:
    raw = base64.b64decode(text.encode("ascii"))
    return struct.unpack(f">{len(raw) // 4}I", raw)


class Entry(BaseModel):
    """One article as the dedup state remembers it."""

    model_config = ConfigDict(frozen=True)

    article_id: str
    when: datetime  # wirehose.core.article.event_time(article)
    bucket_keys: tuple[str, ...]  # the exact and band buckets it is filed under in this store
    shingles: tuple[int, ...]
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

    @field_serializer("shingles")
    def _pack(self, value: tuple[int, ...]) -> str:
        return pack_hashes(value)

    @field_validator("shingles", mode="before")
    @classmethod
    def _unpack(cls, value: Any) -> Any:
        return unpack_hashes(value) if isinstance(value, str) else value


def remove_member(buckets: dict[str, list[str]], bucket_key: str, article_id: str) -> None:
    """Take ``article_id`` out of ``buckets[bucket_key]``; drop the bucket once it is empty."""
    ids = buckets.get(bucket_key)
    if ids is not None and article_id in ids:
        ids.remove(article_id)
        if not ids:
            del buckets[bucket_key]


class DedupStore(Protocol):
    """The state behind ``WireCopyDetector``: entries by article id and LSH bucket membership."""

    def get(self, article_id: str) -> Entry | None:
        """The entry for ``article_id``, or ``None`` when unknown or expired."""
        ...

    def put(self, entry: Entry) -> None:
        """Remember ``entry`` and file its id under each of its bucket keys (idempotent)."""
        ...

    def members(self, bucket_key: str) -> tuple[str, ...]:
        """Ids filed under ``bucket_key``, in the order they were filed."""
        ...

    def rank(self, article_id: str) -> tuple[datetime, str] | None:
        """The stored entry's rank without decoding its shingles (``None`` when unknown)."""
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
        self._buckets: dict[str, list[str]] = {}
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
            self._buckets.setdefault(key, []).append(entry.article_id)

    def members(self, bucket_key: str) -> tuple[str, ...]:
        return tuple(self._buckets.get(bucket_key, ()))

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

    def bucket_keys(self) -> tuple[str, ...]:
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
