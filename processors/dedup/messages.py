"""What the dedup stages send each other, and where: probes, partials, backfills, re-marks.

Each message is JSON (``Probe.to_bytes``, ``article_message``, ``partial_message``,
``backfill_message``, ``Remark.to_bytes``); ``route`` decides which bands partition a bucket
lives on, ``route_partition`` where an article and its re-marks go downstream.
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
from processors.dedup.sign import Signature, bucket_partition
from processors.dedup.store import pack_hashes, unpack_hashes
from wirehose.core.article import Article, DedupMark, event_time

log = logging.getLogger(__name__)

Table = MutableMapping[str, Any]  # a Faust table, or a dict in unit tests


def route(signature: Signature, partitions: int) -> dict[int, tuple[str, ...]]:
    """Bucket keys grouped by the bands-topic partition that owns them."""
    routed: dict[int, list[str]] = {}
    for key in signature.bucket_keys:
        routed.setdefault(bucket_partition(key, partitions), []).append(key)
    return {partition: tuple(keys) for partition, keys in sorted(routed.items())}


def _match_to_json(match: Match) -> dict[str, Any]:
    return {
        "id": match.article_id,
        "when": match.rank[0].isoformat(),
        "sim": match.similarity,
        "method": match.method,
    }


def match_from_json(data: dict[str, Any]) -> Match:
    when = datetime.fromisoformat(data["when"])
    return Match(data["id"], (when, data["id"]), float(data["sim"]), data["method"])


@dataclass(frozen=True)
class Probe:
    """One article's buckets that one bands partition owns, with what verification needs."""

    article_id: str
    when: datetime
    keys: tuple[str, ...]
    shingles: tuple[int, ...]
    parts: int  # how many partitions got a probe: the decider waits for that many partials
    origin: int = 0  # the source partition it came from
    # How far its origin had come when it was signed, counting only what the stages before had
    # processed (``processors.progress``); None: nothing can be said yet.
    watermark: datetime | None = None

    def to_bytes(self) -> bytes:
        return json.dumps(
            {
                "id": self.article_id,
                "when": self.when.isoformat(),
                "keys": list(self.keys),
                "shingles": pack_hashes(self.shingles),
                "parts": self.parts,
                "origin": self.origin,
                "wm": None if self.watermark is None else self.watermark.isoformat(),
            }
        ).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> Probe:
        raw = json.loads(data)
        return cls(
            raw["id"],
            datetime.fromisoformat(raw["when"]),
            tuple(raw["keys"]),
            unpack_hashes(raw["shingles"]),
            int(raw["parts"]),
            int(raw.get("origin", 0)),
            datetime.fromisoformat(raw["wm"]) if raw.get("wm") else None,
        )


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
        p: Probe(entry.article_id, entry.when, keys, entry.shingles, len(routed), origin, watermark)
        for p, keys in routed.items()
    }


def article_message(article: Article, parts: int) -> bytes:
    """The decider's copy of the article, saying how many partials to expect."""
    return json.dumps(
        {
            "kind": "article",
            "id": article.article_id,
            "when": event_time(article).isoformat(),
            "parts": parts,
            "article": article.to_bytes().decode(),
        }
    ).encode()


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
    return json.dumps(
        {
            "kind": "partial",
            "id": article_id,
            "partition": partition,
            "parts": parts,
            "best": None if best is None else _match_to_json(best),
            "low": None if low is None else low.isoformat(),
            "when": None if when is None else when.isoformat(),
        }
    ).encode()


def backfill_message(article_id: str, when: datetime, match: Match) -> bytes:
    """To an article decided earlier: an earlier-ranked copy of it has arrived since."""
    return json.dumps(
        {
            "kind": "backfill",
            "id": article_id,
            "when": when.isoformat(),
            "match": _match_to_json(match),
        }
    ).encode()


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
