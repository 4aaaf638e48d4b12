"""Secured Kafka and Elasticsearch without a broker: the settings that are refused and why, what
every kafka-python client and the Faust worker get from one ``KafkaAccess``, how a refused
login or certificate is worded, and the secured listener of the native broker."""

from __future__ import annotations

import ssl
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from elastic_transport import ApiResponseMeta, HttpHeaders, NodeConfig, TlsError
from elastic_transport import ConnectionError as TransportConnectionError
from elasticsearch import AuthenticationException
from kafka.errors import KafkaTimeoutError, SaslAuthenticationFailedError
from pydantic import SecretStr
from urllib3.exceptions import SSLError

from sinks.bulk import is_transient
from tests.tls import Pki, make_pki
from wirehose.core.clients import (
    KafkaAccess,
    es_client,
    es_failure,
    faust_credentials,
    kafka_access,
    kafka_config,
    kafka_failure,
)
from wirehose.core.errors import ConfigError
from wirehose.core.settings import Settings, get_settings
from wirehose.ops.services.kafka import KafkaService, SecuredListener

SECRET = "s3cret-for-tests"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def secured(pki: Pki) -> Callable[..., Settings]:
    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "kafka_bootstrap": "broker-a:9094,broker-b:9094",
            "kafka_security_protocol": "SASL_SSL",
            "kafka_sasl_mechanism": "SCRAM-SHA-512",
            "kafka_sasl_username": "wirehose",
            "kafka_sasl_password": SECRET,
            "kafka_ssl_cafile": pki.ca,
        }
        values.update(overrides)
        return Settings(**values)

    return make


# --- settings: refused at start-up, with the variable to fix ----------------------------------
@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"kafka_sasl_mechanism": None}, "needs WIREHOSE_KAFKA_SASL_MECHANISM"),
        ({"kafka_sasl_username": None}, "needs WIREHOSE_KAFKA_SASL_USERNAME"),
        ({"kafka_sasl_password": None}, "needs WIREHOSE_KAFKA_SASL_PASSWORD"),
        ({"kafka_sasl_mechanism": "GSSAPI"}, "kafka_sasl_mechanism"),
        ({"kafka_security_protocol": "TLS"}, "kafka_security_protocol"),
        (
            {"kafka_security_protocol": "SSL"},
            "WIREHOSE_KAFKA_SASL_MECHANISM, WIREHOSE_KAFKA_SASL_USERNAME, "
            "WIREHOSE_KAFKA_SASL_PASSWORD set, but WIREHOSE_KAFKA_SECURITY_PROTOCOL=SSL",
        ),
        (
            {"kafka_security_protocol": "SASL_PLAINTEXT"},
            "WIREHOSE_KAFKA_SSL_CAFILE set, but WIREHOSE_KAFKA_SECURITY_PROTOCOL=SASL_PLAINTEXT "
            "uses no TLS",
        ),
        ({"kafka_bootstrap": None}, "needs WIREHOSE_KAFKA_BOOTSTRAP"),
        ({"kafka_ssl_cafile": Path("/nowhere/ca.pem")}, "WIREHOSE_KAFKA_SSL_CAFILE=/nowhere"),
        (
            {"kafka_ssl_keyfile": Path("/nowhere/key.pem")},
            "KEYFILE needs WIREHOSE_KAFKA_SSL_CERTFILE",
        ),
        ({"kafka_ssl_key_password": "x"}, "KEY_PASSWORD needs WIREHOSE_KAFKA_SSL_CERTFILE"),
    ],
)
def test_contradicting_kafka_security_is_refused_naming_the_variable(
    secured: Callable[..., Settings], overrides: dict[str, Any], expected: str
) -> None:
    with pytest.raises(ValueError, match="validation error") as caught:
        secured(**overrides)
    assert expected in str(caught.value)
    assert SECRET not in str(caught.value)


def test_the_valid_secured_settings_pass_and_names_are_case_blind(
    secured: Callable[..., Settings],
) -> None:
    settings = secured(kafka_security_protocol="sasl_ssl", kafka_sasl_mechanism="scram-sha-512")
    assert settings.kafka_security_protocol == "SASL_SSL"
    assert settings.kafka_sasl_mechanism == "SCRAM-SHA-512"
    assert SECRET not in repr(settings)


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"es_username": "wirehose"}, "WIREHOSE_ES_USERNAME and WIREHOSE_ES_PASSWORD go together"),
        ({"es_password": SECRET}, "WIREHOSE_ES_USERNAME and WIREHOSE_ES_PASSWORD go together"),
        ({"es_url": "http://es:9200", "es_ca_certs": "ca"}, "point WIREHOSE_ES_URL at https"),
        ({"es_url": "https://es:9200", "es_ca_certs": "/nowhere.pem"}, "WIREHOSE_ES_CA_CERTS="),
    ],
)
def test_contradicting_elasticsearch_security_is_refused(
    overrides: dict[str, Any], expected: str
) -> None:
    with pytest.raises(ValueError, match="validation error") as caught:
        Settings(**overrides)
    assert expected in str(caught.value)
    assert SECRET not in str(caught.value)


def test_start_up_turns_a_refusal_into_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WIREHOSE_KAFKA_BOOTSTRAP", "broker:9094")
    monkeypatch.setenv("WIREHOSE_KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("WIREHOSE_KAFKA_SASL_MECHANISM", "PLAIN")
    monkeypatch.setenv("WIREHOSE_KAFKA_SASL_PASSWORD", SECRET)
    get_settings.cache_clear()
    try:
        with pytest.raises(ConfigError, match="needs WIREHOSE_KAFKA_SASL_USERNAME") as caught:
            get_settings()
    finally:
        get_settings.cache_clear()
    assert SECRET not in str(caught.value)


# --- one access for every client --------------------------------------------------------------
def test_a_plaintext_access_adds_nothing_but_the_servers() -> None:
    assert kafka_access(Settings(kafka_bootstrap="a:1, b:2")).client_config() == {
        "bootstrap_servers": ["a:1", "b:2"],
        "security_protocol": "PLAINTEXT",
    }


def test_sasl_ssl_gives_every_kafka_python_client_the_login_and_a_verifying_context(
    secured: Callable[..., Settings],
) -> None:
    config = kafka_config(kafka_access(secured()), client_id="x", acks="all")
    assert config["bootstrap_servers"] == ["broker-a:9094", "broker-b:9094"]
    assert config["security_protocol"] == "SASL_SSL"
    assert config["sasl_mechanism"] == "SCRAM-SHA-512"
    assert config["sasl_plain_username"] == "wirehose"
    assert config["sasl_plain_password"] == SECRET
    assert (config["client_id"], config["acks"]) == ("x", "all")
    context = config["ssl_context"]
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname is True
    assert [c["subject"] for c in context.get_ca_certs()] == [
        ((("commonName", "wirehose test CA"),),)
    ]
    # kafka-python's admin client logs its options at DEBUG; a dict shows its values' repr.
    assert SECRET not in repr(config)
    assert SECRET not in repr(kafka_access(secured()))


def test_a_bootstrap_override_keeps_the_security(secured: Callable[..., Settings]) -> None:
    access = kafka_access(secured(), bootstrap="other:9094")
    assert access.servers == ["other:9094"]
    assert access.security_protocol == "SASL_SSL"
    assert access.sasl_password == SecretStr(SECRET)
    assert kafka_access(secured(), bootstrap=None).bootstrap == "broker-a:9094,broker-b:9094"


def test_callers_cannot_override_what_the_access_decides() -> None:
    with pytest.raises(TypeError, match="security_protocol"):
        kafka_config(KafkaAccess("a:1"), security_protocol="PLAINTEXT")


def test_hostname_checking_can_be_turned_off(secured: Callable[..., Settings]) -> None:
    context = kafka_access(secured(kafka_ssl_check_hostname=False)).ssl_context()
    assert context is not None
    assert context.check_hostname is False
    assert context.verify_mode == ssl.CERT_REQUIRED  # the certificate is still checked


def test_a_client_certificate_with_a_wrong_key_password_is_a_config_error(
    secured: Callable[..., Settings], pki: Pki, tmp_path: Path
) -> None:
    settings = secured(kafka_ssl_certfile=pki.cert, kafka_ssl_keyfile=pki.ca)  # not a key
    with pytest.raises(ConfigError, match="WIREHOSE_KAFKA_SSL_KEYFILE"):
        kafka_access(settings).ssl_context()
    context = kafka_access(secured(kafka_ssl_certfile=pki.cert, kafka_ssl_keyfile=pki.key))
    assert context.ssl_context() is not None  # the right key loads


@pytest.mark.parametrize(
    ("protocol", "expected"), [("SASL_SSL", "SASL_SSL"), ("SASL_PLAINTEXT", "SASL_PLAINTEXT")]
)
def test_faust_gets_the_same_login_and_context(
    secured: Callable[..., Settings], protocol: str, expected: str
) -> None:
    from faust.transport.drivers.aiokafka import credentials_to_aiokafka_auth

    overrides: dict[str, Any] = {"kafka_security_protocol": protocol}
    if protocol == "SASL_PLAINTEXT":
        overrides["kafka_ssl_cafile"] = None
    access = kafka_access(secured(**overrides))
    credentials = faust_credentials(access)
    assert SECRET not in repr(credentials)
    aiokafka = credentials_to_aiokafka_auth(credentials)
    python = access.client_config()
    assert aiokafka["security_protocol"] == python["security_protocol"] == expected
    assert aiokafka["sasl_mechanism"] == python["sasl_mechanism"] == "SCRAM-SHA-512"
    assert aiokafka["sasl_plain_username"] == "wirehose"
    assert aiokafka["sasl_plain_password"] == SECRET
    assert (aiokafka["ssl_context"] is None) == (protocol == "SASL_PLAINTEXT")


def test_faust_gets_tls_alone_and_nothing_for_plaintext(
    secured: Callable[..., Settings],
) -> None:
    from faust.transport.drivers.aiokafka import credentials_to_aiokafka_auth

    tls = secured(
        kafka_security_protocol="SSL",
        kafka_sasl_mechanism=None,
        kafka_sasl_username=None,
        kafka_sasl_password=None,
    )
    auth = credentials_to_aiokafka_auth(faust_credentials(kafka_access(tls)))
    assert auth["security_protocol"] == "SSL"
    assert auth["ssl_context"].verify_mode == ssl.CERT_REQUIRED
    assert faust_credentials(KafkaAccess("a:1")) is None


def test_the_worker_app_carries_the_credentials(
    secured: Callable[..., Settings], tmp_path: Path
) -> None:
    from processors.worker.base import new_app

    app = new_app(secured(home=tmp_path))
    assert [str(url) for url in app.conf.broker] == [
        "kafka://broker-a:9094",
        "kafka://broker-b:9094",
    ]
    credentials = app.conf.broker_credentials
    assert (credentials.username, credentials.mechanism.value) == ("wirehose", "SCRAM-SHA-512")
    assert credentials.protocol.value == "SASL_SSL"


# --- how failures read ------------------------------------------------------------------------
def test_a_refused_login_names_the_settings(secured: Callable[..., Settings]) -> None:
    access = kafka_access(secured())
    refusal = SaslAuthenticationFailedError("Authentication failed: invalid credentials")
    message = str(kafka_failure(refusal, access))
    assert "refused the SCRAM-SHA-512 login of user 'wirehose'" in message
    assert "WIREHOSE_KAFKA_SASL_PASSWORD" in message
    assert SECRET not in message


def test_a_plaintext_timeout_keeps_the_start_a_broker_hint() -> None:
    message = str(kafka_failure(KafkaTimeoutError("Unable to bootstrap"), KafkaAccess("h:1")))
    assert message.startswith("no Kafka broker answers at h:1 (PLAINTEXT)")
    assert "wirehose services up" in message


def test_elasticsearch_over_https_gets_the_ca_and_verification(pki: Pki) -> None:
    settings = Settings(
        es_url="https://search.example:9243",
        es_username="wirehose",
        es_password=SECRET,
        es_ca_certs=pki.ca,
    )
    client = es_client(settings)
    (node,) = client.transport.node_pool.all()
    assert (node.config.ca_certs, node.config.verify_certs) == (str(pki.ca), True)
    assert SECRET not in repr(client)


def test_elasticsearch_failures_name_the_setting_to_fix() -> None:
    settings = Settings(es_url="https://search.example:9243", es_username="u", es_password=SECRET)
    meta = ApiResponseMeta(
        status=401,
        http_version="1.1",
        headers=HttpHeaders(),
        duration=0.0,
        node=NodeConfig("https", "search.example", 9243),
    )
    refused = es_failure(AuthenticationException("unauthorized", meta, {}), settings)
    assert refused is not None
    assert "refused the credentials (401)" in str(refused)
    assert "WIREHOSE_ES_PASSWORD" in str(refused)
    cause = ssl.SSLCertVerificationError(1, "certificate verify failed")
    cause.verify_message = "self-signed certificate in certificate chain"
    untrusted = TlsError("TLS error", errors=(cause,))
    failure = es_failure(untrusted, settings)
    assert failure is not None
    assert "self-signed certificate" in str(failure)
    assert "WIREHOSE_ES_CA_CERTS" in str(failure)
    wrapped = TlsError(
        "TLS error",
        errors=(
            SSLError(
                "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: unable to get local "
                "issuer certificate (_ssl.c:1006)"
            ),
        ),
    )
    assert "rejected (unable to get local issuer certificate): set" in str(
        es_failure(wrapped, settings)
    )
    assert es_failure(ValueError("unrelated"), settings) is None
    # The sink waits out an outage, never a certificate: that wait would hang the worker.
    assert not is_transient(wrapped)
    assert is_transient(TransportConnectionError("connection refused"))


# --- the native broker's secured listener -----------------------------------------------------
def test_the_default_broker_has_no_second_listener(tmp_path: Path) -> None:
    config = KafkaService(Settings(home=tmp_path))._write_config().read_text()
    assert "SECURED" not in config
    assert "sasl" not in config
    assert "ssl" not in config


def test_a_secured_listener_is_added_beside_plaintext(tmp_path: Path, pki: Pki) -> None:
    listener = SecuredListener(
        port=19094,
        keystore=pki.keystore,
        keystore_password="ks-pass",
        users=(("alice", "alice-pass"),),
    )
    settings = Settings(home=tmp_path, kafka_port=19092, kafka_controller_port=19093)
    lines = dict(
        line.split("=", 1)
        for line in KafkaService(settings, listener=listener)
        ._write_config()
        .read_text()
        .split("\n")
        if line
    )
    assert lines["listeners"] == (
        "PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093,SECURED://127.0.0.1:19094"
    )
    assert lines["advertised.listeners"].endswith(",SECURED://127.0.0.1:19094")
    assert lines["listener.security.protocol.map"].endswith(",SECURED:SASL_SSL")
    assert lines["inter.broker.listener.name"] == "PLAINTEXT"
    assert lines["listener.name.secured.ssl.keystore.location"] == str(pki.keystore)
    assert lines["listener.name.secured.sasl.enabled.mechanisms"] == (
        "SCRAM-SHA-256,SCRAM-SHA-512,PLAIN"
    )
    assert 'user_alice="alice-pass"' in lines["listener.name.secured.plain.sasl.jaas.config"]
    assert "ScramLoginModule" in lines["listener.name.secured.scram-sha-512.sasl.jaas.config"]
    assert listener.scram_arguments() == [
        "--add-scram",
        "SCRAM-SHA-256=[name=alice,password=alice-pass]",
        "--add-scram",
        "SCRAM-SHA-512=[name=alice,password=alice-pass]",
    ]


def test_a_secured_listener_refuses_what_it_cannot_configure(pki: Pki) -> None:
    with pytest.raises(ValueError, match="needs a keystore"):
        SecuredListener(port=1, protocol="SSL")
    with pytest.raises(ValueError, match="letters, digits"):
        SecuredListener(port=1, keystore=pki.keystore, users=(("a,b", "x"),))
