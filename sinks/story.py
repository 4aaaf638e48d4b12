"""One story as a reader sees it: its articles in event-time order, who carried it, which
articles are wire copies of which, and the first report. ``wirehose stories`` prints a
``StoryView``; ``StoryView.to_dict()`` is its machine-readable form (``--json``).

Building the request and parsing the response are pure, so they are unit-tested with canned
responses. One request answers a known story id: the articles (copies included, earliest
first) and, over the whole story however many articles are listed, its size, outlets,
agencies, copies and time span. Only an id that matches nothing costs a second request, to
say what it is instead (see ``build_lookup``).

A story id may be given in full or as a unique prefix, as with short commit hashes: the
stories facet of ``wirehose search`` shows the first 12 characters.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from elasticsearch import Elasticsearch, NotFoundError

from wirehose.core.clients import es_client, es_errors
from wirehose.core.errors import ServiceError, StoryNotFound
from wirehose.core.settings import Settings

__all__ = [
    "DEFAULT_LIMIT",
    "MAX_LIMIT",
    "Count",
    "StoryArticle",
    "StoryView",
    "build_lookup",
    "build_story",
    "not_found",
    "parse_story",
    "story",
]

DEFAULT_LIMIT = 500  # articles listed unless asked otherwise; the counts cover the whole story
MAX_LIMIT = 10_000  # Elasticsearch's default index.max_result_window
OUTLETS_SIZE = 200
AGENCIES_SIZE = 50
AMBIGUOUS_SHOWN = 5
ARTICLE_SOURCE = [
    "article_id", "title", "url", "publisher", "agencies", "date", "published_at",
    "is_canonical", "duplicate_of", "similarity",
]  # fmt: skip


@dataclass(frozen=True)
class Count:
    """An outlet or agency and how many of the story's articles it carried."""

    name: str
    count: int


@dataclass
class StoryArticle:
    """One article of the story.

    ``date`` is the event time the story was clustered on (``published_at``, else the time it
    was fetched, so ``published_at`` is None then). ``copies`` are the ids of the *listed*
    articles that are wire copies of this one.
    """

    article_id: str
    date: str | None
    published_at: str | None
    publisher: str | None
    agencies: list[str]
    title: str
    url: str | None
    is_canonical: bool
    duplicate_of: str | None
    similarity: float | None
    copies: list[str] = field(default_factory=list)


@dataclass
class StoryView:
    """A story: ``articles`` earliest first, at most the limit asked; every count is over the
    whole story (``total`` articles, ``copies`` of them wire copies)."""

    story_id: str
    index: str
    total: int
    copies: int
    outlet_count: int
    outlets: list[Count]
    agencies: list[Count]
    first_date: str | None
    last_date: str | None
    articles: list[StoryArticle]
    took_ms: int = 0

    @property
    def first_report(self) -> StoryArticle | None:
        """The earliest article (at equal times, the original before its copies)."""
        return self.articles[0] if self.articles else None

    @property
    def truncated(self) -> bool:
        return len(self.articles) < self.total

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; its keys are stable (scripts and web pages rely on them)."""
        first = self.first_report
        return {
            "story_id": self.story_id,
            "index": self.index,
            "total": self.total,
            "shown": len(self.articles),
            "truncated": self.truncated,
            "copies": self.copies,
            "outlet_count": self.outlet_count,
            "outlets": [asdict(c) for c in self.outlets],
            "agencies": [asdict(c) for c in self.agencies],
            "first_date": self.first_date,
            "last_date": self.last_date,
            "first_report": asdict(first) if first is not None else None,
            "articles": [asdict(a) for a in self.articles],
            "took_ms": self.took_ms,
        }


def build_story(story_id: str, *, limit: int = DEFAULT_LIMIT) -> dict[str, Any]:
    """The search body for one story: its articles earliest first, and whole-story counts."""
    span = {"field": "date", "format": "strict_date_optional_time"}
    return {
        "query": {"bool": {"filter": [{"term": {"story_id": story_id}}]}},
        # Event time, then the original before its copies at the same instant, then a fixed
        # order so that equal rows never swap between runs.
        "sort": [
            {"date": {"order": "asc", "missing": "_last"}},
            {"is_canonical": {"order": "desc"}},
            {"article_id": {"order": "asc"}},
        ],
        "size": limit,
        "track_total_hits": True,
        "_source": ARTICLE_SOURCE,
        "aggs": {
            "outlets": {"terms": {"field": "publisher", "size": OUTLETS_SIZE}},
            "outlet_count": {"cardinality": {"field": "publisher"}},
            "agencies": {"terms": {"field": "agencies", "size": AGENCIES_SIZE}},
            "copies": {"filter": {"term": {"is_canonical": False}}},
            "first": {"min": span},
            "last": {"max": span},
        },
    }


def parse_story(response: dict[str, Any], story_id: str, *, index: str) -> StoryView:
    """The response to ``build_story`` as a ``StoryView`` (``total`` 0: no such story)."""
    hits = response.get("hits", {})
    articles = [_article(raw) for raw in hits.get("hits", [])]
    by_id = {article.article_id: article for article in articles}
    for article in articles:
        original = by_id.get(article.duplicate_of or "")
        if not article.is_canonical and original is not None:
            original.copies.append(article.article_id)
    aggs = response.get("aggregations", {})
    return StoryView(
        story_id=story_id,
        index=index,
        total=int(hits.get("total", {}).get("value", len(articles))),
        copies=int(aggs.get("copies", {}).get("doc_count", 0)),
        outlet_count=int(aggs.get("outlet_count", {}).get("value", 0)),
        outlets=_counts(aggs.get("outlets")),
        agencies=_counts(aggs.get("agencies")),
        first_date=aggs.get("first", {}).get("value_as_string"),
        last_date=aggs.get("last", {}).get("value_as_string"),
        articles=articles,
        took_ms=int(response.get("took", 0)),
    )


def build_lookup(text: str) -> dict[str, Any]:
    """The search body for an id that named no story: the stories it is a prefix of, and the
    article it is, if it is an article id (people paste those from search results too)."""
    as_prefix = {"prefix": {"story_id": text}}
    as_article = {"term": {"article_id": text}}
    return {
        "size": 0,
        "query": {"bool": {"should": [as_prefix, as_article], "minimum_should_match": 1}},
        "aggs": {
            "prefixed": {
                "filter": as_prefix,
                "aggs": {"ids": {"terms": {"field": "story_id", "size": AMBIGUOUS_SHOWN + 1}}},
            },
            "article": {
                "filter": as_article,
                "aggs": {"hit": {"top_hits": {"size": 1, "_source": ["story_id"]}}},
            },
        },
    }


def resolve(response: dict[str, Any], text: str, *, index: str) -> str:
    """The one story id ``text`` is a prefix of, from the response to ``build_lookup``; else
    ``StoryNotFound`` saying what ``text`` is and what to do."""
    aggs = response.get("aggregations", {})
    ids = [str(b["key"]) for b in aggs.get("prefixed", {}).get("ids", {}).get("buckets", [])]
    if len(ids) == 1:
        return ids[0]
    if len(ids) > 1:
        shown = ", ".join(ids[:AMBIGUOUS_SHOWN]) + (", ..." if len(ids) > AMBIGUOUS_SHOWN else "")
        raise StoryNotFound(
            f"{text!r} is the start of several story ids in index {index!r} ({shown}): "
            "give more characters"
        )
    found = aggs.get("article", {}).get("hit", {}).get("hits", {}).get("hits", [])
    if found:
        story_id = found[0].get("_source", {}).get("story_id")
        if story_id:
            raise StoryNotFound(
                f"{text!r} is an article, not a story; it belongs to story {story_id!r}: "
                f"run `wirehose stories {story_id}`"
            )
        raise StoryNotFound(
            f"{text!r} is an article that was not clustered into any story (it has no story_id); "
            "`wirehose search` shows it as a row of its own"
        )
    raise StoryNotFound(not_found(text, index=index))


def not_found(text: str, *, index: str) -> str:
    """What to say about an id that matches no story and no article."""
    return (
        f"no story {text!r} in index {index!r}; `wirehose search` lists story ids in its "
        "stories facet and under each result (`wirehose search --json | jq .facets.stories`)"
    )


def story(
    settings: Settings,
    story_id: str,
    *,
    limit: int = DEFAULT_LIMIT,
    client: Elasticsearch | None = None,
) -> StoryView:
    """The story ``story_id`` (in full or a unique prefix) through ``settings.index_alias``.

    Raises ``StoryNotFound`` when no story has that id, ``ServiceError`` when the index is
    missing or Elasticsearch cannot be reached, ``ValueError`` for an empty id or a bad limit.
    """
    wanted = story_id.strip()
    if not wanted:
        raise ValueError("a story id is required; `wirehose search` lists them")
    if not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"limit must be between 1 and {MAX_LIMIT}, not {limit}")
    es = client if client is not None else es_client(settings)
    alias = settings.index_alias
    try:
        with es_errors(settings):  # a refused login or an untrusted certificate, said plainly
            response = es.search(index=alias, **build_story(wanted, limit=limit))
            view = parse_story(dict(response), wanted, index=alias)
            if view.total == 0:
                lookup = es.search(index=alias, **build_lookup(wanted))
                full = resolve(dict(lookup), wanted, index=alias)
                response = es.search(index=alias, **build_story(full, limit=limit))
                view = parse_story(dict(response), full, index=alias)
        return view
    except NotFoundError as exc:
        raise ServiceError(
            f"no index behind alias {alias!r} at {settings.elasticsearch_url}: run "
            "`wirehose index create` (or start `wirehose worker`, which creates it)"
        ) from exc
    finally:
        if client is None:
            es.close()


def _article(raw: dict[str, Any]) -> StoryArticle:
    source = raw.get("_source", {})
    similarity = source.get("similarity")
    return StoryArticle(
        article_id=str(source.get("article_id", raw.get("_id"))),
        date=source.get("date"),
        published_at=source.get("published_at"),
        publisher=source.get("publisher"),
        agencies=list(source.get("agencies") or []),
        title=str(source.get("title") or ""),
        url=source.get("url"),
        # A document the dedup stage never saw is its own original (as in sinks.document).
        is_canonical=bool(source.get("is_canonical", True)),
        duplicate_of=source.get("duplicate_of"),
        similarity=float(similarity) if similarity is not None else None,
    )


def _counts(agg: dict[str, Any] | None) -> list[Count]:
    buckets = (agg or {}).get("buckets", [])
    return [Count(name=str(b["key"]), count=int(b["doc_count"])) for b in buckets]
