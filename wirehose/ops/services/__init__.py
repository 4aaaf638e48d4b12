"""Native Kafka (KRaft) and Elasticsearch, provisioned from Maven Central and run without Docker.

``resolve_endpoints`` is what every command calls: endpoints from the environment win and
nothing is started; otherwise the native services are started (or reused) and their local
addresses returned.
"""

from __future__ import annotations

from dataclasses import dataclass

from wirehose.core.settings import Settings
from wirehose.ops.services.elasticsearch import ElasticsearchService
from wirehose.ops.services.kafka import KafkaService


@dataclass(frozen=True)
class Endpoints:
    kafka_bootstrap: str
    es_url: str


def resolve_endpoints(settings: Settings, *, start: bool = True) -> Endpoints:
    """Where Kafka and Elasticsearch are, starting the native ones if ``start`` and needed."""
    if start:
        if settings.kafka_managed:
            KafkaService(settings).up()
        if settings.es_managed:
            ElasticsearchService(settings).up()
    return Endpoints(kafka_bootstrap=settings.kafka_servers, es_url=settings.elasticsearch_url)


__all__ = ["ElasticsearchService", "Endpoints", "KafkaService", "resolve_endpoints"]
