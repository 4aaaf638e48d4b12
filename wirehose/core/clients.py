"""Every Kafka and Elasticsearch client wirehose builds, built here and only here.

One place decides how a client reaches a service: the bootstrap servers or URL, credentials,
and (where a deployment needs it) transport security. A command that built its own client would
silently drop whichever of those it forgot, so nothing else constructs ``KafkaProducer``,
``KafkaConsumer``, ``KafkaAdminClient`` or ``Elasticsearch`` (a test in ``tests/unit`` checks).

Kafka clients take a ``KafkaAccess``: the bootstrap servers together with the security
protocol, SASL login and TLS context, made once from the settings (``kafka_access``). A
``--bootstrap`` override replaces the servers and keeps the rest, so no code path can reach a
broker with the address but without the security. The Faust worker's clients are configured in
``processors.worker.base``, with ``faust_credentials`` of the same ``KafkaAccess``: both client
libraries get one login and one ``ssl.SSLContext``.
"""

from __future__ import annotations

import asyncio
import logging
import re
import ssl
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from elastic_transport import ConnectionError as TransportConnectionError
from elastic_transport import TlsError
from elasticsearch import AuthenticationException, AuthorizationException, Elasticsearch
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic
from kafka.errors import (
    AuthorizationError,
    KafkaConfigurationError,
    KafkaError,
    SaslAuthenticationFailedError,
    TopicAlreadyExistsError,
)
from pydantic import SecretStr

from wirehose.core.errors import ConfigError, ServiceError
from wirehose.core.settings import Settings

log = logging.getLogger(__name__)

KAFKA_HINT = (
    "start the local broker with `wirehose services up`, or point WIREHOSE_KAFKA_BOOTSTRAP "
    "(or --bootstrap) at a running one"
)
ES_HINT = "run `wirehose services up`, or point WIREHOSE_ES_URL at a running cluster"

# kafka-python options that KafkaAccess owns; a caller passing one would bypass the settings.
_ACCESS_OPTIONS = frozenset(
    {
        "bootstrap_servers",
        "security_protocol",
        "sasl_mechanism",
        "sasl_plain_username",
        "sasl_plain_password",
        "ssl_context",
        "ssl_check_hostname",
        "ssl_cafile",
        "ssl_certfile",
        "ssl_keyfile",
        "ssl_password",
    }
)


class _Secret(str):
    """A password the client libraries use as the ``str`` it is, masked in ``repr``.

    kafka-python's admin client logs its whole configuration at DEBUG, and a dict is logged
    with the ``repr`` of its values: this keeps the password out of that line (and any like it).
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return "'**********'"


# --- Kafka ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class KafkaAccess:
    """How to reach Kafka: the bootstrap servers and the transport security every client uses.

    ``KafkaAccess("host:9092")`` is a plaintext broker; ``kafka_access(settings)`` is the one
    the settings describe. Passwords stay ``SecretStr`` here, so a logged or printed access
    shows none.
    """

    bootstrap: str
    security_protocol: str = "PLAINTEXT"
    sasl_mechanism: str | None = None
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_cafile: Path | None = None
    ssl_certfile: Path | None = None
    ssl_keyfile: Path | None = None
    ssl_key_password: SecretStr | None = None
    ssl_check_hostname: bool = True

    @property
    def servers(self) -> list[str]:
        return [server.strip() for server in self.bootstrap.split(",") if server.strip()]

    @property
    def uses_tls(self) -> bool:
        return self.security_protocol in {"SSL", "SASL_SSL"}

    @property
    def uses_sasl(self) -> bool:
        return self.security_protocol in {"SASL_SSL", "SASL_PLAINTEXT"}

    def with_bootstrap(self, bootstrap: str | None) -> KafkaAccess:
        """The same security towards other servers (a ``--bootstrap`` override); ``None`` keeps
        these."""
        return self if not bootstrap else replace(self, bootstrap=bootstrap)

    def describe(self) -> str:
        """Where and how, for messages: never a password."""
        if self.uses_sasl:
            how = f"{self.security_protocol}, {self.sasl_mechanism} as {self.sasl_username!r}"
        else:
            how = self.security_protocol
        return f"{self.bootstrap} ({how})"

    def ssl_context(self) -> ssl.SSLContext | None:
        """The TLS context of every connection (``None`` without TLS): the CA file, or the
        system's CAs; the certificate checked, and its host name unless turned off."""
        if not self.uses_tls:
            return None
        try:
            context = ssl.create_default_context(
                cafile=str(self.ssl_cafile) if self.ssl_cafile else None
            )
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(
                f"WIREHOSE_KAFKA_SSL_CAFILE={self.ssl_cafile}: not a readable PEM file of CA "
                f"certificates ({exc})"
            ) from exc
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.check_hostname = self.ssl_check_hostname
        if self.ssl_certfile is not None:
            password = self.ssl_key_password.get_secret_value() if self.ssl_key_password else None
            try:
                context.load_cert_chain(
                    str(self.ssl_certfile),
                    str(self.ssl_keyfile) if self.ssl_keyfile else None,
                    password=password,
                )
            except (OSError, ssl.SSLError) as exc:
                raise ConfigError(
                    f"the Kafka client certificate WIREHOSE_KAFKA_SSL_CERTFILE={self.ssl_certfile} "
                    "could not be loaded with its key (WIREHOSE_KAFKA_SSL_KEYFILE) and key "
                    f"password (WIREHOSE_KAFKA_SSL_KEY_PASSWORD): {type(exc).__name__}: {exc}"
                ) from exc
        return context

    def client_config(self) -> dict[str, Any]:
        """The keyword arguments that carry this access to any kafka-python client."""
        config: dict[str, Any] = {
            "bootstrap_servers": self.servers,
            "security_protocol": self.security_protocol,
        }
        if self.uses_tls:
            config["ssl_context"] = self.ssl_context()
        if self.uses_sasl:
            config["sasl_mechanism"] = self.sasl_mechanism
            config["sasl_plain_username"] = self.sasl_username
            config["sasl_plain_password"] = _Secret(
                self.sasl_password.get_secret_value() if self.sasl_password else ""
            )
        return config


def kafka_access(settings: Settings, *, bootstrap: str | None = None) -> KafkaAccess:
    """The access ``settings`` describe; ``bootstrap`` (a ``--bootstrap`` option) replaces only
    the servers."""
    return KafkaAccess(
        bootstrap=settings.kafka_servers,
        security_protocol=settings.kafka_security_protocol,
        sasl_mechanism=settings.kafka_sasl_mechanism,
        sasl_username=settings.kafka_sasl_username,
        sasl_password=settings.kafka_sasl_password,
        ssl_cafile=settings.kafka_ssl_cafile,
        ssl_certfile=settings.kafka_ssl_certfile,
        ssl_keyfile=settings.kafka_ssl_keyfile,
        ssl_key_password=settings.kafka_ssl_key_password,
        ssl_check_hostname=settings.kafka_ssl_check_hostname,
    ).with_bootstrap(bootstrap)


def kafka_config(access: KafkaAccess, **options: Any) -> dict[str, Any]:
    """What every kafka-python client gets: ``access`` (servers and security), then ``options``."""
    clash = _ACCESS_OPTIONS & set(options)
    if clash:
        raise TypeError(f"{', '.join(sorted(clash))} come from KafkaAccess, not from the caller")
    return {**access.client_config(), **options}


# A broker that cannot be reached or logged in to is a ServiceError that says why: kafka-python
# bootstraps in each constructor. A KafkaConfigurationError is a wrong option here, a bug.
def kafka_producer(access: KafkaAccess, **options: Any) -> KafkaProducer:
    config = kafka_config(access, **options)
    try:
        return KafkaProducer(**config)
    except KafkaConfigurationError:
        raise
    except KafkaError as exc:
        raise kafka_failure(exc, access) from exc


def kafka_consumer(access: KafkaAccess, *topics: str, **options: Any) -> KafkaConsumer:
    config = kafka_config(access, **options)
    try:
        return KafkaConsumer(*topics, **config)
    except KafkaConfigurationError:
        raise
    except KafkaError as exc:
        raise kafka_failure(exc, access) from exc


def kafka_admin(access: KafkaAccess, **options: Any) -> KafkaAdminClient:
    config = kafka_config(access, **options)
    try:
        return KafkaAdminClient(**config)
    except KafkaConfigurationError:
        raise
    except KafkaError as exc:
        raise kafka_failure(exc, access) from exc


def faust_credentials(access: KafkaAccess) -> Any:
    """``broker_credentials`` for ``faust.App``: the login and TLS context kafka-python gets
    (``None`` for a plaintext broker). Faust hands them to every aiokafka client it makes."""
    if access.security_protocol == "PLAINTEXT":
        return None
    # Imported here, not at the top: only the worker needs Faust, and it is slow to import.
    import faust

    context = access.ssl_context()
    if access.uses_sasl:
        password = access.sasl_password.get_secret_value() if access.sasl_password else ""
        # With a context Faust says SASL_SSL, without one SASL_PLAINTEXT.
        return faust.SASLCredentials(
            username=access.sasl_username,
            password=_Secret(password),
            ssl_context=context,
            mechanism=access.sasl_mechanism,
        )
    return faust.SSLCredentials(context)


def kafka_failure(exc: BaseException, access: KafkaAccess) -> ServiceError:
    """What went wrong reaching Kafka, in words that name the setting to fix."""
    problem = _explain(exc, access)
    if problem is None and access.security_protocol != "PLAINTEXT":
        # kafka-python retries a refused login or a failed handshake until its bootstrap times
        # out, and reports only the timeout; one connection of our own tells which it was.
        found = _probe(access)
        problem = _explain(found, access) if found is not None else None
    if problem is not None:
        return ServiceError(f"Kafka at {access.bootstrap}: {problem}")
    message = f"no Kafka broker answers at {access.describe()} ({_brief(exc)}): {KAFKA_HINT}"
    if access.security_protocol != "PLAINTEXT":
        message += (
            f"; if one does run there, check that its listener expects "
            f"{access.security_protocol} (WIREHOSE_KAFKA_SECURITY_PROTOCOL)"
        )
    return ServiceError(message)


def _explain(exc: BaseException, access: KafkaAccess) -> str | None:
    """The setting to fix for a refused login, a missing permission or a failed TLS handshake;
    ``None`` for anything else. Errors of kafka-python and of aiokafka (the probe) alike."""
    name = type(exc).__name__
    if name in {"SaslAuthenticationFailedError", "SaslAuthenticationFailed"}:
        return (
            f"the broker refused the {access.sasl_mechanism} login of user "
            f"{access.sasl_username!r} ({_brief(exc)}): check WIREHOSE_KAFKA_SASL_USERNAME and "
            "WIREHOSE_KAFKA_SASL_PASSWORD, and that the broker has this user for "
            "WIREHOSE_KAFKA_SASL_MECHANISM"
        )
    if name == "UnsupportedSaslMechanismError":
        return (
            f"the listener does not offer {access.sasl_mechanism} ({_brief(exc)}): set "
            "WIREHOSE_KAFKA_SASL_MECHANISM to one it does"
        )
    if isinstance(exc, AuthorizationError) or name.endswith("AuthorizationFailedError"):
        return (
            f"the broker refused the request of user {access.sasl_username!r} ({_brief(exc)}): "
            "it needs ACLs for wirehose's topics and consumer group (see docs/operations.md)"
        )
    if isinstance(exc, ssl.SSLCertVerificationError):
        if "hostname" in (exc.verify_message or "").lower():
            host = access.servers[0].rpartition(":")[0]
            return (
                f"the broker's certificate does not name {host!r} ({exc.verify_message}): use a "
                "bootstrap address the certificate holds (and a broker that advertises one), or "
                "set WIREHOSE_KAFKA_SSL_CHECK_HOSTNAME=false"
            )
        return (
            f"the broker's certificate is not trusted ({exc.verify_message}): set "
            "WIREHOSE_KAFKA_SSL_CAFILE to the CA certificate (PEM) that signed it"
        )
    if isinstance(exc, ssl.SSLError):
        return (
            f"the TLS handshake failed ({exc.reason or exc}): check that this listener speaks TLS "
            "(WIREHOSE_KAFKA_SECURITY_PROTOCOL) and, if it asks for a client certificate, "
            "WIREHOSE_KAFKA_SSL_CERTFILE"
        )
    return None


def _probe(access: KafkaAccess, timeout: float = 10.0) -> BaseException | None:
    """Connect to the first server once, with TLS and the SASL login as configured (through
    aiokafka, which raises what goes wrong); the error, or ``None`` when it worked."""
    # Imported here, not at the top: only a failure to connect needs it.
    from aiokafka.conn import create_conn

    host, _, port = access.servers[0].rpartition(":")
    if not port.isdigit():
        return None
    password = access.sasl_password.get_secret_value() if access.sasl_password else None

    async def attempt() -> None:
        conn = await create_conn(
            host or "127.0.0.1",
            int(port),
            client_id="wirehose-probe",
            request_timeout_ms=int(timeout * 1000),
            ssl_context=access.ssl_context(),
            security_protocol=access.security_protocol,
            sasl_mechanism=access.sasl_mechanism,
            sasl_plain_username=access.sasl_username,
            sasl_plain_password=_Secret(password) if password is not None else None,
        )
        conn.close()

    def run() -> BaseException | None:
        try:
            asyncio.run(asyncio.wait_for(attempt(), timeout))
        except Exception as exc:  # what went wrong is the answer
            return exc
        return None

    # A thread of its own: the caller may be inside a running event loop (the worker's).
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="wirehose-probe") as pool:
        return pool.submit(run).result()


def _brief(exc: BaseException) -> str:
    text = str(exc).strip()
    name = type(exc).__name__
    return f"{name}: {text[:300]}" if text and text != name else name


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
    access: KafkaAccess,
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
    admin = kafka_admin(
        access, client_id="wirehose-admin", bootstrap_timeout_ms=bootstrap_timeout_ms
    )
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
    except (AuthorizationError, SaslAuthenticationFailedError) as exc:
        raise kafka_failure(exc, access) from exc
    finally:
        admin.close()


# --- Elasticsearch ----------------------------------------------------------------------------
_UNVERIFIED_WARNED: set[str] = set()


def es_client(settings: Settings, *, request_timeout: float = 30.0) -> Elasticsearch:
    """A client for ``settings.elasticsearch_url`` with basic auth or an API key when set, and
    for https the CA file and certificate verification of the settings.

    The transport's own retries stay at their default: they cover a node that drops one
    connection. Longer outages are the sink's business (``sinks.bulk``), which waits without a cap.
    """
    options: dict[str, Any] = {}
    if settings.es_api_key:
        options["api_key"] = settings.es_api_key.get_secret_value()
    elif settings.es_username and settings.es_password:
        options["basic_auth"] = (settings.es_username, settings.es_password.get_secret_value())
    url = settings.elasticsearch_url
    if url.lower().startswith("https://"):
        options["verify_certs"] = settings.es_verify_certs
        if settings.es_ca_certs is not None:
            options["ca_certs"] = str(settings.es_ca_certs)
        if not settings.es_verify_certs:
            options["ssl_show_warn"] = False  # said once below, not on every request
            if url not in _UNVERIFIED_WARNED:
                _UNVERIFIED_WARNED.add(url)
                log.warning(
                    "elasticsearch certificate not verified url=%s setting=WIREHOSE_ES_VERIFY_CERTS",
                    url,
                )
    return Elasticsearch(url, request_timeout=request_timeout, **options)


_VERIFY_FAILED = re.compile(r"certificate verify failed: (.+?)(?: \(_ssl\.c:\d+\)|\)|$)")


def certificate_problem(exc: BaseException) -> str | None:
    """The verification message when ``exc`` (or what caused it) is a rejected certificate."""
    seen: set[int] = set()
    pending: list[BaseException] = [exc]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, ssl.SSLCertVerificationError):
            return str(current.verify_message or current)
        if "CERTIFICATE_VERIFY_FAILED" in str(current):
            # urllib3 and the transport wrap the ssl error in text: keep OpenSSL's reason.
            found = _VERIFY_FAILED.search(str(current))
            return found.group(1) if found else str(current)
        pending.extend(e for e in (current.__cause__, current.__context__) if e is not None)
        pending.extend(e for e in getattr(current, "errors", ()) if isinstance(e, BaseException))
    return None


def es_failure(exc: BaseException, settings: Settings) -> ServiceError | None:
    """What went wrong talking to Elasticsearch, naming the setting to fix; ``None`` when
    ``exc`` is not about reaching or logging in to the cluster."""
    url = settings.elasticsearch_url
    if isinstance(exc, AuthenticationException):
        if settings.es_api_key:
            fix = "check WIREHOSE_ES_API_KEY"
        elif settings.es_username:
            fix = f"check WIREHOSE_ES_USERNAME ({settings.es_username!r}) and WIREHOSE_ES_PASSWORD"
        else:
            fix = "set WIREHOSE_ES_USERNAME and WIREHOSE_ES_PASSWORD, or WIREHOSE_ES_API_KEY"
        return ServiceError(f"Elasticsearch at {url} refused the credentials (401): {fix}")
    if isinstance(exc, AuthorizationException):
        return ServiceError(
            f"Elasticsearch at {url} refused the request (403): the user needs the index, read "
            "and write privileges on the wirehose alias and its indices"
        )
    problem = certificate_problem(exc)
    if problem is not None:
        if "hostname" in problem.lower() or "ip address mismatch" in problem.lower():
            fix = "use a host name the certificate holds in WIREHOSE_ES_URL"
        else:
            fix = "set WIREHOSE_ES_CA_CERTS to the CA certificate (PEM) that signed it"
        return ServiceError(
            f"Elasticsearch at {url}: the server's certificate was rejected ({problem}): {fix}"
        )
    if isinstance(exc, TlsError):
        return ServiceError(
            f"Elasticsearch at {url}: the TLS handshake failed ({_brief(exc)}): check that the "
            "server speaks https on that port"
        )
    if isinstance(exc, TransportConnectionError):
        return ServiceError(f"Elasticsearch at {url} is not reachable: {ES_HINT}")
    return None


@contextmanager
def es_errors(settings: Settings) -> Iterator[None]:
    """Turn a refused login, a rejected certificate or an unreachable cluster into a
    ``ServiceError`` that says what to fix; anything else passes unchanged."""
    try:
        yield
    except Exception as exc:
        failure = es_failure(exc, settings)
        if failure is None:
            raise
        raise failure from exc
