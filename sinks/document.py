"""An enriched ``Article`` as the Elasticsearch document the mapping in ``sinks.mapping`` expects.

The document is flatter than the record on purpose: search filters and facets want one keyword
array per entity type (``people``, ``organizations``, ``places``, ``others``) holding canonical
forms, and top-level dedup fields, not nested objects Kibana cannot facet on. The full entity
list is kept too (``entities``, nested) so "the entity X *as a person*" can be asked exactly.

Two derived fields exist only for search:

- ``story_key``: the field results collapse on. Elasticsearch collapses every document that lacks
  the field into ONE group, so an article without a ``story_id`` gets its own key
  (``article:<id>``) instead of swallowing all other unclustered articles.
- ``date``: the article's event time (``wirehose.core.article.event_time``: ``published_at``,
  never later than ``fetched_at``, else ``fetched_at``), the time dedup and story clustering
  use too; always present, so date sorting, ``--since/--until`` and the Kibana timeline never
  silently drop undated articles.

``localized`` holds title and body again for an article whose language has its own analyzer
(``sinks.mapping.LANGUAGE_ANALYZERS``), under that language's code; other articles have none.
The copy of the body stops at ``LOCALIZED_MAX_CHARS``: a long feature is some 30,000 characters,
and an uncapped copy of a body at the size limit (a million characters, three bytes each in
Chinese) would push a document that fits ``WIREHOSE_SINK_BATCH_BYTES`` over it.

``raw`` (the original text or HTML) stays out: it is large, never searched, and Kafka keeps it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sinks.mapping import LANGUAGE_ANALYZERS, LOCALIZED
from wirehose.core.article import Article, DedupMark, event_time

# spaCy labels per facet. GPE (countries, cities) and LOC (regions, seas) are both "places" to a
# reader; everything else named (NORP, EVENT, FAC, ...) lands in "others".
PEOPLE_LABELS = frozenset({"PERSON"})
ORGANIZATION_LABELS = frozenset({"ORG"})
PLACE_LABELS = frozenset({"GPE", "LOC"})
LOCALIZED_MAX_CHARS = 100_000


def facet_of(label: str) -> str:
    """The facet field an entity label belongs to."""
    if label in PEOPLE_LABELS:
        return "people"
    if label in ORGANIZATION_LABELS:
        return "organizations"
    if label in PLACE_LABELS:
        return "places"
    return "others"


def story_key(article: Article) -> str:
    """The collapse key: the story when clustered, else the article itself."""
    return article.story_id or f"article:{article.article_id}"


def _unique(values: list[str]) -> list[str]:
    """Order-preserving de-duplication: facet counts count articles, not mentions."""
    return list(dict.fromkeys(v for v in values if v))


def to_document(article: Article, *, indexed_at: datetime | None = None) -> dict[str, Any]:
    """The JSON-ready document for one article (every mapped field, nothing unmapped)."""
    facets: dict[str, list[str]] = {"people": [], "organizations": [], "places": [], "others": []}
    for entity in article.entities:
        facets[facet_of(entity.label)].append(entity.canonical)
    return {
        "article_id": article.article_id,
        "schema_version": article.schema_version,
        "url": article.url,
        "title": article.title,
        "subtitle": article.subtitle,
        "body": article.body,
        "publisher": article.publisher,
        "byline": article.byline,
        "agencies": list(article.agencies),
        "language": article.language,
        **localized_fields(article),
        "producer": article.producer,
        "source": article.source,
        "content_hash": article.content_hash,
        "published_at": _iso(article.published_at),
        "fetched_at": _iso(article.fetched_at),
        "processed_at": _iso(article.processed_at),
        "indexed_at": _iso(indexed_at or datetime.now(UTC)),
        "date": _iso(event_time(article)),
        **dedup_fields(article.dedup),
        "story_id": article.story_id,
        "story_key": story_key(article),
        **{name: _unique(values) for name, values in facets.items()},
        "entity_names": _unique([e.canonical for e in article.entities]),
        "entity_labels": _unique([e.label for e in article.entities]),
        "entities": [
            {
                "label": e.label,
                "canonical": e.canonical,
                "text": e.text,
                "field": e.field,
                "start": e.start,
                "end": e.end,
            }
            for e in article.entities
        ],
    }


def localized_fields(article: Article) -> dict[str, Any]:
    """Title and body again under ``localized.<language>``, for the languages that have one."""
    if article.language not in LANGUAGE_ANALYZERS:
        return {}
    body = article.body[:LOCALIZED_MAX_CHARS]
    return {LOCALIZED: {article.language: {"title": article.title, "body": body}}}


def dedup_fields(dedup: DedupMark | None) -> dict[str, Any]:
    """The document's dedup fields; also what a re-mark updates."""
    return {
        # An article the dedup stage never saw is its own original: searching "canonical only"
        # must not hide it.
        "is_canonical": dedup.is_canonical if dedup else True,
        "duplicate_of": dedup.duplicate_of if dedup else None,
        "similarity": dedup.similarity if dedup else None,
        "dedup_method": dedup.method if dedup else None,
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
