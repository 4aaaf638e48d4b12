"""Group articles about one story (one event) under a shared ``story_id``.

Different outlets' write-ups of one event share little copy, so this is not dedup. It is online,
single-pass clustering against whole stories (after Miranda et al., "Multilingual Clustering of
Streaming News", EMNLP 2018): every story keeps a centroid of its members' words and names
(processors.stories.features), and a new article is scored against the centroid of each
candidate story, never hop by hop against the one member it resembles most. A story therefore
moves only as the mean of its members: a chain of articles, each resembling the one before (the
daily editions of a scheduled report), does not pull it along.

An article joins the best-scoring story when

* its event time (``wirehose.core.article.event_time``) is within ``window`` of the story's
  centre (the mean event time of its members);
* the names agree: if both lead with names, they share one; the people the article leads with
  are named by the story, and the people the story leads with (most of its members) are named
  by the article. Netanyahu's call with Putin is not Netanyahu's speech in the Knesset;
* the similarity (a weighted mean of word and name cosines against the centroid) reaches
  ``threshold``, or ``strict_threshold`` (near-copy wording) when they share no leading name or
  fewer than two names;
* it is not the next edition of a scheduled report: wording an earlier member already had at
  ``strict_threshold`` or more, half a day or more before, with new figures. Such an article
  only joins stories of its own day.

Otherwise it founds a new story whose id is its own ``article_id``: deterministic for a given
order of arrival, and a story's id is the id of its first article. A copy that dedup marked
``duplicate_of`` an article takes that article's story without any comparison.
Stories are never merged afterwards. Method and measurements: docs/stories.md.
"""

from __future__ import annotations

import logging
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from itertools import islice
from typing import Literal, Protocol

from processors.stories.features import (
    StoryFeatures,
    cosine_of,
    extract,
    idf,
    shared_figures,
    sublinear,
    vector_length,
)
from wirehose.core.article import Article

log = logging.getLogger(__name__)

INDEX_WORDS = 12  # an article is findable by its entities and its heaviest words
# Candidate stories scored per article. Scoring every story that shares an index term made the
# one serial stage cost more per article than spaCy in a busy window ("e:israel" is in most of
# it); the best story is among those that share the most (and rarest) index terms. A candidate
# is a whole story, so 24 cover more of the window than the 48 single articles the
# nearest-member rule scored. 48 stories and postings read 200 deep changed nothing on the
# labelled sets and cost twice as much with 20k articles in the window (docs/stories.md).
MAX_CANDIDATES = 24
# Stories read per index term when looking for candidates: those that most recently gained a
# member with it. A rare term's posting is read whole; a common one ("israel", "said") holds a
# fixed share of the window, and reading it whole made the cost per article grow with the window.
POSTING_SCAN = 100
# Terms a story centroid keeps (its heaviest). A big story's centroid otherwise grows with every
# member, and so does the cost of scoring it; its heaviest terms are what the next member shares.
CENTROID_TERMS = 300
# A scheduled report recurs daily or less often; copies and updates of one story within hours
# are not editions of it. See StoryClusterer._previous_edition.
RECURRENCE_GAP = timedelta(hours=12)
EDITION_FIGURES = 0.5  # below this share of shared figures, near-identical wording is an edition
RECURRENCE_SCAN = 16  # members of a story read when looking for a previous edition
EDITION_CANDIDATES = 3  # best-scoring stories searched for a previous edition
MEMBER_CACHE = 4096  # weighted word vectors of members kept between articles
# Names an article must share with a story (besides wording) to join it below near-copy
# similarity: write-ups of one event name who, and where or with whom; one name is a topic.
SHARED_NAMES = 2

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
Compare = Literal["centroid", "member"]


def index_terms(features: StoryFeatures) -> set[str]:
    heaviest = features.ranked_words[:INDEX_WORDS]
    return set(heaviest) | {f"e:{name}" for name in features.entities}


def _unit(bag: Mapping[str, float]) -> dict[str, float]:
    """Sub-linear weights scaled to length 1, so that every member counts once in a centroid."""
    vector = sublinear(bag)
    norm = math.sqrt(sum(v * v for v in vector.values()))
    return {term: v / norm for term, v in vector.items()} if norm else {}


def _seconds(when: datetime) -> float:
    return (when - _EPOCH).total_seconds()


@dataclass
class Story:
    """A story as a whole: the centroid of its members and who its members lead with.

    Plain sums, so a member can be taken out again (eviction) and a restarted worker rebuilds
    the same story from its members in any order. Centroid weights carry no IDF: that is applied
    when the story is scored, with the document frequencies of that moment.
    """

    story_id: str
    size: int = 0
    words: dict[str, float] = field(default_factory=dict)
    names: dict[str, float] = field(default_factory=dict)
    actors: Counter[str] = field(default_factory=Counter)
    leads: Counter[str] = field(default_factory=Counter)
    named: Counter[str] = field(default_factory=Counter)
    terms: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    members: dict[str, datetime] = field(default_factory=dict)  # article id -> when, filed order
    center: datetime = _EPOCH  # the mean event time of the members

    @classmethod
    def of(cls, features: StoryFeatures) -> Story:
        story = cls(features.story_id)
        story.add(features)
        return story

    def core(self) -> set[str]:
        """The people most members lead with: who the story is about, as its members agree."""
        return {name for name, count in self.leads.items() if 2 * count > self.size}

    def span(self) -> tuple[datetime, datetime]:
        return min(self.members.values()), max(self.members.values())

    def add(self, features: StoryFeatures) -> None:
        self._update(features, 1.0)
        self.members[features.article_id] = features.when
        for vector in (self.words, self.names):
            if len(vector) > CENTROID_TERMS:
                kept = sorted(vector.items(), key=lambda item: (-item[1], item[0]))
                vector.clear()
                vector.update(kept[:CENTROID_TERMS])

    def remove(self, features: StoryFeatures) -> set[str]:
        """Take a member out; return the index terms no member has any more."""
        self._update(features, -1.0)
        self.members.pop(features.article_id, None)
        return {term for term in index_terms(features) if self.terms[term] <= 0}

    def _update(self, features: StoryFeatures, sign: float) -> None:
        self.size += int(sign)
        self.seconds += sign * _seconds(features.when)
        self.center = _EPOCH + timedelta(seconds=self.seconds / self.size) if self.size else _EPOCH
        for vector, bag in ((self.words, features.words), (self.names, features.entities)):
            for term, value in _unit(bag).items():
                total = vector.get(term, 0.0) + sign * value
                if total > 1e-9:
                    vector[term] = total
                else:
                    vector.pop(term, None)
        for counter, keys in (
            (self.actors, features.actors),
            (self.leads, features.leads),
            (self.named, features.entities),
            (self.terms, index_terms(features)),
        ):
            counter.update({key: int(sign) for key in keys})
            for key in keys:
                if counter[key] <= 0:
                    del counter[key]


class StoryState(Protocol):
    """What the clusterer remembers; the in-memory one below, a Faust table in the worker."""

    def doc_count(self) -> int: ...

    def frequencies(self) -> Mapping[str, int]: ...

    def candidates(
        self, terms: Iterable[str], since: datetime, until: datetime, limit: int | None = None
    ) -> list[Story]: ...

    def story_of(self, article_id: str) -> str | None: ...

    def member(self, article_id: str) -> StoryFeatures | None: ...

    def add(self, features: StoryFeatures) -> None: ...


class MemoryStoryState:
    """StoryState in dicts: members, their stories, and an inverted index of stories by term."""

    def __init__(self) -> None:
        self.members: dict[str, StoryFeatures] = {}
        self.stories: dict[str, Story] = {}
        self.df: Counter[str] = Counter()
        self.docs = 0
        # term -> story ids, the one that most recently gained a member with it last
        self._index: dict[str, dict[str, None]] = defaultdict(dict)

    def doc_count(self) -> int:
        return self.docs

    def frequencies(self) -> Mapping[str, int]:
        return self.df

    def candidates(
        self, terms: Iterable[str], since: datetime, until: datetime, limit: int | None = None
    ) -> list[Story]:
        """Stories centred within ``[since, until]`` that share an index term, those sharing the
        most (IDF-weighted) first; at most ``limit`` of them."""
        shared: dict[str, float] = defaultdict(float)
        for term in terms:
            posting = self._index.get(term)
            if posting:
                weight = idf(self.df.get(term, 0), self.docs)
                for story_id in islice(reversed(posting), POSTING_SCAN):
                    shared[story_id] += weight
        # Sorted as (-weight, id) pairs, with no key function to call for each of them.
        ranked = sorted(
            (-weight, story_id)
            for story_id, weight in shared.items()
            if since <= self.stories[story_id].center <= until
        )
        return [self.stories[story_id] for _, story_id in ranked[:limit]]

    def story_of(self, article_id: str) -> str | None:
        member = self.members.get(article_id)
        return member.story_id if member else None

    def member(self, article_id: str) -> StoryFeatures | None:
        return self.members.get(article_id)

    def add(self, features: StoryFeatures) -> None:
        if features.article_id in self.members:
            return  # a redelivered article must not count twice in the frequencies
        self.members[features.article_id] = features
        self.docs += 1
        self.df.update(features.terms())
        story = self.stories.get(features.story_id)
        if story is None:
            story = self.stories[features.story_id] = Story(features.story_id)
        story.add(features)
        for term in index_terms(features):
            posting = self._index[term]
            posting.pop(story.story_id, None)
            posting[story.story_id] = None

    def evict(self, before: datetime) -> int:
        """Forget articles older than ``before`` (they can no longer be matched); keep the DF.

        A story keeps its younger members, and its centroid and centre move to them.
        """
        old = [m for m in self.members.values() if m.when < before]
        for member in old:
            del self.members[member.article_id]
            story = self.stories[member.story_id]
            for term in story.remove(member):
                posting = self._index.get(term)
                if posting is not None:
                    posting.pop(story.story_id, None)
                    if not posting:
                        del self._index[term]
            if not story.size:
                del self.stories[story.story_id]
        return len(old)


# An article's word and name vectors prepared for scoring centroids: each is its TF-IDF weights
# times IDF once more (the centroid's, which carries none), and the TF-IDF vector's length.
Vectors = tuple[tuple[dict[str, float], float], tuple[dict[str, float], float]]


class Weights(dict[str, float]):
    """IDF by term (entities prefixed ``e:``) at one moment, each computed once when first asked:
    the candidate stories of one article share most of their terms."""

    def __init__(self, df: Mapping[str, int], docs: int) -> None:
        super().__init__()
        self.df = df
        self.docs = docs

    def __missing__(self, term: str) -> float:
        value = self[term] = idf(self.df.get(term, 0), self.docs)
        return value

    def vector(self, bag: Mapping[str, float], prefix: str = "") -> dict[str, float]:
        """Sub-linear weights times IDF: an article's (or a member's) TF-IDF vector."""
        return {t: v * self[prefix + t] for t, v in sublinear(bag).items()}

    def scaled(
        self, vector: Mapping[str, float], prefix: str = ""
    ) -> tuple[dict[str, float], float]:
        """A TF-IDF vector times IDF once more, and its length (see ``Vectors``)."""
        length = math.sqrt(sum(v * v for v in vector.values()))
        return {t: v * self[prefix + t] for t, v in vector.items()}, length


class StoryClusterer:
    """Sets ``Article.story_id``. Stateful: one instance (and one state) sees every article.

    ``compare`` and ``half_life`` are there to measure the alternatives (docs/stories.md):
    ``"member"`` scores a story by its most similar member instead of its centroid (the
    single-link rule that let scheduled reports chain), and ``half_life`` discounts the score by
    the time between the article and the story's centre.
    """

    step_id = "stories"

    def __init__(
        self,
        state: StoryState | None = None,
        *,
        threshold: float = 0.2,
        strict_threshold: float = 0.7,
        min_shared_leads: float = 0.6,
        word_weight: float = 0.8,
        window: timedelta = timedelta(days=3),
        max_candidates: int = MAX_CANDIDATES,
        compare: Compare = "centroid",
        half_life: timedelta | None = None,
    ) -> None:
        self.state: StoryState = state if state is not None else MemoryStoryState()
        self.threshold = threshold
        self.strict_threshold = strict_threshold
        self.min_shared_leads = min_shared_leads
        self.word_weight = word_weight
        self.window = window
        self.max_candidates = max_candidates
        self.compare = compare
        self.half_life = half_life
        # story id -> (story size, document count, word norm, name norm). Centroid norms
        # under the IDF of the moment; a few percent more documents barely move them.
        self._norms: dict[str, tuple[int, int, float, float]] = {}
        self._norms_docs = 0
        # article id -> (document count, weighted word vector, its length)
        self._members: dict[str, tuple[int, dict[str, float], float]] = {}

    def process(self, article: Article) -> Article:
        known = self.state.story_of(article.article_id)
        story_id = known or article.story_id or self._copy_story(article)
        features = extract(article, story_id or article.article_id)
        if story_id is None:
            story_id, score = self._assign(features)
            features = replace(features, story_id=story_id)  # the story id is all that changes
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
        found = self.state.candidates(
            index_terms(features),
            features.when - self.window,
            features.when + self.window,
            limit=self.max_candidates,
        )
        if not found:
            return features.article_id, 0.0
        weights = Weights(self.state.frequencies(), self.state.doc_count())
        words = weights.vector(features.words)
        vectors = (
            weights.scaled(words),
            weights.scaled(weights.vector(features.entities, "e:"), "e:"),
        )
        scored = []
        best = 0.0
        for story in found:
            score = self._score(features, vectors, story, weights)
            best = max(best, score)
            if score >= self.threshold:
                scored.append((score, story))
        # Ties go to the earliest story id, so the choice does not depend on scan order.
        scored.sort(key=lambda pair: (-pair[0], pair[1].story_id))
        if any(
            self._previous_edition(features, (words, vectors[0][1]), story, weights)
            for _, story in scored[:EDITION_CANDIDATES]
        ):
            scored = [(score, s) for score, s in scored if self._same_edition(features, s)]
        if scored:
            return scored[0][1].story_id, scored[0][0]
        return features.article_id, best

    def _score(
        self, features: StoryFeatures, vectors: Vectors, story: Story, weights: Weights
    ) -> float:
        if self.compare == "member":
            members = (self.state.member(i) for i in islice(reversed(story.members), 32))
            return max(
                (
                    self.similarity(features, vectors, Story.of(m), weights)
                    for m in members
                    if m is not None
                ),
                default=0.0,
            )
        return self.similarity(features, vectors, story, weights)

    def similarity(
        self, features: StoryFeatures, vectors: Vectors, story: Story, weights: Weights
    ) -> float:
        """Gated similarity in [0, 1] of an article to a story: 0 when a gate rules it out."""
        gap = abs(features.when - story.center)
        if gap > self.window:
            return 0.0
        shares_actor = bool(features.actors & story.actors.keys())
        if features.actors and story.actors and not shares_actor:
            return 0.0  # nobody and nothing named up front in common: two events
        # The people each side leads with must be named by the other: Netanyahu and Putin's
        # call is not Netanyahu's speech in the Knesset the same day, though he leads both.
        if features.leads and _share(features.leads, story.named) < self.min_shared_leads:
            return 0.0
        core = story.core()
        if core and _share(core, features.entities) < self.min_shared_leads:
            return 0.0
        words, names = self._cosines(vectors, story, weights)
        text = (
            words
            if not (features.entities and story.names)
            else (self.word_weight * words + (1 - self.word_weight) * names)
        )
        # Without a shared leading name, or with a single shared name, there is no evidence of
        # one event but the wording: one name is a topic ("Trump", a football club), and
        # templated briefs (results, match reports) share wording. Only near-copies pass.
        evidence = shares_actor and _count_shared(features.entities, story.named) >= SHARED_NAMES
        if not evidence and text < self.strict_threshold:
            return 0.0
        if self.half_life is not None:
            text *= 0.5 ** (gap / self.half_life)
        return text

    def _cosines(self, vectors: Vectors, story: Story, weights: Weights) -> tuple[float, float]:
        """Cosines of the article's word and name vectors with the story's centroid."""
        if weights.docs > 1.05 * self._norms_docs + 20:
            self._norms.clear()
            self._norms_docs = weights.docs
        cached = self._norms.get(story.story_id)
        # A member more or less barely moves a big story's norm: recomputed when it has grown
        # or shrunk by a tenth (every member while it is small).
        if cached is None or abs(story.size - cached[0]) > story.size // 10:
            norms = [
                math.sqrt(sum((v * weights[prefix + t]) ** 2 for t, v in centroid.items()))
                for centroid, prefix in ((story.words, ""), (story.names, "e:"))
            ]
            cached = (story.size, weights.docs, norms[0], norms[1])
            self._norms[story.story_id] = cached
        result = []
        for (scaled, length), centroid, norm in (
            (vectors[0], story.words, cached[2]),
            (vectors[1], story.names, cached[3]),
        ):
            # The article's weights times IDF once more (the centroid's own IDF), so that the
            # dot product is one multiplication per shared term.
            dot = sum(scaled[t] * centroid[t] for t in scaled.keys() & centroid.keys())
            result.append(dot / (length * norm) if length and norm else 0.0)
        return result[0], result[1]

    def _previous_edition(
        self,
        features: StoryFeatures,
        words: tuple[Mapping[str, float], float],
        story: Story,
        weights: Weights,
    ) -> bool:
        """Whether the story holds an earlier edition of a scheduled report this article is.

        A scheduled report ("money market given N mln stg assistance", results, fixings) repeats
        its wording with new figures, every day or every week: each edition resembles the last
        more than two outlets' write-ups of one event resemble each other. An earlier member
        with near-copy wording (``strict_threshold``), at least ``RECURRENCE_GAP`` before or
        after, that shares fewer than half the figures is such an edition. A copy keeps its
        figures, and a copy of an article is dedup's to mark, not this. ``words`` is the
        article's weighted word vector and its length.
        """
        if not features.figures:
            return False
        checked = 0
        for member_id in reversed(story.members):
            if checked >= RECURRENCE_SCAN:
                break
            if abs(features.when - story.members[member_id]) < RECURRENCE_GAP:
                continue
            member = self.state.member(member_id)
            if member is None:
                continue
            checked += 1
            # The figures first: a set comparison, where the wording needs a weighted cosine.
            if shared_figures(features.figures, member.figures) < EDITION_FIGURES and (
                cosine_of(*words, *self._member_words(member, weights)) >= self.strict_threshold
            ):
                return True
        return False

    def _member_words(
        self, member: StoryFeatures, weights: Weights
    ) -> tuple[dict[str, float], float]:
        """A member's weighted word vector and its length; the members of a busy story are read
        again and again, and a few percent more documents barely move their weights."""
        cached = self._members.get(member.article_id)
        if cached is None or weights.docs > 1.05 * cached[0] + 20:
            vector = weights.vector(member.words)
            cached = (weights.docs, vector, vector_length(vector))
            self._members[member.article_id] = cached
            if len(self._members) > MEMBER_CACHE:
                self._members.pop(next(iter(self._members)))
        return cached[1], cached[2]

    @staticmethod
    def _same_edition(features: StoryFeatures, story: Story) -> bool:
        """An edition of a scheduled report only joins a story of its own day."""
        first, last = story.span()
        return features.when - first < RECURRENCE_GAP and last - features.when < RECURRENCE_GAP


def _count_shared(names: Iterable[str], among: Mapping[str, object]) -> int:
    return sum(1 for name in names if name in among)


def _share(names: Iterable[str], among: Mapping[str, object]) -> float:
    """The share of ``names`` that ``among`` names too."""
    wanted = set(names)
    return sum(1 for name in wanted if name in among) / len(wanted) if wanted else 1.0
