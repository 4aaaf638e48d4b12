"""Every Kafka and Elasticsearch client wirehose builds, built here and only here.

One place decides how a client reaches a service: the bootstrap servers or URL, credentials,
and (where a deployment needs it) transport security. A command that built its own client would
silently drop whichever of those it forgot, so nothing else constructs ``KafkaProducer``,
``KafkaConsumer``, ``KafkaAdminClient`` or ``Elasticsearch`` (a test in ``tests/unit`` checks).
The Faust worker's own clients are configured in ``processors.worker.base``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from elasticsearch import Elasticsearch
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from wirehose.core.errors import ServiceError
from wirehose.core.settings import Settings

log = logging.getLogger(__name__)

KAFKA_HINT = (
    "start the local broker with `wirehose services up`, or point WIREHOSE_KAFKA_BOOTSTRAP "
    "(or --bootstrap) at a running one"
)


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


def kafka_config(bootstrap: str, **options: Any) -> dict[str, Any]:
    """What every kafka-python client gets: the servers of ``bootstrap`` (comma-separated)."""
    return {"bootstrap_servers": bootstrap.split(","), **options}


def kafka_producer(bootstrap: str, **options: Any) -> KafkaProducer:
    return KafkaProducer(**kafka_config(bootstrap, **options))


def kafka_consumer(bootstrap: str, *topics: str, **options: Any) -> KafkaConsumer:
    return KafkaConsumer(*topics, **kafka_config(bootstrap, **options))


def kafka_admin(bootstrap: str, **options: Any) -> KafkaAdminClient:
    return KafkaAdminClient(**kafka_config(bootstrap, **options))


def best_compression() -> str:
    """The strongest codec both kafka-python and (when installed) aiokafka can handle.

    Faust consumes with aiokafka, so a codec only the producer has would make every record
    unreadable downstream. gzip needs nothing beyond the standard library.
    """
    from kafka import codec as kcodec

    try:
        from aiokafka import codec as acodec
    except ImportError:  # pragma: no cover - aiokafka comes with faust
        acodec = kcodec
    for name in ("zstd", "lz4"):
        if getattr(kcodec, f"has_{name}")() and getattr(acodec, f"has_{name}")():
            return name
    return "gzip"


def ensure_topics(
    bootstrap: str,
    topics: Iterable[str],
    *,
    partitions: int,
    replication_factor: int = 1,
    bootstrap_timeout_ms: int = 15_000,
    configs: Mapping[str, str] | None = None,
) -> list[str]:
    """Create the topics that do not exist yet; return the names created.

    Relying on broker auto-creation would give each topic the broker's default partition
    count, and the partition count decides how far the Faust worker can scale out.
    """
    wanted = list(dict.fromkeys(topics))
    try:
        admin = kafka_admin(
            bootstrap, client_id="wirehose-admin", bootstrap_timeout_ms=bootstrap_timeout_ms
        )
    except KafkaError as exc:
        raise ServiceError(f"no Kafka broker answers at {bootstrap}: {KAFKA_HINT}") from exc
    try:
        missing = [name for name in wanted if name not in set(admin.list_topics())]
        created = []
        for name in missing:
            try:
                admin.create_topics(
                    [
                        NewTopic(
                            name,
                            partitions,
                            replication_factor,
                            topic_configs=dict(configs or {}),
                        )
                    ],
                    wait_for_metadata=True,
                )
                created.append(name)
            except TopicAlreadyExistsError:  # another process won the race: fine
                pass
        if created:
            log.info("created topics names=%s partitions=%d", ",".join(created), partitions)
        return created
    finally:
        admin.close()
