"""The Elasticsearch sink: buffered bulk writes keyed by ``article_id``."""

from __future__ import annotations

import logging
from typing import Any

from elasticsearch import Elasticsearch

from sinks.mapping import ensure_index
from wirehose.article import Article
from wirehose.deadletter import DeadLetter
from wirehose.settings import Settings

log = logging.getLogger(__name__)


def es_client(settings: Settings) -> Elasticsearch:
    auth: dict[str, Any] = {}
    if settings.es_api_key:
        auth["api_key"] = settings.es_api_key.get_secret_value()
    elif settings.es_username and settings.es_password:
        auth["basic_auth"] = (settings.es_username, settings.es_password.get_secret_value())
    return Elasticsearch(settings.elasticsearch_url, request_timeout=30, **auth)


class ElasticsearchSink:
    """``add()`` buffers, ``flush()`` writes the buffer with one bulk request and returns when done."""

    step_id = "sink.elasticsearch"

    def __init__(self, settings: Settings, client: Elasticsearch | None = None) -> None:
        self.settings = settings
        self.client = client or es_client(settings)
        self.buffer: list[Article] = []

    def setup(self) -> None:
        ensure_index(self.client, self.settings.index_alias)

    def add(self, article: Article, offset: int | None = None) -> None:
        self.buffer.append(article)

    def flush(self) -> list[DeadLetter]:
        """Write the buffer; return the documents Elasticsearch rejected for good, as dead letters."""
        if not self.buffer:
            return []
        operations: list[dict[str, Any]] = []
        for article in self.buffer:
            operations.append(
                {"index": {"_index": self.settings.index_alias, "_id": article.article_id}}
            )
            operations.append(article.model_dump(mode="json", exclude={"raw"}))
        response = self.client.bulk(operations=operations, refresh=False)
        if response.get("errors"):
            failed = [item for item in response["items"] if item["index"].get("error")]
            raise RuntimeError(f"bulk write failed for {len(failed)} documents: {failed[:3]}")
        self.buffer.clear()
        return []
