"""What story clustering compares: weighted words, named entities, leading names, figures, a time.

A news story is an event: who did what, when. Outlets write up one event in their own words, so
their copy shares few sentences, but the headline and the first paragraph (the lede) of every
write-up name the same actors and the same action. Features therefore weigh the title three
times and the lede twice as much as the rest of the body. See docs/stories.md.

Names are compared by a *key*, not by their canonical form: a person by surname ("Donald J.
Trump", "Donald Trump" and a "Trump" the model labelled ORG are one key), anything else by its
folded form ("N.A.A.C.P." and "NAACP"). Outlets differ in how they name people; the story is the
same.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property, lru_cache

from spacy.lang.en.stop_words import STOP_WORDS

from processors.entities.canonical import fold_name, surname_key
from wirehose.core.article import Article, Entity, event_time
from wirehose.core.text import fold_typography

TITLE_WEIGHT = 3.0
LEDE_WEIGHT = 2.0
# Labels that say who and where; NORP ("Israeli"), dates and numbers say little about which event.
STORY_LABELS = frozenset({"PERSON", "ORG", "GPE", "LOC", "EVENT", "FAC"})
_WORD = re.compile(r"[a-z][a-z'’-]*[a-z]")
# Figures: amounts, scores, rates, times ("215", "1,500", "3-0", "10-7/8", "6:45").
_FIGURE = re.compile(r"\d+(?:[.,:/-]\d+)*")
_LEDE_MIN = 80  # a first "paragraph" shorter than this is debris ("Politics"), not a lede
_LEDE_MAX = 400
_LEDE_MIN_WORDS = 8
MIN_PROMINENCE = 3.0  # a title mention, or a lede mention and one more
PRIOR_DOCS = 50  # imaginary documents in the IDF; see idf()
_SENTENCE_END = re.compile(r"[.!?][\"”’']?(?:\s|$)|\n")


@dataclass(frozen=True)
class StoryFeatures:
    """One article as story clustering sees it; plain data so a Faust table can hold it.

    ``entities`` are keyed by :func:`name_key`. ``actors`` are the names the article is about
    (its most prominent ones), ``leads`` the people among them, ``names`` every key it names
    and ``figures`` the numbers it gives (what tells one edition of a scheduled report from
    the next).
    """

    article_id: str
    story_id: str
    when: datetime  # wirehose.core.article.event_time(article)
    dated: bool  # False when ``when`` is fetched_at, i.e. the publication time is unknown
    words: Mapping[str, float]
    entities: Mapping[str, float]
    actors: frozenset[str] = field(default_factory=frozenset)
    leads: frozenset[str] = field(default_factory=frozenset)
    figures: frozenset[str] = field(default_factory=frozenset)

    @property
    def names(self) -> frozenset[str]:
        return frozenset(self.entities)

    @cached_property
    def ranked_words(self) -> tuple[str, ...]:
        """The words, heaviest first (ties in alphabetical order). Sorted once: clustering
        reads an article's heaviest words when it scores it, files it and evicts it."""
        return tuple(sorted(self.words, key=lambda w: (-self.words[w], w)))

    def terms(self) -> set[str]:
        """Every word and entity (entities prefixed ``e:``): what document frequencies count."""
        return set(self.words) | {f"e:{name}" for name in self.entities}

    def to_dict(self) -> dict[str, object]:
        return {
            "article_id": self.article_id,
            "story_id": self.story_id,
            "when": self.when.isoformat(),
            "dated": self.dated,
            "words": dict(self.words),
            "entities": dict(self.entities),
            "actors": sorted(self.actors),
            "leads": sorted(self.leads),
            "figures": sorted(self.figures),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> StoryFeatures:
        def floats(key: str) -> dict[str, float]:
            value = data[key]
            assert isinstance(value, dict)
            return {str(k): float(v) for k, v in value.items()}

        def strings(key: str) -> frozenset[str]:
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
            actors=strings("actors"),
            leads=strings("leads"),
            figures=strings("figures"),
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


def figures(text: str) -> frozenset[str]:
    """The numbers a text gives, as written (thousands separators dropped)."""
    return frozenset(match.replace(",", "") for match in _FIGURE.findall(text))


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


def name_key(entity: Entity) -> str:
    """How stories compare a name: a person by surname, anything else by its folded form."""
    return _name_key(entity.label == "PERSON", entity.canonical)


@lru_cache(maxsize=65_536)
def _name_key(person: bool, canonical: str) -> str:
    # The same names recur in article after article, and folding one is string work each time.
    return surname_key(canonical) if person else fold_name(canonical)


def _story_entities(article: Article) -> list[tuple[Entity, str]]:
    """The article's story-relevant entities with their keys, without headline over-reads.

    Title case makes the model read headline words as names ("Beck Wows the CPAC Crowd",
    "Obama's Top Economic Aide Warns"); a real name in a headline is named in the body too, so a
    title name the body never names does not count. A "name" with digits in it is the model
    running a name into a score or a year ("Southport City 1-4", "Glenn Beck CPAC 2010").
    """
    found = [
        (entity, name_key(entity))
        for entity in article.entities
        if entity.label in STORY_LABELS and not any(c.isdigit() for c in entity.canonical)
    ]
    in_body = {key for entity, key in found if entity.field == "body"}
    return [(e, key) for e, key in found if key and (e.field == "body" or key in in_body)]


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
    people: set[str] = set()
    for entity, key in _story_entities(article):
        weight = 1.0
        if entity.field == "title":
            weight = TITLE_WEIGHT
        elif entity.start < cut:
            weight = LEDE_WEIGHT
        named[key] += weight
        if entity.label == "PERSON":
            people.add(key)
    actors = _leading(named)
    return StoryFeatures(
        article_id=article.article_id,
        story_id=story_id,
        when=event_time(article),
        dated=article.published_at is not None,
        words=dict(bag),
        entities=dict(named),
        actors=actors,
        leads=actors & people,
        figures=figures(f"{article.title}\n{article.body}"),
    )


def _leading(salience: Mapping[str, float]) -> frozenset[str]:
    """The names an article is about: at least half as prominent as its most prominent one.

    Prominence (title 3, lede 2, elsewhere 1 per mention) rather than position alone, so a
    byline or a share button that a scraper left at the top does not become what the story is
    about. People are leading only among all names: a quoted expert named five times in a
    report about an organisation is not what the report is about.
    """
    if not salience:
        return frozenset()
    floor = max(MIN_PROMINENCE, 0.5 * max(salience.values()))
    return frozenset(name for name, value in salience.items() if value >= floor)


def sublinear(bag: Mapping[str, float]) -> dict[str, float]:
    """``1 + log(weight)`` per term: the tenth mention of a word says less than the second."""
    return {term: 1.0 + math.log(count) for term, count in bag.items() if count > 0}


def idf(frequency: int, docs: int) -> float:
    """Smoothed inverse document frequency, with ``PRIOR_DOCS`` imaginary documents.

    The imaginary documents contain no term: until the stream has shown which words are
    common, every content word weighs about the same, instead of the first handful of articles
    deciding that "Putin" is a stop word.
    """
    return math.log((docs + PRIOR_DOCS + 1) / (frequency + 1))


def vector_length(vector: Mapping[str, float]) -> float:
    """The Euclidean length of a weighted vector."""
    return math.sqrt(sum(v * v for v in vector.values()))


def cosine(a: Mapping[str, float], b: Mapping[str, float]) -> float:
    return cosine_of(a, vector_length(a), b, vector_length(b))


def cosine_of(
    a: Mapping[str, float], a_length: float, b: Mapping[str, float], b_length: float
) -> float:
    """``cosine(a, b)`` with both lengths already known: a vector compared with many others
    (an article with the members of its candidate stories) is measured once."""
    if len(a) > len(b):
        a, b = b, a
    dot = sum(a[term] * b[term] for term in a.keys() & b.keys())
    norm = a_length * b_length
    return dot / norm if norm else 0.0


def shared_figures(a: frozenset[str], b: frozenset[str]) -> float:
    """The share of the smaller set of figures that the other gives too (1.0 if either has none).

    A copy or a shortened copy keeps its figures; the next edition of a scheduled report gives
    new ones.
    """
    if not a or not b:
        return 1.0
    return len(a & b) / min(len(a), len(b))
