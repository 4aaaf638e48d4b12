"""The articles index: a versioned index behind an alias, so the mapping can change by reindexing."""

from __future__ import annotations

from typing import Any

from elasticsearch import Elasticsearch

MAPPING_VERSION = 1

MAPPINGS: dict[str, Any] = {
    "dynamic": "false",
    "properties": {
        "article_id": {"type": "keyword"},
        "title": {
            "type": "text",
            "analyzer": "english",
            "fields": {"raw": {"type": "keyword", "ignore_above": 512}},
        },
        "body": {"type": "text", "analyzer": "english"},
        "publisher": {"type": "keyword"},
        "agencies": {"type": "keyword"},
        "story_id": {"type": "keyword"},
        "published_at": {"type": "date"},
        "fetched_at": {"type": "date"},
    },
}


def index_name(alias: str, version: int = MAPPING_VERSION) -> str:
    return f"{alias}-v{version}"


def ensure_index(client: Elasticsearch, alias: str) -> str:
    """Create ``<alias>-v<N>`` with the alias pointing at it, unless the alias exists."""
    if client.indices.exists_alias(name=alias):
        return alias
    name = index_name(alias)
    client.indices.create(
        index=name,
        mappings=MAPPINGS,
        settings={"number_of_shards": 1, "number_of_replicas": 0},
        aliases={alias: {"is_write_index": True}},
    )
    return name
