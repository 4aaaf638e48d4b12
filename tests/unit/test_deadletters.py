"""Choosing which dead letters to re-send, reading ``--since``, and the one list of reasons
shared by the code, ``--reason`` and docs/operations.md."""

from __future__ import annotations

import dataclasses
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

from sinks.elasticsearch import es_reason
from wirehose.cli import cli
from wirehose.cli.deadletters import markdown_table, parse_since
from wirehose.core.deadletter import GUIDES, DeadLetter, Reason
from wirehose.core.errors import DropArticle
from wirehose.ops import deadletters as ops
from wirehose.ops.deadletters import Entry, Scan, ledger_topic, select

DOCS = Path(__file__).resolve().parents[2] / "docs" / "operations.md"


def _letter(reason: str, failed_at: str, topic: str | None = "raw") -> DeadLetter:
    letter = DeadLetter.from_drop(
        DropArticle(reason, "d"), step="validate", original=b"bytes", topic=topic, key="k"
    )
    return dataclasses.replace(letter, failed_at=failed_at)


ENTRIES = [
    Entry(0, 0, _letter("oversized-body", "2024-05-01T10:00:00+00:00")),
    Entry(0, 1, _letter("invalid-json", "2024-05-01T11:00:00+00:00")),
    Entry(1, 0, _letter("oversized-body", "2024-05-02T10:00:00+00:00")),
    Entry(1, 1, None, "ValueError: not a dead letter"),
    Entry(1, 2, _letter("oversized-body", "2024-05-03T10:00:00+00:00", topic=None)),
]


def _refs(entries: list[Entry]) -> list[tuple[int, int]]:
    return [entry.ref for entry in entries]


def test_select_skips_unreadable_topicless_and_already_resent() -> None:
    assert _refs(select(ENTRIES, done=set())) == [(0, 0), (0, 1), (1, 0)]
    assert _refs(select(ENTRIES, done={(0, 0)})) == [(0, 1), (1, 0)]


def test_select_filters_by_reason_and_time() -> None:
    assert _refs(select(ENTRIES, done=set(), reasons=["oversized-body"])) == [(0, 0), (1, 0)]
    since = datetime(2024, 5, 1, 10, 30, tzinfo=UTC)
    assert _refs(select(ENTRIES, done=set(), since=since)) == [(0, 1), (1, 0)]
    both = select(ENTRIES, done=set(), reasons=["oversized-body"], since=since)
    assert _refs(both) == [(1, 0)]


def test_the_original_bytes_survive_the_dead_letter_round_trip() -> None:
    letter = ENTRIES[0].letter
    assert letter is not None
    assert DeadLetter.from_bytes(letter.to_bytes()).original == b"bytes"


def test_parse_since_reads_durations_and_iso_times() -> None:
    now = datetime(2024, 5, 2, 12, 0, tzinfo=UTC)
    assert parse_since("2h", now=now) == datetime(2024, 5, 2, 10, 0, tzinfo=UTC)
    assert parse_since("1d", now=now) == datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    assert parse_since("30m", now=now) == datetime(2024, 5, 2, 11, 30, tzinfo=UTC)
    assert parse_since("2024-05-01T08:00") == datetime(2024, 5, 1, 8, 0, tzinfo=UTC)
    assert parse_since(None) is None
    with pytest.raises(click.BadParameter, match="use 30m, 2h, 7d"):
        parse_since("yesterday")


def test_the_ledger_topic_sits_next_to_the_dead_letter_topic() -> None:
    assert ledger_topic("wirehose.core.deadletter") == "wirehose.core.deadletter.resent"


# --- reasons: one enum for the code, the CLI and the docs ---------------------------------------


def _documented_block() -> str:
    match = re.search(r"<!-- reasons:begin -->\n(.*)\n<!-- reasons:end -->", DOCS.read_text(), re.S)
    assert match, "docs/operations.md lost its <!-- reasons:begin/end --> markers"
    return match.group(1)


def test_the_docs_name_every_reason_and_no_other() -> None:
    documented = re.findall(r"^\| `([^`]+)` \|", _documented_block(), re.M)
    enum = [reason.value for reason in Reason]
    assert sorted(set(enum) - set(documented)) == [], "reasons missing from docs/operations.md"
    assert sorted(set(documented) - set(enum)) == [], "docs/operations.md names unknown reasons"
    assert len(documented) == len(set(documented)), "a reason is documented twice"


def test_the_docs_table_is_current() -> None:
    # Regenerate with: wirehose deadletters reasons --markdown (paste between the markers).
    assert _documented_block() == markdown_table()


def test_every_reason_says_where_it_comes_from_why_and_what_to_do() -> None:
    assert set(GUIDES) == set(Reason)
    for reason in Reason:
        assert all(part.strip() for part in reason.guide), reason


def test_a_letter_keeps_a_known_reason_as_its_member_and_an_unknown_one_as_text() -> None:
    letter = DeadLetter.from_drop(
        DropArticle(Reason.OVERSIZED_BODY, "d"), step="validate", original=b"x"
    )
    wire = json.loads(letter.to_bytes())
    assert wire["reason"] == "oversized-body"  # the same string older versions wrote
    assert DeadLetter.from_bytes(letter.to_bytes()).reason is Reason.OVERSIZED_BODY
    # Written by another version, with a reason this one does not know: still readable.
    wire["reason"] = "es-some_future_exception"
    older = DeadLetter.from_bytes(json.dumps(wire).encode())
    assert older.reason == "es-some_future_exception"
    assert not isinstance(older.reason, Reason)
    assert older.original == b"x"
    assert Reason.parse("es-some_future_exception") is None


def test_elasticsearch_error_types_map_to_their_reason_or_es_unknown() -> None:
    assert es_reason("strict_dynamic_mapping_exception") is Reason.ES_STRICT_DYNAMIC_MAPPING
    assert es_reason("document_parsing_exception") is Reason.ES_DOCUMENT_PARSING
    assert es_reason("unknown") is Reason.ES_UNKNOWN
    assert es_reason("action_request_validation_exception") is Reason.ES_UNKNOWN
    assert all(es_reason(r.value.removeprefix("es-")) is r for r in Reason if r.startswith("es-"))


@pytest.fixture
def topic(monkeypatch: pytest.MonkeyPatch) -> None:
    """The dead-letter topic holds ENTRIES; nothing was re-sent."""

    def scan_topic(*_: Any, **__: Any) -> Scan:
        return Scan(offsets=None, entries=list(ENTRIES))

    monkeypatch.setattr(ops, "scan_topic", scan_topic)
    monkeypatch.setattr(ops, "read_ledger", lambda *_: set())


@pytest.mark.parametrize("command", ["list", "replay"])
def test_reason_accepts_exactly_the_enum_values(command: str) -> None:
    usage = CliRunner().invoke(cli, ["deadletters", command, "--help"])
    assert usage.exit_code == 0
    flat = " ".join(usage.output.split())
    for reason in Reason:
        assert reason.value in flat
    wrong = CliRunner().invoke(cli, ["deadletters", command, "--reason", "oversized"])
    assert wrong.exit_code == 2
    assert "Invalid value for '--reason'" in wrong.output
    assert "'oversized' is not one of" in wrong.output


def test_list_filters_by_an_enum_reason(topic: None) -> None:
    result = CliRunner().invoke(cli, ["deadletters", "list", "--reason", "invalid-json", "--json"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(row["partition"], row["offset"], row["reason"]) for row in rows] == [
        (0, 1, "invalid-json")
    ]


def test_reasons_prints_every_reason_and_the_docs_table() -> None:
    plain = CliRunner().invoke(cli, ["deadletters", "reasons"])
    assert plain.exit_code == 0
    assert all(f"{reason.value}  [" in plain.output for reason in Reason)
    markdown = CliRunner().invoke(cli, ["deadletters", "reasons", "--markdown"])
    assert markdown.output.strip() == markdown_table()
