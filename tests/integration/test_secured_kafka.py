"""wirehose against a secured Kafka: TLS and a SASL login, through the secured listener only.

A private KRaft broker (free ports, its own home; the shared broker on 9092 is never touched)
gets a second listener, SASL_SSL, with a certificate this test signed (for localhost and
127.0.0.1) and a user this test created: SCRAM credentials written when the storage is
formatted, and a PLAIN login. Every client is pointed at that listener alone: the replay
command (also through a --bootstrap override), the worker (aiokafka inside Faust) and
`wirehose status`; the worker indexes into the shared Elasticsearch. Then the ways it goes
wrong: a wrong password, an untrusted certificate.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from producers.kafka import ArticleProducer
from producers.replay import iter_inputs
from tests.factories import make_article
from tests.tls import Pki, make_pki
from wirehose.bench.private import private_kafka
from wirehose.core.clients import ensure_topics, kafka_access, kafka_producer
from wirehose.core.deadletter import DeadLetter
from wirehose.core.errors import ServiceError
from wirehose.core.offsets import KafkaOffsets
from wirehose.core.settings import Settings
from wirehose.ops.deadletters import scan_topic
from wirehose.ops.local import settings_env, wait_indexed, worker_process
from wirehose.ops.services.kafka import SecuredListener
from wirehose.ops.services.runtime import free_port

TIMEOUT = 240.0
USER = "wirehose-app"


@dataclass(frozen=True)
class SecuredBroker:
    listener: SecuredListener
    plaintext: str  # the broker's own PLAINTEXT listener: no client below is given it
    pki: Pki
    password: str

    @property
    def bootstrap(self) -> str:
        # By name: the certificate's host-name check sees "localhost" here, and "127.0.0.1" on
        # the address the broker advertises for every later connection.
        return f"localhost:{self.listener.port}"


@pytest.fixture(scope="module")
def secured_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecuredBroker]:
    root = tmp_path_factory.mktemp("secured-kafka")
    pki = make_pki(root / "pki")
    password = secrets.token_hex(12)
    listener = SecuredListener(
        port=free_port(),
        protocol="SASL_SSL",
        keystore=pki.keystore,
        keystore_password=pki.password,
        users=((USER, password),),
    )
    try:
        with private_kafka(root / "home", listener=listener) as service:
            yield SecuredBroker(listener, service.settings.kafka_servers, pki, password)
    except Exception as exc:  # a broker that cannot be had is a failure with the reason
        pytest.fail(f"the private secured Kafka broker failed: {exc}", pytrace=False)


@pytest.fixture
def secured_settings(
    secured_broker: SecuredBroker,
    es_url: str,
    unique_name: Callable[[str], str],
    tmp_path: Path,
) -> Callable[..., Settings]:
    """Settings on the secured listener (and the shared Elasticsearch), validated like at
    start-up, with this test's own topics, index, group and home."""

    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "kafka_bootstrap": secured_broker.bootstrap,
            "kafka_security_protocol": "SASL_SSL",
            "kafka_sasl_mechanism": "SCRAM-SHA-256",
            "kafka_sasl_username": USER,
            "kafka_sasl_password": secured_broker.password,
            "kafka_ssl_cafile": secured_broker.pki.ca,
            "es_url": es_url,
            "home": tmp_path / "home",
            "topic_raw": unique_name("raw"),
            "topic_enriched": unique_name("enriched"),
            "topic_dead_letter": unique_name("dlq"),
            "index_alias": unique_name("articles"),
            "app_id": unique_name("app"),
            "worker_web_port": free_port(),
        }
        values.update(overrides)
        return Settings(**values)

    return make


def _cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **settings_env(settings)}
    return subprocess.run(
        [sys.executable, "-m", "wirehose", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def _status(settings: Settings) -> dict[str, Any]:
    result = _cli(settings, "status", "--json")
    assert result.stdout, result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    data["exit_code"] = result.returncode
    return data


@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"])
def test_each_mechanism_logs_in_for_producer_admin_and_consumer(
    secured_settings: Callable[..., Settings], mechanism: str
) -> None:
    settings = secured_settings(kafka_sasl_mechanism=mechanism)
    access = kafka_access(settings)
    assert ensure_topics(access, [settings.topic_raw], partitions=1) == [settings.topic_raw]
    with ArticleProducer(access, settings.topic_raw) as producer:
        producer.send(make_article())
    assert producer.report.sent == 1
    with KafkaOffsets(access) as offsets:
        found = offsets.topic_offsets(settings.topic_raw)
    assert found is not None
    assert found.end == {0: 1}


def test_a_bootstrap_override_keeps_the_login_and_tls(
    secured_broker: SecuredBroker, secured_settings: Callable[..., Settings]
) -> None:
    # Nothing listens at the configured address: only --bootstrap, secured as configured, works.
    settings = secured_settings(kafka_bootstrap=f"127.0.0.1:{free_port()}")
    seeds = {article.article_id for article in iter_inputs()}
    replayed = _cli(settings, "replay", "--no-progress", "--bootstrap", secured_broker.bootstrap)
    assert replayed.returncode == 0, replayed.stderr[-3000:]
    assert f"sent={len(seeds)} failed=0" in replayed.stderr
    with KafkaOffsets(kafka_access(settings, bootstrap=secured_broker.bootstrap)) as offsets:
        found = offsets.topic_offsets(settings.topic_raw)
    assert found is not None
    assert found.written == len(seeds)


def test_replay_worker_and_status_through_the_secured_listener_only(
    secured_broker: SecuredBroker,
    secured_settings: Callable[..., Settings],
    es: Elasticsearch,
    tmp_path: Path,
) -> None:
    settings = secured_settings(metrics_lag_interval=1.0)
    assert secured_broker.plaintext not in settings_env(settings).values()
    seeds = {article.article_id for article in iter_inputs()}
    password = secured_broker.password

    replayed = _cli(settings, "replay", "--no-progress")
    assert replayed.returncode == 0, replayed.stderr[-3000:]
    assert f"sent={len(seeds)} failed=0" in replayed.stderr
    # One record that is not an article: its dead letter must not carry the login.
    with kafka_producer(kafka_access(settings), acks="all") as poison:
        poison.send(settings.topic_raw, key=b"poison", value=b"{not json").get(timeout=30)

    log_path = tmp_path / "worker.log"
    with worker_process(settings, log_path=log_path) as worker:
        found = wait_indexed(es, settings.index_alias, seeds, timeout=TIMEOUT, worker=worker)
        assert found == len(seeds), log_path.read_text()[-3000:]
        deadline = time.monotonic() + TIMEOUT
        data = _status(settings)
        while time.monotonic() < deadline and not (
            data["exit_code"] == 0
            and data["total_lag"] == 0
            and (data["dead_letters"] or {}).get("total") == 1
        ):
            assert worker.poll() is None, log_path.read_text()[-3000:]
            time.sleep(1.0)
            data = _status(settings)
        assert data["problems"] == [], log_path.read_text()[-3000:]
        assert data["exit_code"] == 0
        assert data["worker"]["ready"] is True
        assert data["index"]["documents"] == len(seeds)
        assert dict(map(tuple, data["dead_letters"]["reasons"])) == {"invalid-json": 1}
        # At DEBUG, kafka-python logs every option of its admin client: the password masked.
        verbose = _cli(settings, "-v", "status", "--json")
        assert "sasl_plain_password" in verbose.stderr
        listed = _cli(settings, "deadletters", "list", "--json")
        assert listed.returncode == 0, listed.stderr[-3000:]

    letters = [json.loads(line) for line in listed.stdout.splitlines()]
    assert [letter["reason"] for letter in letters] == ["invalid-json"]
    with KafkaOffsets(kafka_access(settings)) as offsets:
        dead = offsets.topic_offsets(settings.topic_dead_letter)
    assert dead is not None
    assert dead.written == 1
    for text in (
        replayed.stdout + replayed.stderr,
        verbose.stdout + verbose.stderr,
        listed.stdout,
        log_path.read_text(),
        _dead_letter_bytes(settings).decode("utf-8", "replace"),
    ):
        assert password not in text


def _dead_letter_bytes(settings: Settings) -> bytes:
    """Every dead letter of the test's topic, as stored, read through the secured listener."""
    scan = scan_topic(kafka_access(settings), settings.topic_dead_letter)
    assert scan.complete
    letters = [entry.letter for entry in scan.entries]
    assert all(isinstance(letter, DeadLetter) for letter in letters)
    return b"".join(letter.to_bytes() for letter in letters if letter is not None)


def test_a_wrong_password_is_a_clear_error(
    secured_broker: SecuredBroker, secured_settings: Callable[..., Settings]
) -> None:
    wrong = "not-" + secured_broker.password
    settings = secured_settings(kafka_sasl_password=wrong)
    with pytest.raises(ServiceError) as caught:
        ensure_topics(kafka_access(settings), [settings.topic_raw], partitions=1)
    message = str(caught.value)
    assert "refused the SCRAM-SHA-256 login" in message
    assert "WIREHOSE_KAFKA_SASL_PASSWORD" in message
    assert wrong not in message

    replayed = _cli(settings, "replay", "--no-progress")
    assert replayed.returncode == 1
    assert "WIREHOSE_KAFKA_SASL_PASSWORD" in replayed.stderr
    assert "Traceback" not in replayed.stderr
    assert wrong not in replayed.stdout + replayed.stderr


def test_an_untrusted_broker_certificate_is_a_clear_error(
    secured_settings: Callable[..., Settings],
) -> None:
    # No CA file: the system's CAs do not know the test's CA.
    settings = secured_settings(kafka_ssl_cafile=None)
    with pytest.raises(ServiceError, match="WIREHOSE_KAFKA_SSL_CAFILE") as caught:
        ensure_topics(
            kafka_access(settings), [settings.topic_raw], partitions=1, bootstrap_timeout_ms=3000
        )
    assert "not trusted" in str(caught.value)
