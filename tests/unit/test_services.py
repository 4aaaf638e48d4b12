"""Native service management without starting a JVM: JDK discovery, config, life-cycle guards."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from wirehose.core.errors import ServiceError
from wirehose.core.settings import Settings
from wirehose.ops.services import elasticsearch as es_service
from wirehose.ops.services import resolve_endpoints
from wirehose.ops.services.elasticsearch import ElasticsearchService
from wirehose.ops.services.kafka import KafkaService
from wirehose.ops.services.runtime import find_java_home, java_major


def _fake_jdk(root: Path, name: str, version: str) -> Path:
    home = root / name
    (home / "bin").mkdir(parents=True)
    (home / "bin" / "java").write_text("#!/bin/sh\n")
    (home / "release").write_text(f'JAVA_VERSION="{version}"\n')
    return home


def test_java_major_reads_the_release_file(tmp_path: Path) -> None:
    assert java_major(_fake_jdk(tmp_path, "jdk17", "17.0.15")) == 17
    assert java_major(tmp_path / "nothing") is None


def test_an_explicit_supported_jdk_wins(tmp_path: Path) -> None:
    jdk = _fake_jdk(tmp_path, "jdk21", "21.0.2")
    assert find_java_home(Settings(java_home=jdk)) == jdk


def test_endpoints_from_the_environment_start_nothing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("WIREHOSE_KAFKA_BOOTSTRAP", "broker-a:9092,broker-b:9092")
    monkeypatch.setenv("WIREHOSE_ES_URL", "https://search.example:9243")
    settings = Settings(home=tmp_path)
    assert not settings.kafka_managed
    assert not settings.es_managed

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("nothing may be started when endpoints are given")

    monkeypatch.setattr(KafkaService, "up", refuse)
    monkeypatch.setattr(ElasticsearchService, "up", refuse)
    endpoints = resolve_endpoints(settings)
    assert endpoints.kafka_bootstrap == "broker-a:9092,broker-b:9092"
    assert endpoints.es_url == "https://search.example:9243"


def test_a_port_held_by_a_stranger_is_reported_not_fought(tmp_path: Path) -> None:
    with socket.socket() as stranger:
        stranger.bind(("127.0.0.1", 0))
        stranger.listen()
        port = stranger.getsockname()[1]
        service = KafkaService(Settings(home=tmp_path, kafka_port=port))
        with pytest.raises(ServiceError, match=f"port {port} is taken"):
            service.up()


def test_kafka_config_is_kraft_on_loopback(tmp_path: Path) -> None:
    service = KafkaService(
        Settings(home=tmp_path, kafka_port=19092, kafka_controller_port=19093, topic_partitions=6)
    )
    config = service._write_config().read_text()
    assert "process.roles=broker,controller" in config
    assert "listeners=PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093" in config
    assert "controller.quorum.voters=1@127.0.0.1:19093" in config
    assert "num.partitions=6" in config
    assert "zookeeper" not in config


def test_status_of_a_service_never_started_is_down(tmp_path: Path) -> None:
    state = ElasticsearchService(Settings(home=tmp_path, es_port=1)).status()
    assert (state.running, state.healthy, state.pid) == (False, False, None)


def test_down_without_a_running_service_is_harmless(tmp_path: Path) -> None:
    service = KafkaService(Settings(home=tmp_path))
    service.pid_file.parent.mkdir(parents=True)
    service.pid_file.write_text("999999999\n")  # a stale pid file, as a crash leaves behind
    assert service.down() is False
    assert not service.pid_file.exists()


def test_a_cluster_id_that_looks_like_an_option_still_formats(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import subprocess
    import uuid

    from wirehose.ops.services import kafka as kafka_module

    service = KafkaService(Settings(home=tmp_path))
    calls: list[list[str]] = []

    def fake_run(cmd: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
        calls.append(cmd)
        return subprocess.CompletedProcess(cmd, 0, "", "")

    # 0xfb then zeros encodes to "-wAA..." in urlsafe base64: the id argparse once mistook for an option.
    monkeypatch.setattr(kafka_module.uuid, "uuid4", lambda: uuid.UUID(bytes=b"\xfb" + b"\x00" * 15))
    monkeypatch.setattr(kafka_module.subprocess, "run", fake_run)
    monkeypatch.setattr(kafka_module, "find_java_home", lambda settings: tmp_path)
    service._format_storage(tmp_path / "server.properties")
    (cmd,) = calls
    cluster_arg = next(arg for arg in cmd if arg.startswith("--cluster-id"))
    assert cluster_arg.startswith("--cluster-id=-")


def test_the_analysis_plugin_source_ships_beside_the_service_code() -> None:
    """A private node compiles it at start; a tree where it went missing fails only there."""
    assert es_service._PLUGIN_SOURCE.is_file()
    assert "class WirehoseAnalysisPlugin" in es_service._PLUGIN_SOURCE.read_text()
