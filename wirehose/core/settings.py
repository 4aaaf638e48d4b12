"""One frozen settings object, read once at start-up from ``WIREHOSE_*`` environment variables.

Every field carries a description; ``wirehose settings`` prints them all and a unit test fails
when one is missing from ``docs/settings.md``. Secrets are ``SecretStr`` so they never reach a log.
"""

from __future__ import annotations

import re
from functools import lru_cache
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from wirehose.core.errors import ConfigError


def _default_home() -> Path:
    return Path.home() / ".cache" / "wirehose"


_HOST_PATTERN = re.compile(
    r"^(\*\.)?([a-z0-9_]([a-z0-9_-]*[a-z0-9_])?\.)*[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?$"
)


def parse_fetch_allow(value: str) -> tuple[tuple[IPv4Network | IPv6Network, ...], tuple[str, ...]]:
    """``WIREHOSE_FETCH_ALLOW`` as (networks, host names); ``ValueError`` names a bad entry.

    An entry is a network (``10.1.0.0/16``; a bare address is a network of one), a host name
    (``feeds.corp.example``) or every name under a domain (``*.corp.example``).
    """
    networks: list[IPv4Network | IPv6Network] = []
    hosts: list[str] = []
    for raw in value.split(","):
        entry = raw.strip().lower().rstrip(".")
        if not entry:
            continue
        try:
            networks.append(ip_network(entry, strict=False))
            continue
        except ValueError:
            pass
        if not _HOST_PATTERN.match(entry):
            raise ValueError(
                f"{raw.strip()!r} is neither a network (10.1.0.0/16, 127.0.0.1) nor a host name "
                "(feeds.corp.example, *.corp.example)"
            )
        hosts.append(entry)
    return tuple(networks), tuple(hosts)


class Settings(BaseSettings):
    """All of wirehose's configuration. Environment variables are ``WIREHOSE_<FIELD>``."""

    model_config = SettingsConfigDict(
        env_prefix="WIREHOSE_", frozen=True, extra="ignore", env_file=None
    )

    # --- where the services are -------------------------------------------------------------
    kafka_bootstrap: str | None = Field(
        None,
        description="Kafka bootstrap servers (host:port[,host:port]). When set, wirehose uses "
        "this broker and starts none of its own.",
    )
    es_url: str | None = Field(
        None,
        description="Elasticsearch URL (http://host:port). When set, wirehose uses this cluster "
        "and starts none of its own.",
    )
    es_username: str | None = Field(None, description="Elasticsearch user for basic auth.")
    es_password: SecretStr | None = Field(
        None, description="Elasticsearch password for basic auth (never logged)."
    )
    es_api_key: SecretStr | None = Field(
        None, description="Elasticsearch API key, instead of user and password (never logged)."
    )

    # --- the native services wirehose provisions when no endpoint is given -------------------
    home: Path = Field(
        default_factory=_default_home,
        description="Cache and state directory: downloads, service data and logs, feed state.",
    )
    kafka_port: int = Field(9092, description="Port of the native Kafka broker's client listener.")
    kafka_controller_port: int = Field(
        9093, description="Port of the native Kafka broker's KRaft controller listener."
    )
    kafka_version: str = Field(
        "3.9.1", description="Apache Kafka version fetched from Maven Central."
    )
    kafka_heap: str = Field("512m", description="JVM heap of the native Kafka broker.")
    es_port: int = Field(9200, description="HTTP port of the native Elasticsearch node.")
    es_transport_port: int = Field(
        9300, description="Transport port of the native Elasticsearch node."
    )
    es_version: str = Field(
        "8.19.21", description="Elasticsearch 8.x version fetched from Maven Central."
    )
    es_heap: str = Field("512m", description="JVM heap of the native Elasticsearch node.")
    es_run_as: str = Field(
        "wirehose",
        description="Unprivileged user that runs the native Elasticsearch when wirehose runs as "
        "root (Elasticsearch refuses root). Created if missing.",
    )
    java_home: Path | None = Field(
        None,
        description="JDK used for the native services. Default: JAVA_HOME, else the newest "
        "JDK 17 or 21 under /usr/lib/jvm.",
    )
    service_timeout: float = Field(
        120.0, description="Seconds to wait for a native service to become healthy."
    )

    # --- topics and index ---------------------------------------------------------------------
    topic_raw: str = Field("wirehose.articles.raw", description="Topic producers write to.")
    topic_enriched: str = Field(
        "wirehose.articles.enriched",
        description="Topic of deduplicated, clustered and tagged articles, read by the sink.",
    )
    topic_dead_letter: str = Field(
        "wirehose.core.deadletter", description="Topic of rejected records, with reason and bytes."
    )
    topic_partitions: int = Field(4, description="Partitions of the topics wirehose creates.")
    index_alias: str = Field(
        "articles", description="Elasticsearch alias searched and written through."
    )

    # --- processing ---------------------------------------------------------------------------
    app_id: str = Field(
        "wirehose", description="Faust application id: consumer group and table prefix."
    )
    worker_web_host: str = Field(
        "127.0.0.1",
        description="Address the worker's web server binds (0.0.0.0 inside a container).",
    )
    worker_web_port: int = Field(
        6066, description="Port of the worker's web server (health and metrics)."
    )
    spacy_model: str = Field(
        "en_core_web_sm",
        description="spaCy pipeline for entity tagging: a package name or a path "
        "(en_core_web_md, _lg and _trf work too).",
    )
    tag_in_subprocess: bool = Field(
        True,
        description="Run spaCy NER in a child process of the worker, on a core of its own "
        "(false: a thread, sharing the worker's interpreter lock).",
    )
    max_body_chars: int = Field(
        1_000_000, description="Articles with a longer body are dead-lettered as oversized."
    )
    dedup_threshold: float = Field(
        0.8, description="Verified similarity at or above which an article is a copy."
    )
    dedup_window_hours: float = Field(
        72.0, description="How long an article stays a dedup candidate (hours)."
    )
    dedup_lateness_hours: float = Field(
        72.0,
        ge=0,
        description="How far (hours of event time) an article may trail others from its source "
        "partition and still be deduplicated exactly, e.g. an original delivered after its "
        "copies. Dedup state is kept this much longer than the window.",
    )
    story_window_hours: float = Field(
        72.0,
        description="Articles further apart than this (hours, event time) never join one story.",
    )
    sink_batch_size: int = Field(500, description="Bulk write flushes at this many documents.")
    sink_batch_bytes: int = Field(
        5_000_000, description="Bulk write flushes at this many bytes of documents."
    )
    sink_flush_seconds: float = Field(
        0.5, description="Bulk write flushes at least this often (seconds)."
    )
    batch_within_seconds: float = Field(
        0.1,
        description="How long the validate and tag stages wait to fill a batch before they "
        "process what they have (seconds): latency under light load vs batching.",
    )
    batch_size: int = Field(
        64, description="Most articles the validate and tag stages process in one batch."
    )
    metrics_lag_interval: float = Field(
        10.0,
        gt=0,
        description="How often the worker refreshes its consumer-lag gauge (seconds).",
    )
    status_dead_letter_scan: int = Field(
        10_000,
        ge=0,
        description="`wirehose status` counts dead-letter reasons over at most this many of "
        "the newest dead letters (each one is a read).",
    )

    # --- fetching from the web (feeds, pages) --------------------------------------------------
    fetch_allow: str = Field(
        "",
        description="Non-public addresses that fetches may reach on purpose, comma-separated: "
        "networks (10.1.0.0/16, 127.0.0.1) and host names (feeds.corp.example, *.corp.example). "
        "Every other loopback, private, link-local or otherwise non-public address is refused.",
    )
    fetch_host_concurrency: int = Field(
        1, ge=1, description="Most article-page requests in flight to one host at a time."
    )
    fetch_host_interval: float = Field(
        1.0,
        ge=0,
        description="Least time between the starts of two article-page requests to one host "
        "(seconds).",
    )
    fetch_retry_after_max: float = Field(
        3600.0,
        ge=0,
        description="Longest Retry-After (on a 429 or 503) that is honoured, in seconds; a site "
        "asking for longer is asked again after this.",
    )
    fetch_robots_ttl: float = Field(
        3600.0,
        gt=0,
        description="How long a site's robots.txt is kept before it is read again (seconds).",
    )

    log_level: str = Field("INFO", description="Log level: DEBUG, INFO, WARNING or ERROR.")

    @field_validator("log_level")
    @classmethod
    def _upper_level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("must be DEBUG, INFO, WARNING or ERROR")
        return level

    @field_validator("fetch_allow")
    @classmethod
    def _allow_list(cls, value: str) -> str:
        networks, hosts = parse_fetch_allow(value)
        return ",".join([*map(str, networks), *hosts])

    # --- derived values -----------------------------------------------------------------------
    @property
    def kafka_managed(self) -> bool:
        """True when wirehose itself provisions and runs the Kafka broker."""
        return self.kafka_bootstrap is None

    @property
    def es_managed(self) -> bool:
        """True when wirehose itself provisions and runs Elasticsearch."""
        return self.es_url is None

    @property
    def kafka_servers(self) -> str:
        return self.kafka_bootstrap or f"127.0.0.1:{self.kafka_port}"

    @property
    def elasticsearch_url(self) -> str:
        return self.es_url or f"http://127.0.0.1:{self.es_port}"

    @property
    def seen_state_dir(self) -> Path:
        return self.home / "state"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read from the environment on first use."""
    try:
        return Settings()
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        raise ConfigError(f"invalid WIREHOSE_ setting: {exc}") from exc
