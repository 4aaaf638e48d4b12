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
from collections.abc import MutableMapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from kafka.partitioner.default import murmur2

from processors.dedup.detector import (
    CANONICAL,
    CandidateIndex,
    Match,
    Watermarks,
    combine,
    decide,
    mark_article,
    new_entry,
)
from processors.dedup.sign import Signature, bucket_partition
from processors.dedup.store import Entry, pack_hashes, remove_member, unpack_hashes
from processors.progress import Progress
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
        self.prefix = f"{partition}:"
        self._buckets: dict[str, list[str]] = {}
        self._ranks: dict[str, tuple[datetime, str]] = {}
        self._best: dict[str, tuple[datetime, str]] = {}
        filed = [
            Entry.model_validate(raw)
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
            members = self._buckets.setdefault(bucket, [])
            if entry.article_id not in members:
                members.append(entry.article_id)

    def get(self, article_id: str) -> Entry | None:
        raw = self.entries.get(self.prefix + article_id)
        return None if raw is None else Entry.model_validate(raw)

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
            del self.entries[self.prefix + article_id]
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
                "article later than the dedup lateness id=%s origin=%d event_time=%s",
                probe.article_id,
                probe.origin,
                probe.when.isoformat(),
            )
        entry = Entry(
            article_id=probe.article_id,
            when=probe.when,
            bucket_keys=probe.keys,
            shingles=probe.shingles,
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


def _order(match: dict[str, Any]) -> tuple[datetime, str, bool]:
    """How good a JSON match is for a mark, best first: by the rank it points at, and for the
    same article, found by its exact bucket before found by a band. Marks only ever move to a
    better match, so every order of arrival ends with the same one."""
    return (datetime.fromisoformat(match["when"]), match["id"], match["method"] != "exact")


def _better(a: dict[str, Any] | None, b: dict[str, Any] | None) -> dict[str, Any] | None:
    """The better of two JSON matches (either may be missing)."""
    if a is None or b is None:
        return a or b
    return a if _order(a) <= _order(b) else b


class Decider:
    """Stage 3: collect an article and its partials; decide; remember the mark; re-mark.

    State per article_id (JSON values, reassigned on each change so the changelog has them):
    pending ``{"p", "when", "parts", "partials", "extra", "ao"}``, then decided ``{"p", "when",
    "mark", "to", "route", "ao"}`` (``to``: the rank the mark points at, its own for a
    canonical, and whether by exact text; ``route``: see ``route``; ``ao``: the offset of the
    article's own message); and, while pending, the article itself under ``article_id + ARTICLE_SUFFIX``. The article is kept apart because it
    is the large part (body and raw text) and is written once, while the small record is
    rewritten with every partial. A redelivered article gets its remembered mark again; late
    partials are ignored. A backfill - an earlier-ranked copy found after the decision - moves
    the mark to it, and only ever to a better rank, so redeliveries and any order of backfills
    end at the same mark: the best-ranked copy there is, as the reference detector decides.

    Deciding is two steps: ``handle`` returns the marked article (or a ``Remark``), and
    ``settle`` (called once that is safely in Kafka) records the mark and lets the held
    article go. Recorded any earlier, a crash between the two would leave a mark whose article
    never went out, and the redelivered message would then be ignored: the article or its new
    mark lost for good. Until settled, a redelivery simply decides again, the same way.
    """

    ARTICLE_SUFFIX = "#article"

    def __init__(
        self,
        state: Table,
        *,
        window: timedelta,
        lateness: timedelta = timedelta(hours=72),
        origins: int = 1,
    ) -> None:
        self.state, self.window, self.lateness, self.origins = state, window, lateness, origins
        # Per verdicts partition, the progress each bands partition reported in its partials.
        self._bands: dict[int, Watermarks] = {}
        self._progress: dict[int, Progress] = {}
        self._unsettled: dict[str, tuple[int, dict[str, Any]]] = {}

    def handle(
        self,
        partition: int,
        message: bytes,
        *,
        offset: int | None = None,
        progress: Progress | None = None,
        committed: int | None = None,
    ) -> Article | Remark | None:
        """The marked article once it can be decided (or again, on redelivery), a ``Remark``
        when a backfill improves a decided mark, else None.

        ``progress`` tracks what this verdicts partition has processed (see ``BandWorker``);
        ``committed`` is the group's committed offset of it, below which nothing is read again.
        """
        if progress is None:
            progress = self._progress.setdefault(partition, Progress(0))
        self._progress[partition] = progress  # the agent's, when it passes one: _expire reads it
        progress.commit(committed)
        if progress.done(offset):
            return None
        raw = json.loads(message)
        kind, key = raw["kind"], raw["id"]
        low = raw.get("low") if kind == "partial" else None
        progress.see(
            offset if offset is not None else progress.front or 0,
            raw.get("partition"),
            datetime.fromisoformat(low) if low else None,
        )
        for band, reported in progress.released.items():
            self._observe(partition, int(band), reported)  # type: ignore[call-overload]
        current = dict(self.state.get(key) or {"p": partition, "partials": {}})
        if "mark" in current:
            if kind == "article":
                mark = DedupMark(**current["mark"])
                return mark_article(Article.from_bytes(raw["article"]), mark)
            if kind == "backfill":
                return self._remark(key, partition, current, raw["match"])
            return None  # a redelivered partial: the decision had all of them
        held = self.state.get(key + self.ARTICLE_SUFFIX)
        if kind == "article":
            held = raw["article"]
            if len(current["partials"]) < raw["parts"]:
                self.state[key + self.ARTICLE_SUFFIX] = held
            current["parts"], current["when"] = raw["parts"], raw["when"]
            if offset is not None:
                current["ao"] = offset  # where the article is: re-read from there, it re-decides
        elif kind == "partial":
            # A partial read again may have been computed after state expired: keep the better.
            band = str(raw["partition"])
            known = current["partials"].get(band)
            current["partials"] = {**current["partials"], band: _better(known, raw["best"])}
            current.setdefault("parts", raw["parts"])
            if raw.get("when"):
                current.setdefault("when", raw["when"])
        else:  # a backfill before the decision: one more candidate for it
            current["extra"] = _better(current.get("extra"), raw["match"])
            current.setdefault("when", raw["when"])
        if held is None or len(current["partials"]) < current.get("parts", 1 << 30):
            self.state[key] = current
            return None
        return self._decide(key, partition, held, current)

    def _decide(self, key: str, partition: int, held: str, current: dict[str, Any]) -> Article:
        article = Article.from_bytes(held)
        when = event_time(article)
        found = [current.get("extra"), *current["partials"].values()]
        matches = combine([[_match_from_json(m)] for m in found if m is not None])
        mark = decide((when, article.article_id), matches)
        to = (when, article.article_id) if mark.is_canonical else None
        for match in matches:
            if match.article_id == mark.duplicate_of:
                to = match.rank
        assert to is not None
        decided = {
            "p": partition,
            "when": when.isoformat(),
            "mark": mark.model_dump(),
            "to": [to[0].isoformat(), to[1], mark.method == "exact"],
            # Where it and its re-marks go downstream, fixed at the first decision so that a
            # re-mark always travels behind its article: with its original, whose entities the
            # tagger there still holds.
            "route": mark.duplicate_of or key,
        }
        if "ao" in current:
            decided["ao"] = current["ao"]
        self._unsettled[key] = (partition, decided)
        return mark_article(article, mark)

    def _remark(
        self, key: str, partition: int, current: dict[str, Any], match: dict[str, Any]
    ) -> Remark | None:
        when, to_id, exact = current["to"]
        if _order(match) >= (datetime.fromisoformat(when), to_id, not exact):
            return None  # not better than what the mark points at: a redelivery, a worse copy
        mark = decide((datetime.fromisoformat(current["when"]), key), [_match_from_json(match)])
        if mark == CANONICAL:
            return None
        log.info("late original re-marks id=%s duplicate_of=%s", key, mark.duplicate_of)
        self._unsettled[key] = (
            partition,
            {
                **current,
                "mark": mark.model_dump(),
                "to": [match["when"], match["id"], match["method"] == "exact"],
            },
        )
        return Remark(key, mark)

    def route(self, article_id: str) -> str:
        """The id whose partition ``article_id``'s output goes to (see ``route_partition``)."""
        unsettled = self._unsettled.get(article_id)
        decided = unsettled[1] if unsettled is not None else self.state.get(article_id) or {}
        return str(decided.get("route", article_id))

    def settle(self, article_id: str) -> None:
        """Record the decision for ``article_id``: call once its output is in Kafka."""
        unsettled = self._unsettled.pop(article_id, None)
        if unsettled is None:
            return  # a redelivered, already settled article: its mark is recorded
        partition, decided = unsettled
        self.state[article_id] = decided
        self.state.pop(article_id + self.ARTICLE_SUFFIX, None)
        self._expire(partition)

    def _observe(self, partition: int, band: int, low: datetime) -> None:
        bands = self._bands.get(partition)
        if bands is None:
            # As many bands partitions as origins: every topic has WIREHOSE_TOPIC_PARTITIONS.
            bands = Watermarks(self.origins, window=self.window, lateness=self.lateness)
            self._bands[partition] = bands
        bands.advance(band, low)

    def _expire(self, partition: int) -> None:
        """Forget this partition's marks that no bands partition can backfill any more.

        A bands partition backfills only articles at most ``lateness`` behind the low watermark
        it reported, since it only files on-time probes' matches; so behind the lowest report
        of all bands partitions, less window and lateness, nothing can come. The sign stage's
        progress would not do: in a backlog it runs weeks of event time ahead of the bands.

        A mark also stays while its article's own message may still be read again (at or above
        the committed offset): forgotten, a re-read would decide that article anew against state
        that has expired meanwhile, and overwrite its mark.
        """
        marks = self._bands.get(partition)
        cutoff = marks.due() if marks is not None else None
        if cutoff is None:
            return
        known = self._progress.get(partition)
        committed = known.committed if known is not None else None
        for key, value in list(self.state.items()):
            if (
                isinstance(value, dict)  # a held article is a string; it goes when decided
                and value.get("p") == partition
                and "when" in value
                and datetime.fromisoformat(value["when"]) < cutoff
                and ("ao" not in value or (committed is not None and value["ao"] < committed))
            ):
                del self.state[key]
