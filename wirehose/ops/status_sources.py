"""The live sources behind ``wirehose status``: Kafka, Elasticsearch and the worker's endpoints.

Each source is built to fail soft: a service that does not answer yields ``None`` plus a
problem that names the address and the command that fixes it, and the snapshot goes on.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from wirehose.core.clients import es_client, es_failure, kafka_access
from wirehose.core.errors import WirehoseError
from wirehose.core.offsets import KafkaOffsets
from wirehose.core.settings import Settings
from wirehose.ops.deadletters import scan_topic
from wirehose.ops.services import ElasticsearchService, KafkaService
from wirehose.ops.services.runtime import port_open
from wirehose.ops.status import ES_HINT, KAFKA_HINT, IndexStatus, ServiceStatus, Sources, worker_url

log = logging.getLogger(__name__)

HTTP_TIMEOUT = 3.0


def service_states(settings: Settings) -> tuple[list[ServiceStatus], str | None]:
    """Native services by their own health check; external ones by whether they answer. And
    why an external Elasticsearch does not (a refused login, a rejected certificate)."""
    states = []
    es_problem = None
    if settings.kafka_managed:
        kafka = KafkaService(settings).status()
        states.append(ServiceStatus("kafka", kafka.address, kafka.healthy, True, _detail(kafka)))
    else:
        up = any(_reachable(server) for server in settings.kafka_servers.split(","))
        states.append(ServiceStatus("kafka", settings.kafka_servers, up, False, "external"))
    if settings.es_managed:
        es = ElasticsearchService(settings).status()
        states.append(ServiceStatus("es", es.address, es.healthy, True, _detail(es)))
    else:
        es_problem = _es_problem(settings)
        states.append(
            ServiceStatus("es", settings.elasticsearch_url, es_problem is None, False, "external")
        )
    return states, es_problem


def _detail(state: Any) -> str:
    if state.healthy:
        return f"native, pid {state.pid}"
    return "native, running but not healthy" if state.running else "native, not running"


def _reachable(server: str) -> bool:
    host, _, port = server.strip().rpartition(":")
    return port.isdigit() and port_open(host or "127.0.0.1", int(port), timeout=1.0)


def _es_problem(settings: Settings) -> str | None:
    """Why the cluster is not usable from here (a refused login, an untrusted certificate,
    nothing answering), or ``None`` when it answers."""
    client = es_client(settings, request_timeout=HTTP_TIMEOUT)
    try:
        # Cluster health, not ping() or info(): the slim native node has no handler for "/".
        client.options(max_retries=0).cluster.health()
        return None
    except Exception as exc:  # unreachable, refused, unauthorized: all mean "not usable from here"
        log.debug("elasticsearch probe failed", exc_info=True)
        failure = es_failure(exc, settings)
        if failure is None:
            return f"Elasticsearch at {settings.elasticsearch_url} does not answer: {ES_HINT}"
        return str(failure)
    finally:
        client.close()


class EsIndexSource:
    """Alias, backing indices and counts, from any client with the ``Elasticsearch`` API."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def index_status(self, alias: str) -> IndexStatus | None:
        from elasticsearch import NotFoundError

        try:
            indices = sorted(self.client.indices.get_alias(name=alias))
        except NotFoundError:
            if not self.client.indices.exists(index=alias):
                return None
            indices = [alias]  # a plain index where the alias should be
        return IndexStatus(
            alias=alias,
            indices=indices,
            documents=self._count(alias, None),
            canonical=self._count(alias, True),
            duplicates=self._count(alias, False),
        )

    def _count(self, alias: str, canonical: bool | None) -> int:
        if canonical is None:
            return int(self.client.count(index=alias)["count"])
        # The sink writes a top-level `is_canonical`; older or future mappings may nest it under
        # `dedup`. Asking for either keeps status right across a mapping change, and a term on an
        # unmapped field matches nothing instead of failing.
        query = {
            "bool": {
                "should": [
                    {"term": {"is_canonical": canonical}},
                    {"term": {"dedup.is_canonical": canonical}},
                ],
                "minimum_should_match": 1,
            }
        }
        return int(self.client.count(index=alias, query=query)["count"])


def fetch_worker_metrics(url: str) -> dict[str, float] | None:
    """The worker's wirehose counters, or None when it does not answer: each summed over all
    labels (``name``) and per step (``name{step="..."}``)."""
    from prometheus_client.parser import text_string_to_metric_families

    try:
        with urllib.request.urlopen(f"{url}/metrics", timeout=HTTP_TIMEOUT) as response:  # noqa: S310 - an http URL we built
            text = response.read().decode("utf-8")
    except (urllib.error.URLError, OSError):
        return None
    totals: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name.startswith("wirehose_") and sample.name.endswith("_total"):
                keys = [sample.name]
                if "step" in sample.labels:
                    keys.append(f'{sample.name}{{step="{sample.labels["step"]}"}}')
                for key in keys:
                    totals[key] = totals.get(key, 0.0) + float(sample.value)
    return totals


def fetch_worker_ready(url: str) -> tuple[bool, str | None] | None:
    """``(ready, reason)`` from the worker's ``/ready``, or None when nothing answers."""
    try:
        with urllib.request.urlopen(f"{url}/ready", timeout=HTTP_TIMEOUT):  # noqa: S310 - an http URL we built
            return True, None
    except urllib.error.HTTPError as exc:
        try:
            body = json.loads(exc.read() or b"{}")
        except ValueError:
            body = {}
        return False, str(body.get("reason") or f"HTTP {exc.code}")
    except (urllib.error.URLError, OSError):
        return None


@contextmanager
def live_sources(settings: Settings, *, url_override: str | None = None) -> Iterator[Sources]:
    """Sources connected to the configured services; clients are closed on exit."""

    problems: list[str] = []
    services, es_problem = service_states(settings)
    url = url_override or worker_url(settings)
    kafka_up = next(s.up for s in services if s.name == "kafka")
    es_up = next(s.up for s in services if s.name == "es")
    offsets = None
    access = kafka_access(settings)
    if kafka_up:
        try:
            offsets = KafkaOffsets(access)
        except WirehoseError as exc:
            problems.append(str(exc))
    else:
        problems.append(f"Kafka unreachable at {settings.kafka_servers}: {KAFKA_HINT}")
    if not es_up:
        problems.append(
            es_problem or f"Elasticsearch unreachable at {settings.elasticsearch_url}: {ES_HINT}"
        )
    client = es_client(settings, request_timeout=10) if es_up else None
    try:
        yield Sources(
            services=services,
            offsets=offsets,
            scan_dead_letters=(
                (
                    lambda: scan_topic(
                        access,
                        settings.topic_dead_letter,
                        newest=settings.status_dead_letter_scan,
                        deadline=20.0,
                    )
                )
                if offsets is not None
                else None
            ),
            index=EsIndexSource(client) if client is not None else None,
            worker_metrics=lambda: fetch_worker_metrics(url),
            worker_ready=lambda: fetch_worker_ready(url),
            problems=problems,
            worker_url=url,
        )
    finally:
        if offsets is not None:
            offsets.close()
        if client is not None:
            client.close()
