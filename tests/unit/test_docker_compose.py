"""docker-compose.yml cannot run here (no Docker engine); keep its structure honest by test."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from wirehose.core.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def _compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return data


def test_every_part_of_the_stack_is_there() -> None:
    services = _compose()["services"]
    assert {"kafka", "elasticsearch", "kibana", "kibana-setup", "worker", "replay"} <= set(services)


def test_image_versions_match_the_native_services() -> None:
    services = _compose()["services"]
    defaults = Settings()
    assert services["kafka"]["image"] == f"apache/kafka:{defaults.kafka_version}"
    assert services["elasticsearch"]["image"].endswith(f":{defaults.es_version}")
    assert services["kibana"]["image"].endswith(f":{defaults.es_version}")  # Kibana must match ES


def test_kafka_runs_kraft_without_zookeeper() -> None:
    env = _compose()["services"]["kafka"]["environment"]
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert "KAFKA_ZOOKEEPER_CONNECT" not in env
    assert str(env["KAFKA_CONTROLLER_QUORUM_VOTERS"]).startswith(f"{env['KAFKA_NODE_ID']}@kafka:")


def test_pipeline_services_point_at_the_compose_network_and_wait_for_health() -> None:
    services = _compose()["services"]
    for name in ("worker", "replay", "kibana-setup"):
        env = services[name]["environment"]
        assert env["WIREHOSE_KAFKA_BOOTSTRAP"] == "kafka:9092"
        assert env["WIREHOSE_ES_URL"] == "http://elasticsearch:9200"
        for dependency in services[name]["depends_on"].values():
            assert dependency["condition"] == "service_healthy"
    for name in ("kafka", "elasticsearch", "kibana", "worker"):
        assert services[name]["healthcheck"]["test"], name


def test_every_wirehose_variable_in_compose_is_a_real_setting() -> None:
    known = {f"WIREHOSE_{name.upper()}" for name in Settings.model_fields}
    for service in _compose()["services"].values():
        for key in service.get("environment") or {}:
            if key.startswith("WIREHOSE_"):
                assert key in known, key
