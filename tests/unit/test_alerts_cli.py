"""``wirehose alerts``: options become the saved search, bad input is refused before any request."""

from __future__ import annotations

import json
from typing import Any, ClassVar

import pytest
from click.testing import CliRunner

import sinks.alerts
import wirehose.core.clients
from sinks.alerts import AlertSpec
from wirehose.cli import cli


class FakeStore:
    saved: ClassVar[dict[str, AlertSpec]] = {}

    def __init__(self, client: Any, index: str, articles_alias: str) -> None:
        self.index = index

    def get(self, name: str) -> AlertSpec | None:
        return self.saved.get(name)

    def add(self, spec: AlertSpec) -> None:
        self.saved[spec.name] = spec

    def list(self) -> list[AlertSpec]:
        return sorted(self.saved.values(), key=lambda s: s.name)

    def remove(self, name: str) -> bool:
        return self.saved.pop(name, None) is not None


class FakeClient:
    def close(self) -> None:
        return None


@pytest.fixture(autouse=True)
def fake_store(monkeypatch: pytest.MonkeyPatch) -> None:
    FakeStore.saved = {}
    monkeypatch.setattr(sinks.alerts, "AlertStore", FakeStore)
    monkeypatch.setattr(wirehose.core.clients, "es_client", lambda settings: FakeClient())


def invoke(*args: str) -> Any:
    return CliRunner().invoke(cli, ["alerts", *args])


def test_add_saves_the_query_and_the_search_filters_under_their_search_names() -> None:
    result = invoke(
        "add", "truce", "ceasefire", "talks", "-p", "Sergei Lavrov", "--place", "Gaza",
        "--org", "Hamas", "--publisher", "Daily Ledger", "--agency", "Reuters",
        "-e", "Putin", "-t", "PERSON", "--story", "s-1", "--updates",
        "--webhook", "https://hooks.example.com/x",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    spec = FakeStore.saved["truce"]
    assert spec.query == "ceasefire talks"
    assert spec.people == ("Sergei Lavrov",)
    assert spec.places == ("Gaza",)
    assert spec.organizations == ("Hamas",)
    assert spec.publishers == ("Daily Ledger",)
    assert spec.agencies == ("Reuters",)
    assert (spec.entities, spec.entity_types, spec.stories) == (("Putin",), ("PERSON",), ("s-1",))
    assert spec.updates
    assert spec.webhook == "https://hooks.example.com/x"
    assert "saved alert truce" in result.output
    assert "replaced alert truce" in invoke("add", "truce", "ceasefire").output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["add", "no spaces", "x"], "not an alert name"),
        (["add", "ok", "x", "--webhook", "file:///etc/passwd"], "only http:// and https://"),
        (["add", "ok", "x", "--webhook", "hooks.example.com"], "only http:// and https://"),
    ],
)
def test_bad_names_and_webhooks_are_refused(args: list[str], message: str) -> None:
    result = invoke(*args)
    assert result.exit_code == 2
    assert message in result.output
    assert FakeStore.saved == {}


def test_list_shows_the_alerts_and_json_reads_back() -> None:
    assert invoke("list").exit_code == 0
    invoke("add", "lavrov", "-p", "Sergei Lavrov")
    invoke("add", "gaza", "ceasefire", "--updates")
    table = invoke("list").output
    assert "lavrov" in table
    assert "--person" in table
    assert "Sergei" in table
    rows = json.loads(invoke("list", "--json").output)
    assert [AlertSpec.from_dict(r) for r in rows] == FakeStore(None, "i", "a").list()


def test_remove_says_when_there_is_nothing_to_remove() -> None:
    invoke("add", "gaza", "ceasefire")
    assert invoke("remove", "gaza").exit_code == 0
    missing = invoke("remove", "gaza")
    assert missing.exit_code == 1
    assert "no alert named 'gaza'" in missing.output
