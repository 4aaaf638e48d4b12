"""Deliveries a crash left without their pair: read back from the alerts topic and restored.

The alerts topic and the fired table's changelog are modelled in memory: the topic is a list
of records per partition, the table a dict whose writes are logged in order, so a crash is
"the writes after this one never reached the changelog", as after a SIGKILL.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from processors.alerts import decider as decider_module
from processors.alerts.decider import OncePerStory, pair_key
from processors.alerts.messages import NEW_STORY, STORY_UPDATE, Candidate, Delivery
from processors.alerts.recovery import (
    SOURCE_HEADER,
    DeliveryRecovery,
    SentRecord,
    Source,
    mark_key,
)

T0 = datetime(2023, 10, 16, 12, tzinfo=UTC)
KEEP = timedelta(days=10)
MATCHES = "app-alert-matches"


def match(article: str, story: str = "s1", *, updates: bool = False, hours: float = 0) -> Candidate:
    when = (T0 + timedelta(hours=hours)).isoformat()
    return Candidate("gaza", story, {"article_id": article, "date": when}, updates=updates)


class Changelog(dict[str, Any]):
    """A table whose writes are kept in order: ``durable(n)`` is the table rebuilt from the
    first ``n`` of them, what a worker killed before the rest were written finds."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[tuple[str, Any]] = []

    def __setitem__(self, key: str, value: Any) -> None:
        self.writes.append((key, value))
        super().__setitem__(key, value)

    def durable(self, n: int) -> Changelog:
        table = Changelog()
        for key, value in self.writes[:n]:
            table[key] = value
        return table


class Topic:
    """The alerts topic: records per partition, read as ``SentTail.read`` reads them."""

    def __init__(self, partitions: int) -> None:
        self.records: dict[int, list[SentRecord]] = {p: [] for p in range(partitions)}

    def send(self, partition: int, value: bytes, headers: list[tuple[str, bytes]]) -> int:
        offset = len(self.records[partition])
        self.records[partition].append(SentRecord(partition, offset, value, headers))
        return offset

    def read(self, starts: Mapping[int, int | None]) -> tuple[list[SentRecord], dict[int, int]]:
        found = [r for p, start in starts.items() for r in self.records[p][start or 0 :]]
        return found, {p: len(self.records[p]) for p in starts}

    def ids(self) -> Counter[str]:
        return Counter(
            Delivery.from_bytes(r.value).delivery_id for rs in self.records.values() for r in rs
        )


class Worker:
    """What ``alerts-decide`` does with a table and the alerts topic, without Faust."""

    def __init__(self, table: Changelog, topic: Topic, *, generation: int = 1) -> None:
        self.decider = OncePerStory(table, keep=KEEP)
        self.recovery = DeliveryRecovery(self.decider, source=MATCHES)
        self.topic = topic
        self.generation = generation
        self.restored: list[Delivery] = []

    def handle(
        self, candidate: Candidate, *, partition: int, offset: int, crash: bool = False
    ) -> Delivery | None:
        """One match; with ``crash`` the worker dies once Kafka has acknowledged the delivery."""
        if self.recovery.due(partition, self.generation):
            starts = self.recovery.read_from(partition, len(self.topic.records))
            self.restored += self.recovery.restore(partition, *self.topic.read(starts))
        delivery = self.decider.decide(candidate, partition=partition, offset=offset)
        if delivery is not None:
            at = self.recovery.target(partition)
            stored = self.topic.send(
                at, delivery.to_bytes(), [self.recovery.header(partition, offset)]
            )
            if crash:
                return delivery
            self.decider.settle(delivery)
            self.recovery.settled(partition, at, stored)
        return delivery


def test_a_delivery_acknowledged_before_a_crash_is_restored_and_not_sent_again() -> None:
    table, topic = Changelog(), Topic(2)
    first = Worker(table, topic)
    first.handle(match("a1", "s1"), partition=0, offset=0)
    durable = len(table.writes)
    first.handle(match("b1", "s2"), partition=0, offset=1, crash=True)

    again = Worker(table.durable(durable), topic)
    assert again.handle(match("b1", "s2"), partition=0, offset=1) is None  # the replayed match
    assert [d.story_id for d in again.restored] == ["s2"]
    assert again.handle(match("c1", "s3"), partition=0, offset=2) is not None
    assert set(topic.ids().values()) == {1}  # every delivery once
    assert len(topic.ids()) == 3


def test_without_the_read_back_the_replayed_match_would_deliver_again() -> None:
    """The window the recovery closes: the same crash, decided on the table alone."""
    table, topic = Changelog(), Topic(1)
    Worker(table, topic).handle(match("b1"), partition=0, offset=0, crash=True)
    replayed = OncePerStory(table.durable(0), keep=KEEP).decide(match("b1"), offset=0)
    assert replayed is not None
    assert topic.ids()[replayed.delivery_id] == 1  # sending it would make two


@pytest.mark.parametrize("kept", range(8))
def test_any_prefix_of_the_changelog_that_survives_sends_nothing_twice(kept: int) -> None:
    """Pair, then mark, per settle: whichever writes a crash cuts off, nothing repeats."""
    table, topic = Changelog(), Topic(1)
    first = Worker(table, topic)
    for n, article in enumerate(["a1", "a2", "a3"]):
        first.handle(match(article, updates=True, hours=n), partition=0, offset=n)
    assert len(table.writes) == 7  # the first read-back's mark, then pair and mark thrice

    again = Worker(table.durable(kept), topic)
    for n, article in enumerate(["a1", "a2", "a3", "a4"]):
        again.handle(match(article, updates=True, hours=n), partition=0, offset=n)
    assert set(topic.ids().values()) == {1}
    kinds = Counter(Delivery.from_bytes(r.value).kind for r in topic.records[0])
    assert kinds == {NEW_STORY: 1, STORY_UPDATE: 3}


def test_the_mark_bounds_the_read_back() -> None:
    table, topic = Changelog(), Topic(2)
    worker = Worker(table, topic)
    recovery = worker.recovery
    assert recovery.read_from(1, 2) == {1: None}  # never marked: from the start, once
    worker.handle(match("a1"), partition=1, offset=0)
    worker.handle(match("b1", "s2"), partition=1, offset=1)
    assert table[mark_key(1)] == {"sent": {"1": 2}}
    assert recovery.read_from(1, 2) == {1: 2}
    # A partition that only read back is marked at the end of what it read.
    worker.handle(match("x1", "s9", hours=1), partition=0, offset=0)
    assert recovery.read_from(0, 2) == {0: 1}


def test_only_the_partitions_own_deliveries_are_restored() -> None:
    table, topic = Changelog(), Topic(1)  # both matches partitions deliver to partition 0
    delivery = Delivery.of(match("a1"), NEW_STORY)
    other = Delivery.of(match("b1", "s2"), NEW_STORY)
    foreign = Delivery.of(match("c1", "s3"), NEW_STORY)
    bare = Delivery.of(match("d1", "s4"), NEW_STORY)
    topic.send(0, delivery.to_bytes(), [Source(MATCHES, 0, 5).header()])
    topic.send(0, other.to_bytes(), [Source(MATCHES, 1, 5).header()])
    topic.send(0, foreign.to_bytes(), [Source("another-app-alert-matches", 0, 5).header()])
    topic.send(0, bare.to_bytes(), [])  # replayed from the dead letters, or from before
    topic.send(0, b"not json", [Source(MATCHES, 0, 6).header()])

    recovery = Worker(table, topic).recovery
    assert recovery.due(0, 1)
    restored = recovery.restore(0, *topic.read(recovery.read_from(0, 1)))
    assert restored == [delivery]
    assert set(table) == {pair_key("gaza", "s1"), mark_key(0)}
    assert table[pair_key("gaza", "s1")] == {
        "p": 0, "first": "a1", "updates": [], "when": T0.isoformat(), "o": 5,
    }  # fmt: skip
    assert not recovery.due(0, 1)
    assert recovery.due(0, 2)  # a rebalance: read back again


def test_restoring_what_the_table_has_changes_nothing() -> None:
    table = Changelog()
    once = OncePerStory(table, keep=KEEP)
    update = Delivery.of(match("a2", hours=1, updates=True), STORY_UPDATE)
    assert once.restore(Delivery.of(match("a1"), NEW_STORY), partition=0, offset=1)
    assert once.restore(update, partition=0, offset=2)
    writes = len(table.writes)
    assert not once.restore(Delivery.of(match("a1"), NEW_STORY), partition=0, offset=1)
    assert not once.restore(update, partition=0, offset=2)
    assert len(table.writes) == writes
    assert table[pair_key("gaza", "s1")]["updates"] == ["a2"]
    assert table[pair_key("gaza", "s1")]["when"] == (T0 + timedelta(hours=1)).isoformat()


def test_an_update_whose_pair_is_gone_is_restored_and_never_delivers_a_new_story() -> None:
    table = Changelog()
    once = OncePerStory(table, keep=KEEP)
    assert once.restore(Delivery.of(match("a2", updates=True), STORY_UPDATE), partition=0, offset=3)
    assert once.decide(match("a2", updates=True)) is None
    later = once.decide(match("a3", updates=True, hours=1))
    assert later is not None
    assert later.kind == STORY_UPDATE


def test_more_alerts_partitions_later_reads_the_old_one_and_the_new_target() -> None:
    table, topic = Changelog(), Topic(2)
    worker = Worker(table, topic)
    worker.handle(match("a1"), partition=3, offset=0)
    assert table[mark_key(3)] == {"sent": {"1": 1}}
    topic.records.update({2: [], 3: []})
    assert worker.recovery.read_from(3, 4) == {1: 1, 3: None}


def test_marks_are_not_pairs_to_expire(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(decider_module, "EXPIRE_EVERY", 1)
    table, topic = Changelog(), Topic(1)
    worker = Worker(table, topic)
    worker.handle(match("a1"), partition=0, offset=0)
    worker.handle(match("b1", "s2", hours=300), partition=0, offset=1)
    assert worker.decider.expire(0, committed=2) == 1
    assert set(table) == {pair_key("gaza", "s2"), mark_key(0)}


@pytest.mark.parametrize(
    "value",
    [b"app-alert-matches:3:17", b"a:b:c:0:0"],
)
def test_the_source_header_names_topic_partition_and_offset(value: bytes) -> None:
    found = Source.of([("other", b"x"), (SOURCE_HEADER, value)])
    assert found is not None
    assert Source.of([found.header()]) == found
    assert found.header() == (SOURCE_HEADER, value)


def test_a_missing_or_malformed_source_header_names_nothing() -> None:
    def sources() -> Iterator[Source | None]:
        yield Source.of([])
        yield Source.of([(SOURCE_HEADER, None)])
        yield Source.of([(SOURCE_HEADER, b"no-partition")])
        yield Source.of([(SOURCE_HEADER, b"topic:x:1")])

    assert list(sources()) == [None] * 4
