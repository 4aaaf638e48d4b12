"""The Elasticsearch client every wirehose command builds from settings (URL and credentials)."""

from __future__ import annotations

from typing import Any

from elasticsearch import Elasticsearch

from wirehose.core.settings import Settings


def es_client(settings: Settings, *, request_timeout: float = 30.0) -> Elasticsearch:
    """A client for ``settings.elasticsearch_url`` with basic auth or an API key when set.

    The transport's own retries stay at their default: they cover a node that drops one
    connection. Longer outages are the sink's business (``sinks.bulk``), which waits without a cap.
    """
    auth: dict[str, Any] = {}
    if settings.es_api_key:
        auth["api_key"] = settings.es_api_key.get_secret_value()
    elif settings.es_username and settings.es_password:
        auth["basic_auth"] = (settings.es_username, settings.es_password.get_secret_value())
    return Elasticsearch(settings.elasticsearch_url, request_timeout=request_timeout, **auth)
