"""The CLI teaches: every command exists, has help, and long-running ones show examples."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from click.testing import CliRunner

from wirehose.cli import _COMMANDS, cli


@pytest.mark.parametrize("name", sorted(_COMMANDS))
def test_every_registered_command_exists_and_helps(name: str) -> None:
    module = importlib.import_module(_COMMANDS[name][0])
    assert module.command.name == name
    result = CliRunner().invoke(cli, [name, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage: " in result.output
    assert len(result.output.splitlines()) > 5


@pytest.mark.parametrize("name", ["services", "replay", "rss", "worker", "search", "demo"])
def test_main_commands_show_examples_or_steps(name: str) -> None:
    output = CliRunner().invoke(cli, [name, "--help"]).output
    assert "Example" in output or "1." in output


def test_top_level_help_lists_commands_and_first_steps() -> None:
    output = CliRunner().invoke(cli, ["--help"]).output
    for name in _COMMANDS:
        assert name in output
    assert "First steps" in output


def test_settings_json_masks_secrets(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import json

    from wirehose.core.settings import get_settings

    certificate = tmp_path / "client.pem"
    certificate.write_text("-----BEGIN CERTIFICATE-----\n")
    secrets = {
        "WIREHOSE_ES_PASSWORD": "hunter2",
        "WIREHOSE_ES_API_KEY": "es-key-4711",
        "WIREHOSE_KAFKA_SASL_PASSWORD": "kafka-pass-4711",
        "WIREHOSE_KAFKA_SSL_KEY_PASSWORD": "key-pass-4711",
    }
    for name, value in {
        **secrets,
        "WIREHOSE_ES_USERNAME": "wirehose",
        "WIREHOSE_KAFKA_BOOTSTRAP": "broker:9094",
        "WIREHOSE_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "WIREHOSE_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
        "WIREHOSE_KAFKA_SASL_USERNAME": "wirehose",
        "WIREHOSE_KAFKA_SSL_CERTFILE": str(certificate),
    }.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    try:
        output = CliRunner().invoke(cli, ["settings", "--json"]).output
        table = CliRunner().invoke(cli, ["settings"]).output
    finally:
        get_settings.cache_clear()
    rows = {row["env"]: row for row in json.loads(output)}
    for name, secret in secrets.items():
        assert secret not in output
        assert secret not in table
        assert rows[name]["value"] == "********"
    assert rows["WIREHOSE_KAFKA_SASL_USERNAME"]["value"] == "wirehose"  # not a secret
