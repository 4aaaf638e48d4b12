"""Near-identical wire copy: which articles are another outlet's run of a story already seen.

Three steps, cheapest first:

1. **Exact**: the article's ``content_hash`` (typography-folded body) was seen before; such
   twins are matches without verification (but the search goes on, see ``CandidateIndex``).
2. **Candidates**: MinHash LSH over 5-word shingles proposes articles that share a band bucket.
   LSH only *proposes*; its false positives and its estimate never decide anything.
3. **Verification** on the stored shingle-hash sets decides: Jaccard, and containment of the
   smaller set in the larger, because an outlet that runs only the first half of a story has a
   Jaccard near 0.5 with its original but a containment near 1.0. Containment counts only when
   the smaller text is at least ``min_length_ratio`` of the larger and ``min_containment_shingles``
   long, so that a two-sentence brief quoting a story's lead is not called a copy of it.

The canonical of a group of copies is its earliest member by ``(event time, article_id)``, not
the first to arrive, so the marks do not depend on which partition or worker was faster. Marks
are final once emitted: an article that arrives after copies of it but was published before them
is marked canonical itself and lists the former canonicals it outranks in ``Verdict.supersedes``
(see docs/dedup.md, "Late originals").
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from processors.dedup_sign import EXACT_PREFIX, Signature, Signer
from processors.dedup_store import DedupStore, Entry, InMemoryDedupStore
from wirehose.article import Article, DedupMark, content_hash
from wirehose.settings import Settings

__all__ = [
    "CANONICAL",
    "CandidateIndex",
    "Signer",
    "WireCopyDetector",
    "combine",
    "decide",
    "verify",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Similarity:
    jaccard: float
    containment: float
    score: float  # what the threshold applies to


def verify(
    a: tuple[int, ...],
    b: tuple[int, ...],
    *,
    min_containment_shingles: int = 25,
    min_length_ratio: float = 0.3,
) -> Similarity:
    """Exact Jaccard and containment of two shingle-hash sets; ``score`` is their usable max."""
    if not a or not b:
        return Similarity(0.0, 0.0, 0.0)
    small, large = (a, b) if len(a) <= len(b) else (b, a)
    common = len(set(small).intersection(large))
    jaccard = common / (len(a) + len(b) - common)
    containment = common / len(small)
    usable = len(small) >= min_containment_shingles and len(small) >= min_length_ratio * len(large)
    return Similarity(jaccard, containment, max(jaccard, containment) if usable else jaccard)


@dataclass(frozen=True, slots=True)
class Match:
    """A stored article whose verified similarity to the new one reached the threshold."""

    article_id: str
    rank: tuple[datetime, str]
    similarity: float
    method: str  # "exact" or "minhash"


@dataclass(frozen=True, slots=True)
class Verdict:
    mark: DedupMark
    matches: tuple[Match, ...] = ()
    supersedes: tuple[str, ...] = ()  # matched articles marked before this one it outranks
    candidates: int = 0  # LSH candidates verified, for metrics
    replayed: bool = False  # the article id was already marked; the stored mark is returned


CANONICAL = DedupMark(is_canonical=True, duplicate_of=None, similarity=None, method="none")


def decide(rank: tuple[datetime, str], matches: list[Match]) -> DedupMark:
    """Duplicate of the earliest-ranked match, or canonical when this article ranks first.

    Ties in rank cannot happen (article ids are unique); among matches the best rank wins over
    the best similarity because the point is one canonical per group, not the nearest copy.
    """
    if not matches:
        return CANONICAL
    best = min(matches, key=lambda m: (m.rank, -m.similarity))
    if rank < best.rank:
        return CANONICAL
    return DedupMark(
        is_canonical=False,
        duplicate_of=best.article_id,
        similarity=round(min(1.0, best.similarity), 4),
        method=best.method,
    )


def event_time(article: Article) -> datetime:
    """When the article happened for windowing and ranking: published, but never in the future
    of its own fetch (a wrong time zone must not make an article outrank everything)."""
    if article.published_at is None:
        return article.fetched_at
    return min(article.published_at, article.fetched_at)


def combine(partials: Iterable[Sequence[Match]]) -> list[Match]:
    """Merge matches found in several places (band partitions): each article once, by its
    exact bucket if it was found there, else at its highest verified similarity."""
    best: dict[str, Match] = {}
    for matches in partials:
        for match in matches:
            known = best.get(match.article_id)
            # The same pair can be found by its exact bucket and by a band on another partition.
            if known is None or (match.method == "exact", match.similarity) > (
                known.method == "exact",
                known.similarity,
            ):
                best[match.article_id] = match
    return sorted(best.values(), key=lambda m: (m.rank, m.article_id))


@dataclass
class CandidateIndex:
    """Propose-and-verify over one ``DedupStore``: the part of dedup that needs shared state.

    The single-process detector has one index holding every bucket; the worker has one per band
    partition holding the buckets that hash there, and combines their matches (``combine``).
    """

    store: DedupStore
    threshold: float = 0.8
    window: timedelta = timedelta(hours=72)
    min_containment_shingles: int = 25
    min_length_ratio: float = 0.3
    bucket_capacity: int = 8
    _watermark: datetime | None = field(default=None, init=False)
    _expired_before: datetime | None = field(default=None, init=False)

    def similarity(self, a: tuple[int, ...], b: tuple[int, ...]) -> Similarity:
        return verify(
            a,
            b,
            min_containment_shingles=self.min_containment_shingles,
            min_length_ratio=self.min_length_ratio,
        )

    def match(self, entry: Entry) -> tuple[list[Match], int]:
        """Verified matches for ``entry`` among its buckets' live members, and how many LSH
        candidates were verified.

        Exact-bucket members are matches without verification. They do not end the search:
        copies of one story are often exact twins of each other but not of the original, and
        the original must still be found so that every copy points at the same canonical.
        """
        exact_keys = [k for k in entry.bucket_keys if k.startswith(EXACT_PREFIX)]
        band_keys = [k for k in entry.bucket_keys if not k.startswith(EXACT_PREFIX)]
        exact = self._live(self._members(exact_keys), entry)
        matches = [Match(other.article_id, other.rank, 1.0, "exact") for other in exact]
        twins = {other.article_id for other in exact}
        candidates = [
            c for c in self._live(self._members(band_keys), entry) if c.article_id not in twins
        ]
        for other in candidates:
            similarity = self.similarity(entry.shingles, other.shingles)
            if similarity.score >= self.threshold:
                matches.append(Match(other.article_id, other.rank, similarity.score, "minhash"))
        return matches, len(candidates)

    def add(self, entry: Entry) -> None:
        """File ``entry`` and expire by event-time watermark, in 1/24-window steps so that
        expiry stays amortised and never depends on the wall clock.

        A bucket holds at most ``bucket_capacity`` members, the best-ranked ones. Without a bound,
        the cost of an article grows with the window: buckets of phrases every outlet uses, and
        of stories run by hundreds of outlets, keep growing, and every member is a candidate to
        verify (and, in the worker, part of a table value rewritten on every change). Keeping
        the earliest-ranked members loses nothing ``decide`` needs: it points every copy at the
        best-ranked match, and a copy of a much-copied story shares most of its buckets with the
        story's earliest runs.
        """
        if self.store.get(entry.article_id) is None:  # a redelivery is filed once, evicts nobody
            self.store.put(entry.model_copy(update={"bucket_keys": self._keys_with_room(entry)}))
        if self._watermark is None or entry.when > self._watermark:
            self._watermark = entry.when
        cutoff = self._watermark - self.window
        if self._expired_before is None or cutoff - self._expired_before >= self.window / 24:
            removed = self.store.expire(cutoff)
            self._expired_before = cutoff
            if removed:
                log.debug("expired dedup entries count=%d before=%s", removed, cutoff.isoformat())

    def _keys_with_room(self, entry: Entry) -> tuple[str, ...]:
        """The buckets ``entry`` is filed under: those not full, and full ones in which it
        outranks the worst-ranked member (which is unfiled from that bucket to make room)."""
        ranks: dict[str, tuple[datetime, str] | None] = {}

        def rank_of(article_id: str) -> tuple[datetime, str] | None:
            if article_id not in ranks:
                other = self.store.get(article_id)
                ranks[article_id] = None if other is None else other.rank
            return ranks[article_id]

        def eviction_order(article_id: str) -> tuple[bool, tuple[datetime, str] | None]:
            rank = rank_of(article_id)
            return (rank is None, rank)  # an id whose entry is gone goes first

        keys = []
        for key in entry.bucket_keys:
            members = self.store.members(key)
            if len(members) < self.bucket_capacity:
                keys.append(key)
                continue
            worst = max(members, key=eviction_order)
            worst_rank = rank_of(worst)
            if worst_rank is None or entry.rank < worst_rank:
                self.store.unfile(key, worst)
                keys.append(key)
        return tuple(keys)

    def _members(self, keys: Iterable[str]) -> dict[str, None]:
        ids: dict[str, None] = {}
        for key in keys:
            ids.update(dict.fromkeys(self.store.members(key)))
        return ids

    def _live(self, ids: Iterable[str], entry: Entry) -> list[Entry]:
        """Stored entries for ``ids``, minus ``entry`` itself and anything outside the window."""
        live = []
        for other_id in ids:
            if other_id == entry.article_id:
                continue
            other = self.store.get(other_id)
            if other is not None and abs(other.when - entry.when) <= self.window:
                live.append(other)
        return live


def supersedes(rank: tuple[datetime, str], matches: Iterable[Match]) -> tuple[str, ...]:
    """Matched articles this one outranks: they were marked before it although it came first."""
    return tuple(sorted(m.article_id for m in matches if m.rank > rank))


@dataclass
class WireCopyDetector:
    """Marks each article canonical or ``duplicate_of`` an earlier-ranked copy of its text.

    ``process`` is the pipeline step; ``classify`` also returns the evidence. Deterministic: the
    same stream (same order) yields the same marks, and state is only touched through ``store``.
    """

    store: DedupStore = field(default_factory=InMemoryDedupStore)
    threshold: float = 0.8
    window: timedelta = timedelta(hours=72)
    bucket_capacity: int = 8
    signer: Signer = field(default_factory=Signer)
    index: CandidateIndex = field(init=False)
    step_id = "dedup"

    def __post_init__(self) -> None:
        self.index = CandidateIndex(
            self.store,
            threshold=self.threshold,
            window=self.window,
            bucket_capacity=self.bucket_capacity,
        )

    @classmethod
    def from_settings(cls, settings: Settings, store: DedupStore | None = None) -> WireCopyDetector:
        return cls(
            store=store if store is not None else InMemoryDedupStore(),
            threshold=settings.dedup_threshold,
            window=timedelta(hours=settings.dedup_window_hours),
            bucket_capacity=settings.dedup_bucket_capacity,
        )

    def similarity(self, a: tuple[int, ...], b: tuple[int, ...]) -> Similarity:
        return self.index.similarity(a, b)

    def process(self, article: Article) -> Article:
        return mark_article(article, self.classify(article).mark)

    def classify(self, article: Article) -> Verdict:
        known = self.store.get(article.article_id)
        if known is not None and known.mark is not None:  # redelivery: same answer, no new state
            return Verdict(mark=known.mark, replayed=True)
        entry = new_entry(article, self.signer.sign(article))
        matches, candidates = self.index.match(entry)
        mark = decide(entry.rank, matches)
        late = supersedes(entry.rank, matches)
        if late:
            log.info("late original id=%s supersedes=%s", article.article_id, ",".join(late))
        self.index.add(entry.model_copy(update={"mark": mark}))
        return Verdict(mark=mark, matches=tuple(matches), supersedes=late, candidates=candidates)


def new_entry(article: Article, signature: Signature, keys: Sequence[str] | None = None) -> Entry:
    """The state entry for ``article``, filed under ``keys`` (default: all its buckets)."""
    return Entry(
        article_id=article.article_id,
        when=event_time(article),
        bucket_keys=tuple(signature.bucket_keys if keys is None else keys),
        shingles=signature.shingles,
    )


def mark_article(article: Article, mark: DedupMark) -> Article:
    return article.model_copy(
        update={"dedup": mark, "content_hash": article.content_hash or content_hash(article.body)}
    )
