"""Group articles about one story (one event) under a shared ``story_id``.

Different outlets' write-ups of one event share little copy, so this is not dedup: it compares
weighted words and salient entities (processors.stories.features), gated by time and by who the
story is about. The bias is against merging: an article joins a story only when

* it was published within ``window`` of an article of that story (by event time,
  ``wirehose.core.article.event_time``: ``published_at`` never later than ``fetched_at``, else
  ``fetched_at``: undated articles are placed when they were fetched, which is right for live
  feeds and keeps a replayed archive apart from dated news);
* the people named in the headline and lede agree: both name people and at least half of them
  are shared, or only one names people and the text similarity clears the stricter
  ``strict_threshold`` (a write-up may say "Russia's president" where another says "Putin");
* the similarity (mean of word and entity cosines) reaches ``threshold``.

Otherwise it founds a new story whose id is its own ``article_id``: deterministic for a given
order of arrival, and a story's id is the id of its first article. A copy that dedup marked
``duplicate_of`` an article takes that article's story without any comparison.
Clusters are never merged afterwards; a bridge article joins the best-matching story only.
Method and measurements: docs/stories.md.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
from itertools import islice
from typing import Protocol

from processors.stories.features import (
    StoryFeatures,
    cosine,
    extract,
    idf,
    named_in,
    weighted,
)
from wirehose.core.article import Article

log = logging.getLogger(__name__)

INDEX_WORDS = 12  # an article is findable by its entities and its heaviest words
# Candidates scored per article. Every article sharing an index term used to be scored, and in
# a busy window ("e:Israel") that is most of the window: the one serial stage then cost more per
# article than spaCy, and grew with the window. The best-scoring story is among the members
# that share the most (and rarest) index terms with the article.
MAX_CANDIDATES = 48
# Members read per index term when looking for candidates: the most recently filed ones. A rare
# term's posting is read whole; a common one ("israel", "said") has a posting that grows with
# the window, and reading it whole made the serial stage cost 8, 20 and 35 ms per article at
# 6k, 12k and 18k articles in the window. Members of the same story share rarer terms too, and
# are found through those.
POSTING_SCAN = 200


class StoryState(Protocol):
    """What the clusterer remembers; the in-memory one below, a Faust table in the worker."""

    def doc_count(self) -> int: ...

    def document_frequencies(self, terms: Iterable[str]) -> dict[str, int]: ...

    def candidates(
        self, terms: Iterable[str], since: datetime, until: datetime, limit: int | None = None
    ) -> list[StoryFeatures]: ...

    def story_of(self, article_id: str) -> str | None: ...

    def add(self, features: StoryFeatures) -> None: ...


def index_terms(features: StoryFeatures) -> set[str]:
    heaviest = sorted(features.words, key=lambda w: (-features.words[w], w))[:INDEX_WORDS]
    return set(heaviest) | {f"e:{name}" for name in features.entities}


class MemoryStoryState:
    """StoryState in a dict, with an inverted index for candidate search and time eviction."""

    def __init__(self) -> None:
        self.members: dict[str, StoryFeatures] = {}
        self.df: Counter[str] = Counter()
        self.docs = 0
        # term -> member ids in filing order (a dict, so that the newest can be read first)
        self._index: dict[str, dict[str, None]] = defaultdict(dict)

    def doc_count(self) -> int:
        return self.docs

    def document_frequencies(self, terms: Iterable[str]) -> dict[str, int]:
        return {term: self.df[term] for term in terms if term in self.df}

    def candidates(
        self, terms: Iterable[str], since: datetime, until: datetime, limit: int | None = None
    ) -> list[StoryFeatures]:
        """Members within ``[since, until]`` sharing an index term, those sharing the most
        (IDF-weighted) first; at most ``limit`` of them."""
        shared: dict[str, float] = defaultdict(float)
        for term in terms:
            posting = self._index.get(term)
            if posting:
                weight = idf(self.df.get(term, 0), self.docs)
                for member_id in islice(reversed(posting), POSTING_SCAN):
                    shared[member_id] += weight
        found = [m for i in shared if since <= (m := self.members[i]).when <= until]
        found.sort(key=lambda m: (-shared[m.article_id], m.article_id))
        return found if limit is None else found[:limit]

    def story_of(self, article_id: str) -> str | None:
        member = self.members.get(article_id)
        return member.story_id if member else None

    def add(self, features: StoryFeatures) -> None:
        if features.article_id in self.members:
            return  # a redelivered article must not count twice in the frequencies
        self.members[features.article_id] = features
        self.docs += 1
        self.df.update(features.terms())
        for term in index_terms(features):
            self._index[term][features.article_id] = None

    def evict(self, before: datetime) -> int:
        """Forget articles older than ``before`` (they can no longer be matched); keep the DF."""
        old = [m for m in self.members.values() if m.when < before]
        for member in old:
            del self.members[member.article_id]
            for term in index_terms(member):
                self._index[term].pop(member.article_id, None)
        return len(old)


Vectors = tuple[dict[str, float], dict[str, float]]


def _vectors(
    features: StoryFeatures, df: dict[str, int], docs: int, cache: dict[str, Vectors]
) -> Vectors:
    """Weighted word and entity vectors of one article, computed once per cache."""
    if features.article_id not in cache:
        cache[features.article_id] = (
            weighted(features.words, df, docs),
            weighted(features.entities, df, docs, "e:"),
        )
    return cache[features.article_id]


class StoryClusterer:
    """Sets ``Article.story_id``. Stateful: one instance (and one state) sees every article."""

    step_id = "stories"

    def __init__(
        self,
        state: StoryState | None = None,
        *,
        threshold: float = 0.35,
        strict_threshold: float = 0.7,
        min_shared_protagonists: float = 0.6,
        window: timedelta = timedelta(days=3),
        max_candidates: int = MAX_CANDIDATES,
    ) -> None:
        self.state: StoryState = state if state is not None else MemoryStoryState()
        self.threshold = threshold
        self.strict_threshold = strict_threshold
        self.min_shared_protagonists = min_shared_protagonists
        self.window = window
        self.max_candidates = max_candidates

    def process(self, article: Article) -> Article:
        known = self.state.story_of(article.article_id)
        story_id = known or article.story_id or self._copy_story(article)
        features = extract(article, story_id or article.article_id)
        if story_id is None:
            story_id, score = self._assign(features)
            features = extract(article, story_id)
            log.debug(
                "story assigned id=%s story=%s score=%.3f", article.article_id, story_id, score
            )
        self.state.add(features)
        return article.model_copy(update={"story_id": story_id})

    def _copy_story(self, article: Article) -> str | None:
        if article.dedup is None or article.dedup.duplicate_of is None:
            return None
        return self.state.story_of(article.dedup.duplicate_of)

    def _assign(self, features: StoryFeatures) -> tuple[str, float]:
        """The best-matching story at or above threshold, else a new story of this article."""
        terms = index_terms(features)
        found = self.state.candidates(
            terms,
            features.when - self.window,
            features.when + self.window,
            limit=self.max_candidates,
        )
        if not found:
            return features.article_id, 0.0
        df = self.state.document_frequencies(
            {t for m in found for t in m.terms()} | features.terms()
        )
        docs = self.state.doc_count()
        best: tuple[float, str] = (0.0, features.article_id)
        vectors: dict[str, Vectors] = {}
        for member in found:
            score = self.similarity(features, member, df, docs, vectors)
            # Ties go to the earliest story id, so the choice does not depend on scan order.
            if score > best[0] or (score == best[0] > 0 and member.story_id < best[1]):
                best = (score, member.story_id)
        if best[0] >= self.threshold:
            return best[1], best[0]
        return features.article_id, best[0]

    def similarity(
        self,
        a: StoryFeatures,
        b: StoryFeatures,
        df: dict[str, int],
        docs: int,
        vectors: dict[str, Vectors] | None = None,
    ) -> float:
        """Gated similarity in [0, 1]: 0 when time or protagonists rule the pair out."""
        if abs(a.when - b.when) > self.window:
            return 0.0
        if a.actors and b.actors and not a.actors & b.actors:
            return 0.0  # nobody and nothing named up front in common: two events
        # Without a shared leading name there is no evidence of one event but the wording,
        # and templated briefs (results, match reports) share wording: only near-copies pass.
        strict = not a.actors & b.actors
        if a.protagonists and b.protagonists:
            # Each side's main people must be named by the other: Netanyahu and Putin's call is
            # not Putin's re-election bid, though the lead of one is named in the other.
            shared = min(named_in(a.protagonists, b.people), named_in(b.protagonists, a.people))
            if shared < self.min_shared_protagonists:
                return 0.0
        elif a.protagonists or b.protagonists:
            strict = True
        # The new article meets every candidate: weigh each side once per assignment, not per pair.
        vectors = {} if vectors is None else vectors
        a_words, a_names = _vectors(a, df, docs, vectors)
        b_words, b_names = _vectors(b, df, docs, vectors)
        text = cosine(a_words, b_words)
        if a.entities and b.entities:
            text = (text + cosine(a_names, b_names)) / 2
        if strict and text < self.strict_threshold:
            return 0.0
        return text
