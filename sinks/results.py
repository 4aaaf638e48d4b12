"""Search results as plain data: what ``wirehose search --json`` prints and ``render`` draws.

Parsing works on the response dictionaries alone, so it is unit-tested with canned responses.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from sinks.request import SearchRequest
from sinks.timeline import Timeline


@dataclass
class Coverage:
    """How widely one story was carried (among articles matching the search and filters)."""

    articles: int
    copies: int
    outlet_count: int
    outlets: list[str]


@dataclass
class Related:
    """Another article of the same story that also matched (from the collapse's inner hits)."""

    article_id: str
    title: str
    publisher: str | None
    date: str | None
    is_canonical: bool


@dataclass
class Hit:
    article_id: str
    title: str
    url: str | None
    publisher: str | None
    agencies: list[str]
    date: str | None
    score: float | None
    story_id: str | None
    story_key: str | None
    is_canonical: bool
    duplicate_of: str | None
    people: list[str]
    organizations: list[str]
    places: list[str]
    title_highlight: str | None = None
    snippets: list[str] = field(default_factory=list)
    related: list[Related] = field(default_factory=list)
    story_matches: int = 1  # matching articles in this story's collapse group
    coverage: Coverage | None = None


@dataclass
class FacetBucket:
    value: str
    count: int
    label: str | None = None  # stories: the headline of the story's first article


@dataclass
class SearchResult:
    total: int
    stories: int | None
    took_ms: int
    hits: list[Hit]
    facets: dict[str, list[FacetBucket]]
    timeline: Timeline | None = None  # only when the request asked for one

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        del data["timeline"]
        if self.timeline is not None:
            data["timeline"] = self.timeline.to_dict()
        return data


def parse_response(response: dict[str, Any], request: SearchRequest) -> SearchResult:
    """Request 1's response (hits, highlights, inner hits, aggregations) as a ``SearchResult``."""
    hits = [_hit(raw) for raw in response.get("hits", {}).get("hits", [])]
    aggs = response.get("aggregations", {})
    facets: dict[str, list[FacetBucket]] = {}
    for name, agg in aggs.items():
        if "buckets" not in agg:
            continue
        facets[name] = [
            FacetBucket(
                value=str(bucket["key"]),
                count=int(bucket["doc_count"]),
                label=_headline(bucket) if name == "stories" else None,
            )
            for bucket in agg["buckets"]
        ]
    story_count = aggs.get("story_count", {}).get("value")
    return SearchResult(
        total=int(response.get("hits", {}).get("total", {}).get("value", 0)),
        stories=int(story_count) if story_count is not None else None,
        took_ms=int(response.get("took", 0)),
        hits=hits,
        facets=facets,
    )


def add_coverage(result: SearchResult, response: dict[str, Any]) -> None:
    """Attach request 2's per-story counts to the hits of ``result``."""
    buckets = response.get("aggregations", {}).get("by_story", {}).get("buckets", [])
    by_key = {
        str(b["key"]): Coverage(
            articles=int(b["doc_count"]),
            copies=int(b["copies"]["doc_count"]),
            outlet_count=int(b["outlet_count"]["value"]),
            outlets=[str(o["key"]) for o in b["outlets"]["buckets"]],
        )
        for b in buckets
    }
    for hit in result.hits:
        if hit.story_key in by_key:
            hit.coverage = by_key[hit.story_key]


def _hit(raw: dict[str, Any]) -> Hit:
    source = raw.get("_source", {})
    highlight = raw.get("highlight", {})
    titles = highlight.get("title") or []
    hit = Hit(
        article_id=str(source.get("article_id", raw.get("_id"))),
        title=str(source.get("title") or ""),
        url=source.get("url"),
        publisher=source.get("publisher"),
        agencies=list(source.get("agencies") or []),
        date=source.get("date"),
        score=raw.get("_score"),
        story_id=source.get("story_id"),
        story_key=source.get("story_key"),
        is_canonical=bool(source.get("is_canonical", True)),
        duplicate_of=source.get("duplicate_of"),
        people=list(source.get("people") or []),
        organizations=list(source.get("organizations") or []),
        places=list(source.get("places") or []),
        title_highlight=titles[0] if titles else None,
        snippets=list(highlight.get("body") or []),
    )
    group = raw.get("inner_hits", {}).get("story", {}).get("hits", {})
    if group:
        hit.story_matches = int(group.get("total", {}).get("value", 1))
        hit.related = [
            Related(
                article_id=str(inner["_source"].get("article_id", inner.get("_id"))),
                title=str(inner["_source"].get("title") or ""),
                publisher=inner["_source"].get("publisher"),
                date=inner["_source"].get("date"),
                is_canonical=bool(inner["_source"].get("is_canonical", True)),
            )
            for inner in group.get("hits", [])
            if inner.get("_id") != raw.get("_id")
        ]
    return hit


def _headline(bucket: dict[str, Any]) -> str | None:
    """The earliest headline of the story; pasted articles without one are passed over."""
    top = bucket.get("headline", {}).get("hits", {}).get("hits", [])
    titles = [str(hit["_source"].get("title") or "").strip() for hit in top]
    return next((title for title in titles if title), None)
