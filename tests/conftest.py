"""Shared fixtures: real Kafka and Elasticsearch for integration and end-to-end tests.

Services are resolved once per session, per service, in this order:

1. an endpoint from the environment (``WIREHOSE_KAFKA_BOOTSTRAP``, ``WIREHOSE_ES_URL``);
2. testcontainers, when a Docker engine answers;
3. the native services wirehose provisions itself (``wirehose services up``).

A service that cannot be had is a test FAILURE with the reason, never a skip: a skipped
integration test would hide exactly the outage it exists to catch.

Every test gets its own topic, index and consumer-group names (``unique_name``), so tests can
share one broker and one cluster, and a failed test leaves nothing that confuses the next.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings as hypothesis_settings

from wirehose.core.settings import Settings
from wirehose.ops.services.runtime import free_port

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"


# --- property-based tests (tests/unit/test_fuzz_*.py) ------------------------------------------
# "ci" (the default): the same examples on every run and machine, no deadline (a slow runner is
# not a bug), no example database carried between runs. HYPOTHESIS_PROFILE=deep searches longer,
# with fresh random examples each time, when a parser has changed.
hypothesis_settings.register_profile(
    "ci", derandomize=True, deadline=None, database=None, max_examples=300, print_blob=True
)
hypothesis_settings.register_profile("deep", deadline=None, database=None, max_examples=5000)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


# --- markers by directory ---------------------------------------------------------------------
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        parts = Path(str(item.fspath)).relative_to(ROOT / "tests").parts
        if parts and parts[0] in {"unit", "integration", "e2e", "fault"}:
            item.add_marker(getattr(pytest.mark, parts[0]))


# --- service resolution -----------------------------------------------------------------------
@dataclass(frozen=True)
class TestServices:
    kafka_bootstrap: str
    es_url: str
    origin: dict[str, str]


def _docker_engine_answers() -> bool:
    try:
        import docker

        client = docker.from_env(timeout=3)
        client.ping()
        return True
    except Exception:  # any failure means: no usable engine here
        return False


@pytest.fixture(scope="session")
def services() -> Iterator[TestServices]:
    base = Settings()
    origin: dict[str, str] = {}
    kafka = base.kafka_bootstrap
    es_url = base.es_url
    stack = contextlib.ExitStack()
    try:
        if kafka:
            origin["kafka"] = "environment"
        if es_url:
            origin["es"] = "environment"
        if (not kafka or not es_url) and _docker_engine_answers():
            if not kafka:
                from testcontainers.kafka import KafkaContainer

                container = stack.enter_context(
                    KafkaContainer("confluentinc/cp-kafka:7.7.1").with_kraft()
                )
                kafka, origin["kafka"] = container.get_bootstrap_server(), "testcontainers"
            if not es_url:
                from testcontainers.elasticsearch import ElasticSearchContainer

                es = stack.enter_context(
                    ElasticSearchContainer(
                        "docker.elastic.co/elasticsearch/elasticsearch:8.19.4", mem_limit="1g"
                    )
                )
                es_url, origin["es"] = es.get_url(), "testcontainers"
        if not kafka or not es_url:
            from wirehose.ops.services import ElasticsearchService, KafkaService

            if not kafka:
                KafkaService(base).up()
                kafka, origin["kafka"] = base.kafka_servers, "native"
            if not es_url:
                ElasticsearchService(base).up()
                es_url, origin["es"] = base.elasticsearch_url, "native"
    except Exception as exc:
        stack.close()
        pytest.fail(
            f"Kafka/Elasticsearch needed by this test could not be had ({type(exc).__name__}: {exc}). "
            "Run `make up`, or set WIREHOSE_KAFKA_BOOTSTRAP and WIREHOSE_ES_URL.",
            pytrace=False,
        )
    with stack:
        yield TestServices(kafka_bootstrap=kafka, es_url=es_url, origin=origin)


@pytest.fixture(scope="session")
def kafka_bootstrap(services: TestServices) -> str:
    return services.kafka_bootstrap


@pytest.fixture(scope="session")
def es_url(services: TestServices) -> str:
    return services.es_url


@pytest.fixture(scope="session")
def es(es_url: str) -> Iterator[Any]:
    from elasticsearch import Elasticsearch

    client = Elasticsearch(es_url, request_timeout=30)
    yield client
    client.close()


# --- per-test names and resources --------------------------------------------------------------
@pytest.fixture
def unique_name(request: pytest.FixtureRequest) -> Callable[[str], str]:
    """``unique_name("raw")`` -> ``raw-test-foo-3f9a1c2b``: lower-case, safe for topics and indices."""
    test = "".join(c if c.isalnum() else "-" for c in request.node.name.lower())[:30].strip("-")

    def make(prefix: str) -> str:
        return f"wh-{prefix}-{test}-{uuid.uuid4().hex[:8]}"

    return make


@pytest.fixture
def new_topic(
    kafka_bootstrap: str, unique_name: Callable[[str], str]
) -> Iterator[Callable[..., str]]:
    """Create a fresh topic (deleted after the test): ``new_topic("raw", partitions=4)``."""
    from kafka.admin import KafkaAdminClient, NewTopic

    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap, client_id="wirehose-tests")
    created: list[str] = []

    def make(prefix: str = "topic", partitions: int = 4) -> str:
        name = unique_name(prefix)
        admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)])
        created.append(name)
        return name

    yield make
    with contextlib.suppress(Exception):  # best effort: the broker may be down in a fault test
        admin.delete_topics(created)
    admin.close()


@pytest.fixture
def make_settings(
    services: TestServices, unique_name: Callable[[str], str], tmp_path: Path
) -> Callable[..., Settings]:
    """Settings bound to the test services, with this test's own topics, index and group."""

    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "kafka_bootstrap": services.kafka_bootstrap,
            "es_url": services.es_url,
            "home": tmp_path / "home",
            "topic_raw": unique_name("raw"),
            "topic_enriched": unique_name("enriched"),
            "topic_dead_letter": unique_name("dlq"),
            "topic_alerts": unique_name("alerts"),
            "index_alias": unique_name("articles"),
            "app_id": unique_name("app"),
            "worker_web_port": free_port(),
        }
        values.update(overrides)
        return Settings(**values)

    return make


@pytest.fixture(scope="session")
def seeds_dir() -> Path:
    return SEEDS


def pytest_report_header(config: pytest.Config) -> list[str]:
    return [f"wirehose: CI={os.environ.get('CI', '')!r}; services resolve env -> docker -> native"]
