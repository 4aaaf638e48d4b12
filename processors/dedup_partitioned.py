"""Wire-copy detection split across Kafka partitions, as plain objects the agents only drive.

An article and its copies arrive on any partition of the source topic, on any worker. They are
brought together by repartitioning on LSH buckets:

1. **sign** (source partition): sign the article, group its bucket keys (exact key + 64 bands)
   by ``bucket_partition``, send one ``Probe`` per partition that owns some of them (at most
   ``P`` messages, each carrying the packed shingles), and the article itself to the decider.
2. **band** (``BandWorker``, one ``CandidateIndex`` per bands-topic partition): verify the
   members of the probe's buckets, file the probe, send a ``Partial`` with the verified matches.
   Every article sharing a bucket key is filed in the same partition, so any pair that LSH
   proposes meets there; a pair sharing several buckets is verified once per partition at most.
3. **decide** (``Decider``, keyed by article_id): wait for the article and all its partials,
   ``combine`` them and ``decide`` exactly as the single-process detector does.

The state lives in plain mutable mappings; in the worker they are changelog-backed Faust
tables. Every key carries the partition whose events write it (Faust sends a table change to the
changelog partition of the *current event*), so a key is never written from two partitions and
recovery restores each partition's keys with that partition.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, MutableMapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from processors.dedup import (
    CandidateIndex,
    Match,
    combine,
    decide,
    event_time,
    mark_article,
    new_entry,
    supersedes,
)
from processors.dedup_sign import Signature, bucket_partition
from processors.dedup_store import Entry, pack_hashes, remove_member, unpack_hashes
from wirehose.article import Article, DedupMark

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


def _match_from_json(data: dict[str, Any]) -> Match:
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

    def to_bytes(self) -> bytes:
        return json.dumps(
            {
                "id": self.article_id,
                "when": self.when.isoformat(),
                "keys": list(self.keys),
                "shingles": pack_hashes(self.shingles),
                "parts": self.parts,
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
        )


def probes(article: Article, signature: Signature, partitions: int) -> dict[int, Probe]:
    """The probes to send for ``article``, by bands-topic partition."""
    entry = new_entry(article, signature)
    routed = route(signature, partitions)
    return {
        p: Probe(entry.article_id, entry.when, keys, entry.shingles, len(routed))
        for p, keys in routed.items()
    }


def article_message(article: Article, parts: int) -> bytes:
    """The decider's copy of the article, saying how many partials to expect."""
    return json.dumps(
        {"kind": "article", "parts": parts, "article": article.to_bytes().decode()}
    ).encode()


def partial_message(article_id: str, partition: int, parts: int, matches: Iterable[Match]) -> bytes:
    return json.dumps(
        {
            "kind": "partial",
            "id": article_id,
            "partition": partition,
            "parts": parts,
            "matches": [_match_to_json(m) for m in matches],
        }
    ).encode()


class TableDedupStore:
    """``DedupStore`` for one bands partition: entries in a table, buckets derived in memory.

    Entry keys are prefixed with the partition. Bucket membership is not a table of its own:
    filing one article touches 65 buckets, and a changelog-backed table logs a bucket's whole
    member list on every change, which made three quarters of all the messages the worker
    wrote. Membership is a function of the entries instead - every entry lists the buckets it is
    filed under, and an eviction rewrites the evicted entry - so the index is rebuilt from the
    table, exactly, whenever the partition may have changed hands (see ``BandWorker``).
    """

    def __init__(self, entries: Table, partition: int) -> None:
        self.entries = entries
        self.prefix = f"{partition}:"
        self._buckets: dict[str, list[str]] = {}
        filed = [
            Entry.model_validate(raw)
            for key, raw in list(entries.items())
            if key.startswith(self.prefix)
        ]
        for entry in sorted(filed, key=lambda e: e.rank):
            self._file(entry)

    def _file(self, entry: Entry) -> None:
        for bucket in entry.bucket_keys:
            members = self._buckets.setdefault(bucket, [])
            if entry.article_id not in members:
                members.append(entry.article_id)

    def get(self, article_id: str) -> Entry | None:
        raw = self.entries.get(self.prefix + article_id)
        return None if raw is None else Entry.model_validate(raw)

    def put(self, entry: Entry) -> None:
        key = self.prefix + entry.article_id
        if key in self.entries:
            return
        self.entries[key] = entry.model_dump(mode="json")
        self._file(entry)

    def members(self, bucket_key: str) -> tuple[str, ...]:
        return tuple(self._buckets.get(bucket_key, ()))

    def bucket_members(self) -> dict[str, tuple[str, ...]]:
        """Every bucket and its members (for tests and diagnostics)."""
        return {key: tuple(ids) for key, ids in self._buckets.items()}

    def unfile(self, bucket_key: str, article_id: str) -> None:
        remove_member(self._buckets, bucket_key, article_id)
        entry = self.get(article_id)
        if entry is not None and bucket_key in entry.bucket_keys:
            # Rewritten so that a rebuild from the table files it where it is filed now.
            kept = tuple(k for k in entry.bucket_keys if k != bucket_key)
            self.entries[self.prefix + article_id] = entry.model_copy(
                update={"bucket_keys": kept}
            ).model_dump(mode="json")

    def expire(self, before: datetime) -> int:
        old = [
            (key, Entry.model_validate(raw))
            for key, raw in list(self.entries.items())
            if key.startswith(self.prefix) and datetime.fromisoformat(raw["when"]) < before
        ]
        for key, entry in old:
            for bucket in entry.bucket_keys:
                remove_member(self._buckets, bucket, entry.article_id)
            del self.entries[key]
        return len(old)


class BandWorker:
    """Stage 2: verify a probe against its buckets in one partition, then file it there.

    ``generation`` is the consumer group generation the probe was read in. Only the worker that
    owns a partition writes its entries, and a partition can change owners only at a rebalance,
    which starts a new generation; so a new generation drops the derived bucket indexes, and
    each is rebuilt from the (recovered) table on its partition's next probe.
    """

    def __init__(
        self,
        entries: Table,
        *,
        threshold: float,
        window: timedelta,
        bucket_capacity: int = 8,
    ) -> None:
        self.entries = entries
        self.threshold, self.window = threshold, window
        self.bucket_capacity = bucket_capacity
        self._indexes: dict[int, CandidateIndex] = {}
        self._generation: int | None = None

    def index(self, partition: int, generation: int = 0) -> CandidateIndex:
        if generation != self._generation:
            self._indexes.clear()
            self._generation = generation
        index = self._indexes.get(partition)
        if index is None:
            index = CandidateIndex(
                TableDedupStore(self.entries, partition),
                threshold=self.threshold,
                window=self.window,
                bucket_capacity=self.bucket_capacity,
            )
            self._indexes[partition] = index
        return index

    def handle(self, partition: int, probe: Probe, generation: int = 0) -> bytes:
        index = self.index(partition, generation)
        entry = Entry(
            article_id=probe.article_id,
            when=probe.when,
            bucket_keys=probe.keys,
            shingles=probe.shingles,
        )
        matches, _candidates = index.match(entry)
        index.add(entry)  # idempotent: a redelivered probe is not filed twice
        return partial_message(probe.article_id, partition, probe.parts, matches)


class Decider:
    """Stage 3: collect an article and its partials; decide once; remember the mark.

    State per article_id (JSON values, reassigned on each change so the changelog has them):
    pending ``{"p", "parts", "partials"}``, then decided ``{"p", "when", "mark"}``; and, while
    pending, the article itself under ``article_id + ARTICLE_SUFFIX``. The article is kept apart
    because it is the large part (body and raw text) and is written once, while the small
    record is rewritten with every partial; together they were rewritten five times over.
    A redelivered article gets its remembered mark again; late partials are ignored.

    Deciding is two steps: ``handle`` returns the marked article, and ``settle`` (called once the
    marked article is safely in Kafka) records the mark and lets the held article go. Recorded
    any earlier, a crash between the two would leave a mark whose article never went out, and
    the redelivered last partial would then be ignored as late: the article lost for good.
    Until settled, a redelivery simply decides again, the same way.
    """

    ARTICLE_SUFFIX = "#article"

    def __init__(self, state: Table, *, window: timedelta) -> None:
        self.state, self.window = state, window
        self._watermark: dict[int, datetime] = {}
        self._expired_before: dict[int, datetime] = {}
        self._unsettled: dict[str, tuple[int, datetime, dict[str, Any]]] = {}

    def handle(self, partition: int, message: bytes) -> Article | None:
        """The marked article once it can be decided (or again, on redelivery), else None."""
        raw = json.loads(message)
        key = raw["id"] if raw["kind"] == "partial" else json.loads(raw["article"])["article_id"]
        current = dict(self.state.get(key) or {"p": partition, "partials": {}})
        if "mark" in current:
            if raw["kind"] != "article":
                return None
            return mark_article(Article.from_bytes(raw["article"]), DedupMark(**current["mark"]))
        held = self.state.get(key + self.ARTICLE_SUFFIX)
        if raw["kind"] == "article":
            held = raw["article"]
            if len(current["partials"]) < raw["parts"]:
                self.state[key + self.ARTICLE_SUFFIX] = held
            current["parts"] = raw["parts"]
        else:
            current["partials"] = {**current["partials"], str(raw["partition"]): raw["matches"]}
            current.setdefault("parts", raw["parts"])
        if held is None or len(current["partials"]) < current["parts"]:
            self.state[key] = current
            return None
        return self._decide(key, partition, held, current)

    def _decide(self, key: str, partition: int, held: str, current: dict[str, Any]) -> Article:
        article = Article.from_bytes(held)
        entry_when = event_time(article)
        partials = [[_match_from_json(m) for m in ms] for ms in current["partials"].values()]
        matches = combine(partials)
        rank = (entry_when, article.article_id)
        mark = decide(rank, matches)
        late = supersedes(rank, matches)
        if late:
            log.info("late original id=%s supersedes=%s", article.article_id, ",".join(late))
        decided = {"p": partition, "when": entry_when.isoformat(), "mark": mark.model_dump()}
        self._unsettled[key] = (partition, entry_when, decided)
        return mark_article(article, mark)

    def settle(self, article_id: str) -> None:
        """Record the decision for ``article_id``: call once its marked article is in Kafka."""
        unsettled = self._unsettled.pop(article_id, None)
        if unsettled is None:
            return  # a redelivered, already settled article: its mark is recorded
        partition, when, decided = unsettled
        self.state[article_id] = decided
        self.state.pop(article_id + self.ARTICLE_SUFFIX, None)
        self._expire(partition, when)

    def _expire(self, partition: int, when: datetime) -> None:
        """Forget decided marks of this partition older than the window (event time)."""
        watermark = max(when, self._watermark.get(partition, when))
        self._watermark[partition] = watermark
        cutoff = watermark - self.window
        last = self._expired_before.get(partition)
        if last is not None and cutoff - last < self.window / 24:
            return
        self._expired_before[partition] = cutoff
        for key, value in list(self.state.items()):
            if (
                isinstance(value, dict)  # a held article is a string; it goes when decided
                and value.get("p") == partition
                and "when" in value
                and datetime.fromisoformat(value["when"]) < cutoff
            ):
                del self.state[key]
