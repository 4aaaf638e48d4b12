"""What the dedup stages send each other, and where: probes, partials, backfills, re-marks.

Probes (on the bands topic) and the article, partial and backfill messages (on the verdicts
topic) are binary records of ``processors.dedup.wire`` format 2, one kind byte after the
format byte: a probe is about 230 bytes, most of them its sketch, where it was 1.4 KB of JSON
with base64 shingles; the article message carries the article's own JSON bytes after a short
header instead of escaping it into a JSON string. ``decode_verdict`` reads the verdicts
topic's three kinds back into the plain dicts the decider works on. ``Remark`` stays JSON: it
leaves dedup and is read by the stages after it and the sink.

``route`` decides which bands partition a bucket lives on, ``route_partition`` where an
article and its re-marks go downstream.
"""

from __future__ import annotations

import json
import logging
from collections.abc import MutableMapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kafka.partitioner.default import murmur2

from processors.dedup.detector import (
    Match,
    new_entry,
)
from processors.dedup.sign import EXACT_BIT, SKETCH_BYTES, Signature, bucket_partition
from processors.dedup.wire import Reader, WireFormatError, Writer
from wirehose.core.article import Article, DedupMark, event_time

log = logging.getLogger(__name__)

# A dedup table: a Faust table with bytes keys and values, or a dict in tests and benchmarks.
Table = MutableMapping[bytes, bytes]

PROBE, ARTICLE, PARTIAL, BACKFILL = 1, 2, 3, 4  # the kind byte after the format byte
_EXACT_METHOD = 1  # a match's method byte: 1 exact, 0 minhash


def route(signature: Signature, partitions: int) -> dict[int, tuple[int, ...]]:
    """Bucket keys grouped by the bands-topic partition that owns them."""
    routed: dict[int, list[int]] = {}
    for key in signature.bucket_keys:
        routed.setdefault(bucket_partition(key, partitions), []).append(key)
    return {partition: tuple(keys) for partition, keys in sorted(routed.items())}


def _write_match(out: Writer, match: Match) -> None:
    out.ident(match.article_id).time(match.rank[0]).f64(match.similarity)
    out.u8(_EXACT_METHOD if match.method == "exact" else 0)


def _read_match(read: Reader) -> dict[str, Any]:
    """A match as the decider keeps it: ``{"id", "when", "sim", "method"}``."""
    article_id, when, similarity = read.ident(), read.time(), read.f64()
    method = "exact" if read.u8() == _EXACT_METHOD else "minhash"
    return {"id": article_id, "when": when.isoformat(), "sim": similarity, "method": method}


def match_from_json(data: dict[str, Any]) -> Match:
    when = datetime.fromisoformat(data["when"])
    return Match(data["id"], (when, data["id"]), float(data["sim"]), data["method"])


_HAS_WATERMARK, _HAS_EXACT = 1, 2


@dataclass(frozen=True)
class Probe:
    """One article's buckets that one bands partition owns, with what verification needs."""

    article_id: str
    when: datetime
    keys: tuple[int, ...]
    sketch: bytes
    size: int  # distinct shingles
    parts: int  # how many partitions got a probe: the decider waits for that many partials
    origin: int = 0  # the source partition it came from
    # How far its origin had come when it was signed, counting only what the stages before had
    # processed (``processors.progress``); None: nothing can be said yet.
    watermark: datetime | None = None

    def to_bytes(self) -> bytes:
        exact = [key for key in self.keys if key >= EXACT_BIT]
        bands = [key for key in self.keys if key < EXACT_BIT]
        flags = (_HAS_WATERMARK if self.watermark is not None else 0) | (_HAS_EXACT if exact else 0)
        out = Writer(PROBE).u8(flags).time(self.when)
        if self.watermark is not None:
            out.time(self.watermark)
        out.varint(self.size).u16(self.origin).u16(self.parts).ident(self.article_id)
        if exact:
            out.u64(exact[0] - EXACT_BIT)
        out.u8(len(bands))
        for key in bands:
            out.u32(key)
        return out.raw(self.sketch).done()

    @classmethod
    def from_bytes(cls, data: bytes) -> Probe:
        read = Reader(data)
        if read.kind != PROBE:
            raise WireFormatError(f"not a probe (kind {read.kind})")
        flags = read.u8()
        when = read.time()
        watermark = read.time() if flags & _HAS_WATERMARK else None
        size, origin, parts = read.varint(), read.u16(), read.u16()
        article_id = read.ident()
        keys = [EXACT_BIT + read.u64()] if flags & _HAS_EXACT else []
        keys.extend(read.u32() for _ in range(read.u8()))
        sketch = read.raw(SKETCH_BYTES)
        return cls(article_id, when, tuple(keys), sketch, size, parts, origin, watermark)


def probes(
    article: Article,
    signature: Signature,
    partitions: int,
    origin: int = 0,
    watermark: datetime | None = None,
) -> dict[int, Probe]:
    """The probes to send for ``article`` read from source partition ``origin``, by bands-topic
    partition."""
    entry = new_entry(article, signature)
    routed = route(signature, partitions)
    return {
        p: Probe(
            entry.article_id,
            entry.when,
            keys,
            entry.sketch,
            entry.size,
            len(routed),
            origin,
            watermark,
        )
        for p, keys in routed.items()
    }


def article_message(article: Article, parts: int) -> bytes:
    """The decider's copy of the article, saying how many partials to expect."""
    out = Writer(ARTICLE).u16(parts).time(event_time(article)).ident(article.article_id)
    return out.raw(article.to_bytes()).done()


_HAS_BEST, _HAS_LOW, _HAS_WHEN = 1, 2, 4


def partial_message(
    article_id: str,
    partition: int,
    parts: int,
    best: Match | None,
    low: datetime | None = None,
    when: datetime | None = None,
) -> bytes:
    """What one bands partition found for an article: its best-ranked earlier match, if any,
    and how far its slowest origin has come (``low``), which tells the deciders how long that
    partition may still send backfills for an article."""
    flags = (
        (_HAS_BEST if best is not None else 0)
        | (_HAS_LOW if low is not None else 0)
        | (_HAS_WHEN if when is not None else 0)
    )
    out = Writer(PARTIAL).u8(flags).u16(partition).u16(parts).ident(article_id)
    if low is not None:
        out.time(low)
    if when is not None:
        out.time(when)
    if best is not None:
        _write_match(out, best)
    return out.done()


def backfill_message(article_id: str, when: datetime, match: Match) -> bytes:
    """To an article decided earlier: an earlier-ranked copy of it has arrived since."""
    out = Writer(BACKFILL).time(when).ident(article_id)
    _write_match(out, match)
    return out.done()


def decode_verdict(message: bytes) -> dict[str, Any]:
    """A verdicts-topic message as the decider reads it: ``kind`` (article, partial or
    backfill), ``id``, and the fields of that kind, times as ISO strings."""
    read = Reader(message)
    if read.kind == ARTICLE:
        parts, when, article_id = read.u16(), read.time(), read.ident()
        article = read.rest().decode("utf-8")
        return {
            "kind": "article",
            "id": article_id,
            "when": when.isoformat(),
            "parts": parts,
            "article": article,
        }
    if read.kind == PARTIAL:
        flags, partition, parts, article_id = read.u8(), read.u16(), read.u16(), read.ident()
        low = read.time().isoformat() if flags & _HAS_LOW else None
        at = read.time().isoformat() if flags & _HAS_WHEN else None
        best = _read_match(read) if flags & _HAS_BEST else None
        return {
            "kind": "partial",
            "id": article_id,
            "partition": partition,
            "parts": parts,
            "best": best,
            "low": low,
            "when": at,
        }
    if read.kind == BACKFILL:
        when, article_id = read.time(), read.ident()
        return {
            "kind": "backfill",
            "id": article_id,
            "when": when.isoformat(),
            "match": _read_match(read),
        }
    raise WireFormatError(f"not a verdicts message (kind {read.kind})")


def route_partition(route: str, partitions: int) -> int:
    """The partition Kafka's default partitioner gives the key ``route``: a copy goes where its
    original went, so one worker tags both."""
    return (murmur2(route.encode()) & 0x7FFFFFFF) % partitions


@dataclass(frozen=True)
class Remark:
    """A decided article's new mark: an earlier-ranked copy of it arrived after it was sent."""

    article_id: str
    mark: DedupMark

    def to_bytes(self) -> bytes:
        return json.dumps({"article_id": self.article_id, "dedup": self.mark.model_dump()}).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> Remark:
        raw = json.loads(data)
        return cls(raw["article_id"], DedupMark(**raw["dedup"]))
