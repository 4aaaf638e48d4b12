"""Searching the articles index: a ``SearchRequest`` becomes Elasticsearch queries, the responses
a ``SearchResult`` (``sinks.results``). Query building is pure, so it is unit-tested without ES.

One search is two requests:

1. The hits and facets. Canonical articles only by default (wire copies would otherwise bury
   everything under ten near-identical hits), collapsed on ``story_key`` so each story shows once
   with its best match, plus terms aggregations for the facets.
2. Coverage of the stories on the page: how many articles (copies included) and which outlets
   carried each. It cannot ride on request 1: that one excludes copies, and the collapse's inner
   hits only see what the main query matched.

With ``timeline``, articles, stories and outlets per day or hour (``sinks.timeline``) come first,
over every matching article, copies included, for the same reason as coverage; an open end of
the range is found with one more small request.

Entity filters match canonical forms case-insensitively (the ``folded`` sub-fields); several
values of one entity filter must all be present (drill-down narrows), several publishers,
agencies, languages or stories are alternatives.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

from elasticsearch import Elasticsearch, NotFoundError

from sinks.request import SearchRequest
from sinks.results import SearchResult, add_coverage, parse_response
from sinks.timeline import (
    AGGREGATION,
    Timeline,
    aggregation,
    check_length,
    parse_range,
    parse_timeline,
    range_aggregations,
    resolve_when,
)
from wirehose.core.clients import es_client, es_errors
from wirehose.core.errors import ServiceError
from wirehose.core.settings import Settings

__all__ = [
    "SearchRequest", "SearchResult", "build_coverage", "build_search", "build_timeline",
    "fetch_timeline", "search",
]  # fmt: skip


# facet name -> field aggregated; the order is the order facets are shown in.
FACET_FIELDS: dict[str, str] = {
    "people": "people",
    "organizations": "organizations",
    "places": "places",
    "publishers": "publisher",
    "agencies": "agencies",
    "languages": "language",
    "stories": "story_id",
}
# Every article's title and body (one analyzer for all), and the copy in its own language's
# analyzer that articles in a language of sinks.mapping.LANGUAGE_ANALYZERS also have.
TEXT_FIELDS = ("title^2", "body", "localized.*.title^2", "localized.*.body")
HIT_SOURCE = [
    "article_id", "title", "url", "publisher", "agencies", "date", "published_at",
    "story_id", "story_key", "is_canonical", "duplicate_of", "similarity",
    "people", "organizations", "places",
]  # fmt: skip
HIGHLIGHT_TAGS = ("<em>", "</em>")
_RELATIVE = re.compile(r"^(\d+)([mhdwMy])$")


def parse_when(text: str, *, end: bool = False) -> str:
    """A ``--since``/``--until`` value as an Elasticsearch date: ISO date or datetime, a relative
    age (``90m``, ``12h``, ``7d``, ``2w``, ``3M``, ``1y``) or raw date math (``now-7d/d``).

    A bare date as an end bound means the whole day (``2023-12-10||/d`` rounds up under ``lte``).
    """
    value = text.strip()
    if match := _RELATIVE.match(value):
        return f"now-{match.group(1)}{match.group(2)}"
    if value.startswith("now"):
        return value
    try:
        day = date.fromisoformat(value)
    except ValueError:
        pass
    else:
        return f"{day.isoformat()}||/d" if end else day.isoformat()
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).isoformat()
    except ValueError as exc:
        raise ValueError(
            f"{text!r} is not a date: use 2023-12-10, 2023-12-10T16:15:00Z, 7d, 12h or now-1w"
        ) from exc


def text_query(query: str) -> dict[str, Any]:
    """``multi_match`` over title (boosted) and body, and their copies analyzed for the article's
    language where there is one; a query in double quotes is a phrase."""
    stripped = query.strip()
    if len(stripped) > 1 and stripped.startswith('"') and stripped.endswith('"'):
        return {
            "multi_match": {
                "query": stripped[1:-1],
                "fields": list(TEXT_FIELDS),
                "type": "phrase",
            }
        }
    return {
        "multi_match": {
            "query": stripped,
            "fields": list(TEXT_FIELDS),
            "type": "best_fields",
            "operator": "and",
            "tie_breaker": 0.3,
        }
    }


def filters(request: SearchRequest, *, canonical_only: bool) -> list[dict[str, Any]]:
    """The filter clauses of a request (they do not score)."""
    clauses: list[dict[str, Any]] = []
    if canonical_only:
        clauses.append({"term": {"is_canonical": True}})
    for field_name, values in (
        ("people", request.people),
        ("organizations", request.organizations),
        ("places", request.places),
    ):
        clauses.extend({"term": {f"{field_name}.folded": value}} for value in values)
    types = [t.upper() for t in request.entity_types]
    for value in request.entities:
        must: list[dict[str, Any]] = [{"term": {"entities.canonical.folded": value}}]
        if types:
            must.append({"terms": {"entities.label": types}})
        clauses.append({"nested": {"path": "entities", "query": {"bool": {"filter": must}}}})
    if types and not request.entities:
        clauses.append({"terms": {"entity_labels": types}})
    if request.publishers:
        clauses.append({"terms": {"publisher.folded": list(request.publishers)}})
    if request.agencies:
        clauses.append({"terms": {"agencies.folded": list(request.agencies)}})
    if request.languages:
        clauses.append({"terms": {"language": [code.lower() for code in request.languages]}})
    if request.stories:
        clauses.append({"terms": {"story_id": list(request.stories)}})
    if request.since or request.until:
        bounds: dict[str, str] = {}
        if request.since:
            bounds["gte"] = parse_when(request.since)
        if request.until:
            bounds["lte"] = parse_when(request.until, end=True)
        clauses.append({"range": {"date": bounds}})
    return clauses


def _query(request: SearchRequest, *, canonical_only: bool) -> dict[str, Any]:
    must = [text_query(request.query)] if request.query.strip() else []
    return {"bool": {"must": must, "filter": filters(request, canonical_only=canonical_only)}}


def build_search(request: SearchRequest) -> dict[str, Any]:
    """The body of request 1: hits (collapsed per story), highlights and facets."""
    has_text = bool(request.query.strip())
    by_date: list[Any] = [{"date": {"order": "desc"}}, "_score"]
    sort = (
        ["_score", {"date": {"order": "desc"}}]
        if request.sort == "relevance" and has_text
        else by_date
    )
    aggs: dict[str, Any] = {}
    if request.facet_size > 0:  # a terms aggregation of size 0 is an error, not "no facets"
        aggs = {
            name: {"terms": {"field": field_name, "size": request.facet_size}}
            for name, field_name in FACET_FIELDS.items()
        }
        aggs["stories"]["aggs"] = {
            "headline": {
                "top_hits": {
                    "size": 3,
                    "sort": [{"date": {"order": "asc"}}],
                    "_source": ["title"],
                }
            }
        }
    aggs["story_count"] = {"cardinality": {"field": "story_key"}}
    body: dict[str, Any] = {
        "query": _query(request, canonical_only=not request.include_duplicates),
        "sort": sort,
        "size": request.size,
        "from": request.offset,
        "track_total_hits": True,
        "_source": HIT_SOURCE,
        "aggs": aggs,
        "highlight": {
            "pre_tags": [HIGHLIGHT_TAGS[0]],
            "post_tags": [HIGHLIGHT_TAGS[1]],
            "fields": {
                "title": {"number_of_fragments": 0},
                # no_match_size: a hit found by filters alone still shows the start of its body.
                "body": {"fragment_size": 180, "number_of_fragments": 2, "no_match_size": 180},
            },
        },
    }
    if request.collapse:
        body["collapse"] = {
            "field": "story_key",
            "inner_hits": {
                "name": "story",
                "size": 5,
                "sort": [{"date": {"order": "asc"}}],
                "_source": ["article_id", "title", "publisher", "url", "date", "is_canonical"],
            },
        }
    return body


def build_coverage(request: SearchRequest, story_keys: list[str]) -> dict[str, Any]:
    """The body of request 2: per story on the page, articles (copies included) and outlets."""
    query = _query(request, canonical_only=False)
    query["bool"]["filter"].append({"terms": {"story_key": story_keys}})
    return {
        "query": query,
        "size": 0,
        "aggs": {
            "by_story": {
                "terms": {"field": "story_key", "size": max(1, len(story_keys))},
                "aggs": {
                    "outlets": {"terms": {"field": "publisher", "size": request.coverage_outlets}},
                    "outlet_count": {"cardinality": {"field": "publisher"}},
                    "copies": {"filter": {"term": {"is_canonical": False}}},
                },
            }
        },
    }


def requested_range(
    request: SearchRequest, now: datetime
) -> tuple[datetime | None, datetime | None]:
    """``--since``/``--until`` as the instants the range filter means (None where open)."""
    since = resolve_when(parse_when(request.since), now=now) if request.since else None
    until = (
        resolve_when(parse_when(request.until, end=True), now=now, round_up=True)
        if request.until
        else None
    )
    return since, until


def build_timeline_range(request: SearchRequest) -> dict[str, Any]:
    """The first and last event time of every matching article (for an open end)."""
    return {
        "query": _query(request, canonical_only=False),
        "size": 0,
        "track_total_hits": False,
        "aggs": range_aggregations(),
    }


def build_timeline(request: SearchRequest, first: datetime, last: datetime) -> dict[str, Any]:
    """Articles (copies included), stories and outlets per interval from ``first`` to ``last``."""
    if request.timeline is None:
        raise ValueError("the request asks for no timeline")
    return {
        "query": _query(request, canonical_only=False),
        "size": 0,
        "track_total_hits": False,
        "aggs": {AGGREGATION: aggregation(request.timeline, first, last)},
    }


def fetch_timeline(
    es: Elasticsearch, alias: str, request: SearchRequest, *, now: datetime | None = None
) -> Timeline:
    """The timeline of ``request``; raises ``TimelineTooLong`` before counting a range too long."""
    if request.timeline is None:
        raise ValueError("the request asks for no timeline")
    first, last = requested_range(request, now or datetime.now(UTC))
    if first is None or last is None:
        found = parse_range(dict(es.search(index=alias, **build_timeline_range(request))))
        first = first if first is not None else found[0]
        last = last if last is not None else found[1]
    if first is None or last is None or last < first:
        return Timeline(interval=request.timeline)  # nothing matched, or an empty range
    check_length(first, last, request.timeline)
    response = es.search(index=alias, **build_timeline(request, first, last))
    return parse_timeline(dict(response), request.timeline)


def search(
    settings: Settings, request: SearchRequest, *, client: Elasticsearch | None = None
) -> SearchResult:
    """Run a search through ``settings.index_alias`` and shape the result."""

    es = client if client is not None else es_client(settings)
    alias = settings.index_alias
    try:
        with es_errors(settings):  # a refused login or an untrusted certificate, said plainly
            # First: a timeline too long to draw is refused before anything else is asked.
            timeline = fetch_timeline(es, alias, request) if request.timeline else None
            response = es.search(index=alias, **build_search(request))
            result = parse_response(dict(response), request)
            keys = [hit.story_key for hit in result.hits if hit.story_key]
            if request.collapse and keys:
                coverage = es.search(index=alias, **build_coverage(request, keys))
                add_coverage(result, dict(coverage))
            result.timeline = timeline
        return result
    except NotFoundError as exc:
        raise ServiceError(
            f"no index behind alias {alias!r} at {settings.elasticsearch_url}: run "
            "`wirehose index create` (or start `wirehose worker`, which creates it)"
        ) from exc
    finally:
        if client is None:
            es.close()
