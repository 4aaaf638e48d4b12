"""What story clustering compares: weighted words, salient entities, protagonists and a time.

A news story is an event: who did what, when. Outlets write up one event in their own words, so
their copy shares few sentences, but the headline and the first paragraph (the lede) of every
write-up name the same actors and the same action. Features therefore weigh the title three
times and the lede twice as much as the rest of the body, and the people named there are the
story's *protagonists*: two write-ups of one event name the same ones. See docs/stories.md.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from spacy.lang.en.stop_words import STOP_WORDS

from processors.entities.canonical import surname_key
from wirehose.core.article import Article, event_time
from wirehose.core.text import fold_typography

TITLE_WEIGHT = 3.0
LEDE_WEIGHT = 2.0
# Labels that say who and where; NORP ("Israeli"), dates and numbers say little about which event.
STORY_LABELS = frozenset({"PERSON", "ORG", "GPE", "LOC", "EVENT", "FAC"})
_WORD = re.compile(r"[a-z][a-z'’-]*[a-z]")
_LEDE_MIN = 80  # a first "paragraph" shorter than this is debris ("Politics"), not a lede
_LEDE_MAX = 400
_LEDE_MIN_WORDS = 8
MIN_PROMINENCE = 3.0  # a title mention, or a lede mention and one more
PRIOR_DOCS = 50  # imaginary documents in the IDF; see weighted()
_SENTENCE_END = re.compile(r"[.!?][\"”’']?(?:\s|$)|\n")


@dataclass(frozen=True)
class StoryFeatures:
    """One article as story clustering sees it; plain data so a Faust table can hold it."""

    article_id: str
    story_id: str
    when: datetime  # wirehose.core.article.event_time(article)
    dated: bool  # False when ``when`` is fetched_at, i.e. the publication time is unknown
    words: Mapping[str, float]
    entities: Mapping[str, float]
    protagonists: frozenset[str] = field(default_factory=frozenset)
    actors: frozenset[str] = field(default_factory=frozenset)
    people: frozenset[str] = field(default_factory=frozenset)

    def terms(self) -> set[str]:
        """Index terms: every entity and word, for document frequencies and candidate search."""
        return set(self.words) | {f"e:{name}" for name in self.entities}

    def to_dict(self) -> dict[str, object]:
        return {
            "article_id": self.article_id,
            "story_id": self.story_id,
            "when": self.when.isoformat(),
            "dated": self.dated,
            "words": dict(self.words),
            "entities": dict(self.entities),
            "protagonists": sorted(self.protagonists),
            "actors": sorted(self.actors),
            "people": sorted(self.people),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> StoryFeatures:
        def floats(key: str) -> dict[str, float]:
            value = data[key]
            assert isinstance(value, dict)
            return {str(k): float(v) for k, v in value.items()}

        def names(key: str) -> frozenset[str]:
            value = data.get(key) or []
            assert isinstance(value, list)
            return frozenset(str(v) for v in value)

        return cls(
            article_id=str(data["article_id"]),
            story_id=str(data["story_id"]),
            when=datetime.fromisoformat(str(data["when"])),
            dated=bool(data["dated"]),
            words=floats("words"),
            entities=floats("entities"),
            protagonists=names("protagonists"),
            actors=names("actors"),
            people=names("people"),
        )


def content_words(text: str) -> list[str]:
    """Content words: lower case, no stop words, possessive and plural "s" dropped."""
    found = []
    for token in _WORD.findall(text.lower()):
        if not token.isascii():  # a curly apostrophe, the only typography _WORD lets in
            token = fold_typography(token)
        if token.endswith("'s"):
            token = token[:-2]
        if len(token) > 4 and token.endswith("s") and not token.endswith("ss"):
            token = token[:-1]
        if len(token) > 2 and token not in STOP_WORDS:
            found.append(token)
    return found


def lede_end(body: str) -> int:
    """Where the lede ends: the first sentence of the first paragraph that is prose.

    News puts who, what and when in its first sentence; the rest is context that other stories
    share too (background on the war, the vote, the market). Short lines before it (share
    buttons, bylines, date lines that a scraper left in) are skipped, not taken for the lede.
    """
    start = 0
    while start < len(body):
        newline = body.find("\n", start)
        end = len(body) if newline < 0 else newline
        if len(body[start:end].split()) >= _LEDE_MIN_WORDS:
            break
        start = end + 1
    else:
        start = 0
    for match in _SENTENCE_END.finditer(body, start + _LEDE_MIN):
        return min(match.end(), start + _LEDE_MAX)
    return min(len(body), start + _LEDE_MAX)


def extract(article: Article, story_id: str) -> StoryFeatures:
    """The features of one article (entities come from EntityTagger, which runs first)."""
    cut = lede_end(article.body)
    bag: dict[str, float] = defaultdict(float)
    for weight, text in (
        (TITLE_WEIGHT, article.title),
        (LEDE_WEIGHT, article.body[:cut]),
        (1.0, article.body[cut:]),
    ):
        for word in content_words(text):
            bag[word] += weight
    named: dict[str, float] = defaultdict(float)
    people: dict[str, float] = defaultdict(float)
    for entity in article.entities:
        if entity.label not in STORY_LABELS:
            continue
        weight = 1.0
        if entity.field == "title":
            weight = TITLE_WEIGHT
        elif entity.start < cut:
            weight = LEDE_WEIGHT
        named[entity.canonical] += weight
        if entity.label == "PERSON":
            people[entity.canonical] += weight
    return StoryFeatures(
        article_id=article.article_id,
        story_id=story_id,
        when=event_time(article),
        dated=article.published_at is not None,
        words=dict(bag),
        entities=dict(named),
        protagonists=_leading(people),
        actors=_leading(named),
        people=frozenset(people),
    )


def _leading(salience: Mapping[str, float]) -> frozenset[str]:
    """The names an article is about: at least half as prominent as its most prominent one.

    Prominence (title 3, lede 2, elsewhere 1 per mention) rather than position alone, so a
    byline or a share button that a scraper left at the top does not become what the story is
    about, and a name the headline model over-read ("Putin Phoned") is outweighed.
    """
    if not salience:
        return frozenset()
    floor = max(MIN_PROMINENCE, 0.5 * max(salience.values()))
    return frozenset(name for name, value in salience.items() if value >= floor)


def weighted(
    bag: Mapping[str, float], df: Mapping[str, int], docs: int, prefix: str = ""
) -> dict[str, float]:
    """Sub-linear term weight times a smoothed IDF.

    The IDF has ``PRIOR_DOCS`` imaginary documents that contain no term: until the stream has
    shown which words are common, every content word weighs about the same, instead of the
    first handful of articles deciding that "Putin" is a stop word.
    """
    return {
        term: (1.0 + math.log(count)) * idf(df.get(prefix + term, 0), docs)
        for term, count in bag.items()
        if count > 0
    }


def idf(frequency: int, docs: int) -> float:
    """Smoothed inverse document frequency, with ``PRIOR_DOCS`` imaginary documents."""
    return math.log((docs + PRIOR_DOCS + 1) / (frequency + 1))


def cosine(a: Mapping[str, float], b: Mapping[str, float]) -> float:
    if len(a) > len(b):
        a, b = b, a
    dot = sum(value * b.get(term, 0.0) for term, value in a.items())
    norm = math.sqrt(sum(v * v for v in a.values())) * math.sqrt(sum(v * v for v in b.values()))
    return dot / norm if norm else 0.0


def named_in(names: Iterable[str], among: Iterable[str]) -> float:
    """The share of the people in ``names`` that ``among`` names too (1.0 for nobody).

    Compared by surname, so an article that never gives "Netanyahu" a first name still
    names the same man as one that says "Benjamin Netanyahu".
    """
    wanted = {surname_key(name) for name in names}
    found = {surname_key(name) for name in among}
    return len(wanted & found) / len(wanted) if wanted else 1.0
