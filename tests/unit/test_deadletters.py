"""Choosing which dead letters to re-send, and reading ``--since``."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import click
import pytest

from wirehose.cli.deadletters import parse_since
from wirehose.core.deadletter import DeadLetter
from wirehose.core.errors import DropArticle
from wirehose.ops.deadletters import Entry, ledger_topic, select


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
