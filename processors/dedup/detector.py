"""Near-identical wire copy: which articles are another outlet's run of a story already seen.

Three steps, cheapest first:

1. **Exact**: the article's ``content_hash`` (typography-folded body) was seen before; such
   twins are matches without verification (but the search goes on, see ``CandidateIndex``).
2. **Candidates**: MinHash LSH over 5-word shingles proposes articles that share a band bucket.
   LSH only *proposes*; its false positives and its estimate never decide anything.
3. **Verification** on the stored sketches decides: Jaccard, estimated from 1024 one-bit
   MinHashes (``processors.dedup.sign.sketch``), and containment of the smaller shingle set in
   the larger, derived from that estimate and the two set sizes, because an outlet that runs
   only the first half of a story has a Jaccard near 0.5 with its original but a containment
   near 1.0. Containment counts only when the smaller text is at least ``min_length_ratio`` of
   the larger and ``min_containment_shingles`` long, so that a two-sentence brief quoting a
   story's lead is not called a copy of it. ``verify`` computes the same on the full shingle
   sets, exactly: it is what the quality benchmark measures the estimate against.

The canonical of a group of copies is its earliest member by ``(event time, article_id)``
(``wirehose.core.article.event_time``), not the first to arrive, so the marks do not depend on
which partition or worker was faster. Marks are final once emitted: an article that arrives
after copies of it but was published before them is marked canonical itself and lists the
former canonicals it outranks in ``Verdict.supersedes`` (see docs/dedup.md, "Late originals").
"""

from __future__ import annotations

import logging
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from processors.dedup.sign import Signature, Signer, is_exact, sketch_jaccard
from processors.dedup.store import DedupStore, Entry, InMemoryDedupStore
from wirehose.core.article import Article, DedupMark, content_hash, event_time
from wirehose.core.settings import Settings

__all__ = [
    "CANONICAL",
    "CandidateIndex",
    "Signer",
    "Watermarks",
    "WireCopyDetector",
    "combine",
    "decide",
    "estimate",
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


def estimate(
    a: Entry,
    b: Entry,
    *,
    min_containment_shingles: int = 25,
    min_length_ratio: float = 0.3,
) -> Similarity:
    """``verify`` from two entries' sketches and sizes: the Jaccard estimate, and the
    containment that estimate implies (``|A & B| = J (|A| + |B|) / (1 + J)``)."""
    if not a.size or not b.size:
        return Similarity(0.0, 0.0, 0.0)
    jaccard = sketch_jaccard(int.from_bytes(a.sketch, "big"), int.from_bytes(b.sketch, "big"))
    small, large = min(a.size, b.size), max(a.size, b.size)
    common = min(float(small), jaccard * (a.size + b.size) / (1.0 + jaccard))
    containment = common / small
    usable = small >= min_containment_shingles and small >= min_length_ratio * large
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


class Watermarks:
    """Event-time progress per origin partition, and the low watermark below which state can go.

    Articles come from several origin partitions (the raw topic's), each one producer stream with
    its own pace: in a backlog one partition may be days of event time ahead of another. State
    may only expire behind the *slowest* origin, or a copy still queued in a lagging partition
    would find its original gone. An origin that has not been seen yet holds expiry back.

    ``lateness`` is how far an article may trail its own origin's newest event time and still be
    decided exactly (copies published before their original but delivered after it); anything
    later is counted (``late``) and decided against what is still there.

    In the worker an origin's progress comes from upstream (``advance``), and only once the
    stages before have processed everything below it (``processors.progress``).
    """

    def __init__(self, origins: int, *, window: timedelta, lateness: timedelta) -> None:
        self.origins, self.window, self.lateness = origins, window, lateness
        self.high: dict[Hashable, datetime] = {}
        self.late = 0
        self._expired_before: datetime | None = None

    def advance(self, origin: Hashable, watermark: datetime) -> None:
        """``origin`` has come this far in event time (its watermark only ever rises)."""
        newest = self.high.get(origin)
        if newest is None or watermark > newest:
            self.high[origin] = watermark

    def is_late(self, origin: Hashable, when: datetime) -> bool:
        """Whether an article of ``origin`` trails it by more than the lateness (counted)."""
        newest = self.high.get(origin)
        if newest is not None and when < newest - self.lateness:
            self.late += 1
            return True
        return False

    def observe(self, origin: Hashable, when: datetime) -> bool:
        """An article of ``origin`` in one process, where nothing is in flight: late or not,
        it also advances its origin."""
        late = self.is_late(origin, when)
        self.advance(origin, when)
        return late

    def low(self) -> datetime | None:
        """The slowest origin's newest event time, once every origin has been seen."""
        if len(self.high) < self.origins:
            return None
        return min(self.high.values())

    def due(self) -> datetime | None:
        """The cutoff to expire state before, when it has moved a 1/24 window since last time.

        Kept: everything an on-time article can still match, ``window`` behind the earliest
        event time such an article can have (``lateness`` behind the slowest origin).
        """
        low = self.low()
        if low is None:
            return None
        cutoff = low - self.window - self.lateness
        if self._expired_before is not None and cutoff - self._expired_before < self.window / 24:
            return None
        self._expired_before = cutoff
        return cutoff


@dataclass(frozen=True, slots=True)
class Found:
    """What one store knows of an entry: its best-ranked earlier match, and the later-ranked
    articles it matches (each of which may now have to point at it)."""

    best: Match | None
    later: tuple[tuple[str, datetime, Match], ...]  # (article_id, event time, match for it)
    candidates: int


@dataclass
class CandidateIndex:
    """Propose-and-verify over one ``DedupStore``: the part of dedup that needs shared state.

    The single-process detector has one index holding every bucket; the worker has one per band
    partition holding the buckets that hash there, and combines what each found.

    What it finds is a property of the set of articles, not of their order: the best-ranked
    verified match among the articles sharing a bucket with the entry and ranked before it,
    and every later-ranked one it matches. So whichever of two copies arrives second finds the
    pair, and the marks do not depend on which partition or worker was faster.
    """

    store: DedupStore
    threshold: float = 0.8
    window: timedelta = timedelta(hours=72)
    min_containment_shingles: int = 25
    min_length_ratio: float = 0.3

    def similarity(self, a: Entry, b: Entry) -> Similarity:
        return estimate(
            a,
            b,
            min_containment_shingles=self.min_containment_shingles,
            min_length_ratio=self.min_length_ratio,
        )

    def exact_similarity(self, a: tuple[int, ...], b: tuple[int, ...]) -> Similarity:
        """What ``similarity`` estimates, computed on the full shingle sets (measurement)."""
        return verify(
            a,
            b,
            min_containment_shingles=self.min_containment_shingles,
            min_length_ratio=self.min_length_ratio,
        )

    def find(self, entry: Entry) -> Found:
        """Earlier-ranked candidates are verified best rank first, up to the first match (in a
        stream that arrives in order, the original: one verification per copy); later-ranked
        ones (out-of-order arrivals) are all verified, since each may have to be re-pointed."""
        exact_keys = {k for k in entry.bucket_keys if is_exact(k)}
        twins: set[str] = set()
        ids: dict[str, None] = {}
        for key in entry.bucket_keys:
            members = self.store.members(key)
            if key in exact_keys:
                twins.update(members)
            ids.update(dict.fromkeys(members))
        ids.pop(entry.article_id, None)
        earlier: list[tuple[tuple[datetime, str], str]] = []
        later: list[tuple[tuple[datetime, str], str]] = []
        for other_id in ids:
            rank = self.store.rank(other_id)
            if rank is None or abs(rank[0] - entry.when) > self.window:
                continue
            (earlier if rank < entry.rank else later).append((rank, other_id))
        verified = 0
        best = None
        for rank, other_id in sorted(earlier):
            match = self._verify(entry, other_id, rank, other_id in twins)
            verified += other_id not in twins
            if match is not None:
                best = match
                break
        found_later = []
        for rank, other_id in sorted(later):
            known = self.store.best(other_id)
            if known is not None and known < entry.rank:
                continue  # it has a better original already: this one cannot change its mark
            match = self._verify(entry, other_id, entry.rank, other_id in twins)
            verified += other_id not in twins
            if match is not None:
                found_later.append((other_id, rank[0], match))
                self.store.improve(other_id, entry.rank)
        return Found(best, tuple(found_later), verified)

    def _verify(
        self, entry: Entry, other_id: str, rank: tuple[datetime, str], twin: bool
    ) -> Match | None:
        """The match to ``rank``'s article if ``entry`` and ``other_id`` are copies: exact
        twins without verification, others when their verified score reaches the threshold."""
        if twin:
            return Match(rank[1], rank, 1.0, "exact")
        other = self.store.get(other_id)
        if other is None:
            return None
        score = self.similarity(entry, other).score
        if score < self.threshold:
            return None
        return Match(rank[1], rank, score, "minhash")

    def add(self, entry: Entry, found: Found | None = None) -> None:
        """File ``entry`` under all its buckets (a redelivery is filed once), with the best
        earlier match ``find`` found for it."""
        if self.store.get(entry.article_id) is None:
            if found is not None and found.best is not None:
                entry = entry.model_copy(update={"best": found.best.rank})
            self.store.put(entry)

    def expire(self, before: datetime | None) -> int:
        if before is None:
            return 0
        removed = self.store.expire(before)
        if removed:
            log.debug("expired dedup entries count=%d before=%s", removed, before.isoformat())
        return removed


def supersedes(rank: tuple[datetime, str], matches: Iterable[Match]) -> tuple[str, ...]:
    """Matched articles this one outranks: they were marked before it although it came first."""
    return tuple(sorted(m.article_id for m in matches if m.rank > rank))


@dataclass
class WireCopyDetector:
    """Marks each article canonical or ``duplicate_of`` an earlier-ranked copy of its text.

    The reference: one process, one store. Run over articles in event-time order it gives the
    marks the worker must reach whatever order its partitions deliver them in (the contract
    tests compare the two). ``process`` is the pipeline step; ``classify`` also returns the
    evidence. Run out of order, a late original is marked canonical and ``Verdict.supersedes``
    names the articles marked before it that should now point at it (the worker re-marks them).
    """

    store: DedupStore = field(default_factory=InMemoryDedupStore)
    threshold: float = 0.8
    window: timedelta = timedelta(hours=72)
    lateness: timedelta = timedelta(hours=72)
    signer: Signer = field(default_factory=Signer)
    index: CandidateIndex = field(init=False)
    watermarks: Watermarks = field(init=False)
    step_id = "dedup"

    def __post_init__(self) -> None:
        self.index = CandidateIndex(self.store, threshold=self.threshold, window=self.window)
        self.watermarks = Watermarks(1, window=self.window, lateness=self.lateness)

    @classmethod
    def from_settings(cls, settings: Settings, store: DedupStore | None = None) -> WireCopyDetector:
        return cls(
            store=store if store is not None else InMemoryDedupStore(),
            threshold=settings.dedup_threshold,
            window=timedelta(hours=settings.dedup_window_hours),
            lateness=timedelta(hours=settings.dedup_lateness_hours),
        )

    def similarity(self, a: Entry, b: Entry) -> Similarity:
        return self.index.similarity(a, b)

    def exact_similarity(self, a: tuple[int, ...], b: tuple[int, ...]) -> Similarity:
        return self.index.exact_similarity(a, b)

    def process(self, article: Article) -> Article:
        return mark_article(article, self.classify(article).mark)

    def classify(self, article: Article) -> Verdict:
        known = self.store.get(article.article_id)
        if known is not None and known.mark is not None:  # redelivery: same answer, no new state
            return Verdict(mark=known.mark, replayed=True)
        entry = new_entry(article, self.signer.sign(article))
        found = self.index.find(entry)
        matches = [found.best] if found.best is not None else []
        mark = decide(entry.rank, matches)
        late = tuple(sorted(article_id for article_id, _, _ in found.later))
        if late:
            log.info("late original id=%s supersedes=%s", article.article_id, ",".join(late))
        self.watermarks.observe(0, entry.when)
        self.index.add(entry.model_copy(update={"mark": mark}), found)
        self.index.expire(self.watermarks.due())
        return Verdict(
            mark=mark, matches=tuple(matches), supersedes=late, candidates=found.candidates
        )


def new_entry(article: Article, signature: Signature, keys: Sequence[int] | None = None) -> Entry:
    """The state entry for ``article``, filed under ``keys`` (default: all its buckets)."""
    return Entry(
        article_id=article.article_id,
        when=event_time(article),
        bucket_keys=tuple(signature.bucket_keys if keys is None else keys),
        sketch=signature.sketch,
        size=signature.size,
    )


def mark_article(article: Article, mark: DedupMark) -> Article:
    return article.model_copy(
        update={"dedup": mark, "content_hash": article.content_hash or content_hash(article.body)}
    )
