"""Near-identical wire copy: which articles are another outlet's run of a story already seen.

Three steps, cheapest first:

1. **Exact**: the article's ``content_hash`` (typography-folded body) was seen before.
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

import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
from datasketch import MinHash

from processors.dedup_store import DedupStore, Entry, InMemoryDedupStore
from processors.text import SHINGLE_SIZE, shingle_hashes
from wirehose.article import Article, DedupMark, content_hash
from wirehose.settings import Settings

log = logging.getLogger(__name__)

# 64 bands of 2 rows: P(candidate) = 1 - (1 - J^2)^64 is 0.998 at J=0.3 and 0.15 at J=0.05.
# A low LSH threshold is the price of containment: a half-length copy has J ~ 0.5, and a copy
# of 30% of a story ~0.3; a Jaccard-tuned LSH at 0.8 would never propose them.
NUM_PERM = 128
BANDS = 64
MINHASH_SEED = 20231016


def _identity(value: int) -> int:
    return value


@dataclass(frozen=True, slots=True)
class Signature:
    """What the detector derives from one article's text."""

    exact_key: str
    band_keys: tuple[str, ...]
    shingles: tuple[int, ...]


class Signer:
    """Text -> exact key, LSH band keys and shingle hashes. Pure and the same in every process."""

    def __init__(
        self,
        *,
        num_perm: int = NUM_PERM,
        bands: int = BANDS,
        shingle_size: int = SHINGLE_SIZE,
        seed: int = MINHASH_SEED,
    ) -> None:
        if num_perm % bands:
            raise ValueError(f"num_perm={num_perm} is not a multiple of bands={bands}")
        self.num_perm = num_perm
        self.bands = bands
        self.rows = num_perm // bands
        self.shingle_size = shingle_size
        self.seed = seed
        # Building permutations costs more than hashing a short article; do it once.
        self._permutations = MinHash(num_perm=num_perm, seed=seed, scheme="affine32").permutations

    def minhash(self, hashes: tuple[int, ...]) -> np.ndarray:
        sketch = MinHash(
            num_perm=self.num_perm,
            seed=self.seed,
            hashfunc=_identity,
            scheme="affine32",
            permutations=self._permutations,
        )
        sketch.update_batch(hashes)
        values: np.ndarray = sketch.hashvalues
        return values

    def band_keys(self, hashes: tuple[int, ...]) -> tuple[str, ...]:
        """One key per band: band index plus a digest of that band's rows of the signature."""
        if not hashes:
            return ()
        values = self.minhash(hashes).astype(">u8")
        keys = []
        for band in range(self.bands):
            rows = values[band * self.rows : (band + 1) * self.rows].tobytes()
            keys.append(f"b{band}:{hashlib.blake2b(rows, digest_size=8).hexdigest()}")
        return tuple(keys)

    def sign(self, article: Article) -> Signature:
        hashes = shingle_hashes(article.body, self.shingle_size)
        exact = article.content_hash or content_hash(article.body)
        return Signature(exact_key=f"x:{exact}", band_keys=self.band_keys(hashes), shingles=hashes)


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
    supersedes: tuple[str, ...] = ()  # former canonicals this (earlier) article outranks
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


@dataclass
class WireCopyDetector:
    """Marks each article canonical or ``duplicate_of`` an earlier-ranked copy of its text.

    ``process`` is the pipeline step; ``classify`` also returns the evidence. Deterministic: the
    same stream (same order) yields the same marks, and state is only touched through ``store``.
    """

    store: DedupStore = field(default_factory=InMemoryDedupStore)
    threshold: float = 0.8
    window: timedelta = timedelta(hours=72)
    signer: Signer = field(default_factory=Signer)
    min_containment_shingles: int = 25
    min_length_ratio: float = 0.3
    _watermark: datetime | None = field(default=None, init=False)
    _expired_before: datetime | None = field(default=None, init=False)

    @classmethod
    def from_settings(cls, settings: Settings, store: DedupStore | None = None) -> WireCopyDetector:
        return cls(
            store=store if store is not None else InMemoryDedupStore(),
            threshold=settings.dedup_threshold,
            window=timedelta(hours=settings.dedup_window_hours),
        )

    def process(self, article: Article) -> Article:
        verdict = self.classify(article)
        return article.model_copy(
            update={
                "dedup": verdict.mark,
                "content_hash": article.content_hash or content_hash(article.body),
            }
        )

    def classify(self, article: Article) -> Verdict:
        known = self.store.get(article.article_id)
        if known is not None:  # redelivery after a crash: same answer, no new state
            return Verdict(mark=known.mark, replayed=True)
        when = event_time(article)
        signature = self.signer.sign(article)
        matches, candidates = self.find_matches(article.article_id, when, signature)
        rank = (when, article.article_id)
        mark = decide(rank, matches)
        supersedes = tuple(
            sorted(
                m.article_id
                for m in matches
                if m.rank > rank
                and (entry := self.store.get(m.article_id))
                and entry.mark.is_canonical
            )
        )
        if supersedes:
            log.info("late original id=%s supersedes=%s", article.article_id, ",".join(supersedes))
        self.store.put(
            Entry(
                article_id=article.article_id,
                when=when,
                exact_key=signature.exact_key,
                band_keys=signature.band_keys,
                shingles=signature.shingles,
                mark=mark,
            )
        )
        self._advance(when)
        return Verdict(
            mark=mark, matches=tuple(matches), supersedes=supersedes, candidates=candidates
        )

    def find_matches(
        self, article_id: str, when: datetime, signature: Signature
    ) -> tuple[list[Match], int]:
        """Verified matches within the window: exact ones if any, else LSH candidates that pass."""
        exact = [
            Match(entry.article_id, entry.rank, 1.0, "exact")
            for entry in self._live(self.store.members(signature.exact_key), article_id, when)
        ]
        if exact:
            return exact, 0
        ids: dict[str, None] = {}
        for key in signature.band_keys:
            ids.update(dict.fromkeys(self.store.members(key)))
        matches = []
        candidates = self._live(ids, article_id, when)
        for entry in candidates:
            similarity = self.similarity(signature.shingles, entry.shingles)
            if similarity.score >= self.threshold:
                matches.append(Match(entry.article_id, entry.rank, similarity.score, "minhash"))
        return matches, len(candidates)

    def similarity(self, a: tuple[int, ...], b: tuple[int, ...]) -> Similarity:
        return verify(
            a,
            b,
            min_containment_shingles=self.min_containment_shingles,
            min_length_ratio=self.min_length_ratio,
        )

    def _live(self, ids: Iterable[str], article_id: str, when: datetime) -> list[Entry]:
        """Stored entries for ``ids``, minus the article itself and anything outside the window."""
        live = []
        for other in ids:
            if other == article_id:
                continue
            entry = self.store.get(other)
            if entry is not None and abs(entry.when - when) <= self.window:
                live.append(entry)
        return live

    def _advance(self, when: datetime) -> None:
        """Expire by event-time watermark, in steps of 1/24 window so expiry stays amortised."""
        if self._watermark is None or when > self._watermark:
            self._watermark = when
        cutoff = self._watermark - self.window
        if self._expired_before is None or cutoff - self._expired_before >= self.window / 24:
            removed = self.store.expire(cutoff)
            self._expired_before = cutoff
            if removed:
                log.debug("expired dedup entries count=%d before=%s", removed, cutoff.isoformat())
