"""What a search asks: the query, filters, sort, paging and facet sizes, as plain data.

Kept apart from ``sinks.search`` (which turns a request into Elasticsearch queries) so that
``sinks.results`` can refer to the request it answers without importing the search code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

SortOrder = Literal["relevance", "date"]
TimelineInterval = Literal["day", "hour"]


@dataclass(frozen=True)
class SearchRequest:
    """Everything a search can ask; every field has a sensible default."""

    query: str = ""
    people: tuple[str, ...] = ()
    organizations: tuple[str, ...] = ()
    places: tuple[str, ...] = ()
    entities: tuple[str, ...] = ()
    entity_types: tuple[str, ...] = ()
    publishers: tuple[str, ...] = ()
    agencies: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()  # ISO 639-1 codes (``und``: undetermined)
    stories: tuple[str, ...] = ()
    since: str | None = None
    until: str | None = None
    include_duplicates: bool = False
    collapse: bool = True
    sort: SortOrder = "relevance"
    size: int = 10
    offset: int = 0
    facet_size: int = 10
    coverage_outlets: int = 10
    # articles, stories and outlets per interval (``sinks.timeline``); None asks for none
    timeline: TimelineInterval | None = None
