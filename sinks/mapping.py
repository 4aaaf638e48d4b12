"""The articles index: its settings, mapping and index template, versioned behind an alias.

Searches and writes go through the alias (``WIREHOSE_INDEX_ALIAS``, default ``articles``); the
alias points at ``<alias>-v<N>``. A mapping change bumps ``MAPPING_VERSION``; ``wirehose index
migrate`` then builds the next ``-v<N+1>`` from the current code, copies the documents and swaps
the alias in one atomic request (see ``sinks.indices``).

Choices, and why:

- ``dynamic: strict``: a field the mapping does not know is a bug in the document builder
  (``sinks.document``), and it should fail loudly (the document is dead-lettered with
  Elasticsearch's reason) rather than grow a guessed mapping that the next index version lacks.
- ``english`` analysis for title, subtitle and body: stemming ("negotiations" finds
  "negotiation") and English stop words. It is a built-in analyzer on a full distribution and
  comes from wirehose's small plugin on the slim native node; where neither exists the index falls
  back to ``standard`` and records that in ``_meta.analyzer`` (``wirehose index status`` shows it).
  Only core analysis components are used, so one mapping works on both distributions.
- Articles in a language with a built-in analyzer (``LANGUAGE_ANALYZERS``: French, German,
  Spanish, Italian, Portuguese, Dutch, Russian, Arabic, Chinese) are indexed twice: ``title`` and
  ``body`` as every article is, and again under ``localized.<code>.title``/``.body`` with the
  analyzer for their language (``text_<code>`` in the index settings, built on the language's
  built-in analyzer, or ``standard`` on a node without it: ``IndexManager`` asks the node). The
  main fields keep one analyzer so every article is found by one query, sorted and highlighted
  the same way; the localized copy adds the stemming and stop words of the article's own
  language, and costs only those articles their text a second time. See docs/languages.md.
- Entity facets are keyword arrays of canonical forms (what a terms aggregation counts), each
  with a ``folded`` (lower-cased) sub-field so filters match "sergei lavrov" too. The full entity
  list is ``nested`` so "X as a PERSON" is one condition on one entity, not two on the article.
- ``auto_expand_replicas: 0-1``: green on the single native node, one replica on a real cluster.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

MAPPING_VERSION = 2

TEXT_ANALYZER = "english"
FALLBACK_ANALYZER = "standard"
FOLDED = "folded"  # the lower-case normalizer and the sub-field that uses it

_FACET = {
    "type": "keyword",
    "ignore_above": 256,
    "fields": {FOLDED: {"type": "keyword", "normalizer": FOLDED, "ignore_above": 256}},
}
_KEYWORD = {"type": "keyword", "ignore_above": 1024}

# Article language (``Article.language``) -> the built-in analyzer for it, where Elasticsearch has
# one (the analysis-common module of a full distribution). Adding one bumps MAPPING_VERSION.
LANGUAGE_ANALYZERS: dict[str, str] = {
    "fr": "french",
    "de": "german",
    "es": "spanish",
    "it": "italian",
    "pt": "portuguese",
    "nl": "dutch",
    "ru": "russian",
    "ar": "arabic",
    "zh": "cjk",
}
LOCALIZED = "localized"  # the object holding each language's copy of title and body


def language_analyzer(code: str) -> str:
    """The index-level analyzer of one language's localized fields (defined in the settings)."""
    return f"text_{code}"


def _text(analyzer: str, *, raw: bool = False) -> dict[str, Any]:
    field: dict[str, Any] = {"type": "text", "analyzer": analyzer}
    if raw:
        # Exact title for sorting, Kibana tables and "same headline" checks.
        field["fields"] = {"raw": {"type": "keyword", "ignore_above": 512}}
    return field


def mappings(analyzer: str = TEXT_ANALYZER) -> dict[str, Any]:
    """The mapping of one index version; ``analyzer`` is ``english`` unless the node lacks it."""
    facet = copy.deepcopy(_FACET)
    return {
        "dynamic": "strict",
        "_meta": {"wirehose_mapping_version": MAPPING_VERSION, "analyzer": analyzer},
        "properties": {
            "article_id": {"type": "keyword"},
            "schema_version": {"type": "short"},
            "url": {"type": "keyword", "ignore_above": 2048},
            "title": _text(analyzer, raw=True),
            "subtitle": _text(analyzer),
            "body": _text(analyzer),
            "publisher": facet,
            "byline": _KEYWORD,
            "agencies": facet,
            "language": {"type": "keyword"},
            LOCALIZED: {
                "properties": {
                    code: {
                        "properties": {
                            "title": _text(language_analyzer(code)),
                            "body": _text(language_analyzer(code)),
                        }
                    }
                    for code in LANGUAGE_ANALYZERS
                }
            },
            "producer": {"type": "keyword"},
            "source": _KEYWORD,
            "content_hash": {"type": "keyword"},
            "published_at": {"type": "date"},
            "fetched_at": {"type": "date"},
            "processed_at": {"type": "date"},
            "indexed_at": {"type": "date"},
            "date": {"type": "date"},
            "is_canonical": {"type": "boolean"},
            "duplicate_of": {"type": "keyword"},
            "similarity": {"type": "float"},
            "dedup_method": {"type": "keyword"},
            "story_id": {"type": "keyword"},
            "story_key": {"type": "keyword"},
            "people": facet,
            "organizations": facet,
            "places": facet,
            "others": facet,
            "entity_names": facet,
            "entity_labels": {"type": "keyword"},
            "entities": {
                "type": "nested",
                "properties": {
                    "label": {"type": "keyword"},
                    "canonical": facet,
                    "text": {"type": "keyword", "ignore_above": 256},
                    "field": {"type": "keyword"},
                    "start": {"type": "integer", "index": False},
                    "end": {"type": "integer", "index": False},
                },
            },
        },
    }


def index_settings(languages: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Shards, replicas and analysis. ``languages`` maps a language code to the built-in analyzer
    its localized fields use (``standard`` where the node lacks the language's); the default
    assumes a full distribution, which has all of ``LANGUAGE_ANALYZERS``."""
    chosen = LANGUAGE_ANALYZERS if languages is None else languages
    return {
        "number_of_shards": 1,
        "auto_expand_replicas": "0-1",
        "analysis": {
            "normalizer": {FOLDED: {"type": "custom", "filter": ["lowercase"]}},
            "analyzer": {
                language_analyzer(code): {"type": chosen.get(code, FALLBACK_ANALYZER)}
                for code in LANGUAGE_ANALYZERS
            },
        },
    }


def index_name(alias: str, generation: int) -> str:
    """``articles`` + 3 -> ``articles-v3``."""
    return f"{alias}-v{generation}"


def template_name(alias: str) -> str:
    return f"wirehose-{alias}"


def index_template(
    alias: str, analyzer: str = TEXT_ANALYZER, languages: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """A composable template for every ``<alias>-v*``: an index created by hand (or by a
    reindex tool) under that pattern gets the same settings and mapping."""
    return {
        "index_patterns": [f"{alias}-v*"],
        "priority": 200,
        "template": {"settings": index_settings(languages), "mappings": mappings(analyzer)},
        "_meta": {"description": "wirehose articles", "mapping_version": MAPPING_VERSION},
    }
