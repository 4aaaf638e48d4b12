"""The CLI teaches: every command exists, has help, and long-running ones show examples."""

from __future__ import annotations

import importlib

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


def test_settings_json_masks_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from wirehose.core.settings import get_settings

    monkeypatch.setenv("WIREHOSE_ES_PASSWORD", "hunter2")
    get_settings.cache_clear()
    try:
        output = CliRunner().invoke(cli, ["settings", "--json"]).output
    finally:
        get_settings.cache_clear()
    assert "hunter2" not in output
    rows = {row["env"]: row for row in json.loads(output)}
    assert rows["WIREHOSE_ES_PASSWORD"]["value"] == "********"
