"""Read the dead-letter topic, and re-send dead-lettered records once their cause is fixed.

Reading is a bounded scan: the topic is assigned (no consumer group, nothing committed), read
from chosen offsets up to the end offsets taken at the start, and given up after a deadline, so
a topic that keeps growing cannot keep a command running. Cost is O(records read): ``status``
reads only the newest ``WIREHOSE_STATUS_DEAD_LETTER_SCAN`` records; ``deadletters`` reads all.

Re-sending publishes ``DeadLetter.original`` - the exact bytes that were rejected - to the topic
they came from, under their original key, so the article lands on the same partition and the
same Elasticsearch ``_id`` as before. Each re-sent dead letter is then recorded in a ledger
topic (``<dead-letter topic>.resent``, keyed ``partition:offset``) and never re-sent again.
We chose a ledger over a committed consumer-group offset because filters (``--reason``,
``--since``) skip records: an offset would mark the skipped ones as handled too. Ledger entries
are written only after the broker confirmed the re-sends, so a crash in between re-sends a
record twice rather than never; that is harmless, because keys and ``_id``s are deterministic.
The dead-letter topic itself is never modified: nothing dead-lettered is lost for good.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from kafka import TopicPartition

from wirehose.core.clients import KafkaAccess, ensure_topics, kafka_consumer, kafka_producer
from wirehose.core.deadletter import DeadLetter
from wirehose.core.offsets import TopicOffsets

log = logging.getLogger(__name__)

SCAN_DEADLINE_SECONDS = 60.0


def ledger_topic(dead_letter_topic: str) -> str:
    """The topic recording which dead letters were re-sent."""
    return f"{dead_letter_topic}.resent"


@dataclass(frozen=True)
class Entry:
    """One record of the dead-letter topic; ``letter`` is None when it cannot be parsed."""

    partition: int
    offset: int
    letter: DeadLetter | None
    error: str | None = None

    @property
    def ref(self) -> tuple[int, int]:
        return (self.partition, self.offset)


@dataclass
class Scan:
    """What a bounded scan read, and whether it stopped short of the end."""

    offsets: TopicOffsets | None
    entries: list[Entry] = field(default_factory=list)
    complete: bool = True


def scan_topic(
    access: KafkaAccess,
    topic: str,
    *,
    newest: int | None = None,
    deadline: float = SCAN_DEADLINE_SECONDS,
) -> Scan:
    """Read ``topic`` up to its current end: all of it, or about the ``newest`` N records."""
    consumer = kafka_consumer(
        access,
        group_id=None,
        enable_auto_commit=False,
        client_id="wirehose-deadletters",
    )
    try:
        partitions = consumer.partitions_for_topic(topic)
        if not partitions:
            return Scan(offsets=None)
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        start = {tp.partition: int(o) for tp, o in consumer.beginning_offsets(tps).items()}
        end = {tp.partition: int(o) for tp, o in consumer.end_offsets(tps).items()}
        offsets = TopicOffsets(topic, start=start, end=end)
        quota = math.ceil(newest / len(tps)) if newest is not None else None
        wanted = [tp for tp in tps if end[tp.partition] > start[tp.partition]]
        consumer.assign(wanted)
        for tp in wanted:
            first = start[tp.partition]
            if quota is not None:
                first = max(first, end[tp.partition] - quota)
            consumer.seek(tp, first)
        scan = Scan(offsets=offsets, complete=quota is None or offsets.retained <= (newest or 0))
        _drain(consumer, wanted, end, scan, time.monotonic() + deadline)
        return scan
    finally:
        consumer.close()


def _drain(consumer: Any, tps: list[Any], end: dict[int, int], scan: Scan, until: float) -> None:
    remaining = {tp for tp in tps if consumer.position(tp) < end[tp.partition]}
    while remaining:
        if time.monotonic() > until:
            log.warning(
                "dead-letter scan stopped at its deadline partitions_left=%d", len(remaining)
            )
            scan.complete = False
            return
        for tp, records in consumer.poll(timeout_ms=500).items():
            for record in records:
                if record.offset < end[tp.partition]:
                    scan.entries.append(_entry(tp.partition, record.offset, record.value))
        remaining = {tp for tp in remaining if consumer.position(tp) < end[tp.partition]}


def _entry(partition: int, offset: int, value: bytes | None) -> Entry:
    try:
        return Entry(partition, offset, DeadLetter.from_bytes(value or b""))
    except (ValueError, TypeError) as exc:  # JSON errors are ValueErrors; unknown fields TypeError
        return Entry(partition, offset, None, f"{type(exc).__name__}: {exc}")


def read_ledger(access: KafkaAccess, dead_letter_topic: str) -> set[tuple[int, int]]:
    """``(partition, offset)`` of every dead letter already re-sent."""
    done: set[tuple[int, int]] = set()
    topic = ledger_topic(dead_letter_topic)
    consumer = kafka_consumer(access, group_id=None, enable_auto_commit=False)
    try:
        partitions = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in partitions]
        if not tps:
            return done
        end = {tp.partition: int(o) for tp, o in consumer.end_offsets(tps).items()}
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        remaining = {tp for tp in tps if consumer.position(tp) < end[tp.partition]}
        until = time.monotonic() + SCAN_DEADLINE_SECONDS
        while remaining and time.monotonic() < until:
            for records in consumer.poll(timeout_ms=500).values():
                for record in records:
                    partition, _, offset = (record.key or b"").decode().partition(":")
                    if partition.isdigit() and offset.isdigit():
                        done.add((int(partition), int(offset)))
            remaining = {tp for tp in remaining if consumer.position(tp) < end[tp.partition]}
        if remaining:
            # Without the whole ledger we might re-send twice: refuse instead.
            raise TimeoutError(f"could not read the whole ledger topic {topic}")
        return done
    finally:
        consumer.close()


def select(
    entries: Iterable[Entry],
    *,
    done: set[tuple[int, int]],
    reasons: Sequence[str] = (),
    since: datetime | None = None,
) -> list[Entry]:
    """The entries to re-send: readable, not re-sent before, matching every filter."""
    chosen = []
    for entry in entries:
        letter = entry.letter
        if letter is None or entry.ref in done or not letter.topic:
            continue
        if letter.original_truncated:
            # Only the size and hash of a record this large were kept: re-send it from its source.
            continue
        if reasons and letter.reason not in reasons:
            continue
        if since is not None and _failed_at(letter) < since:
            continue
        chosen.append(entry)
    return chosen


def _failed_at(letter: DeadLetter) -> datetime:
    try:
        stamp = datetime.fromisoformat(letter.failed_at)
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)


@dataclass
class ResendReport:
    selected: int = 0
    resent: list[Entry] = field(default_factory=list)
    failed: list[tuple[Entry, str]] = field(default_factory=list)


def resend(access: KafkaAccess, dead_letter_topic: str, entries: Sequence[Entry]) -> ResendReport:
    """Publish each entry's original bytes to its original topic, then record it in the ledger."""
    report = ResendReport(selected=len(entries))
    if not entries:
        return report
    ledger = ledger_topic(dead_letter_topic)
    ensure_topics(access, [ledger], partitions=1)
    producer = kafka_producer(
        access,
        client_id="wirehose-deadletters",
        acks="all",
        enable_idempotence=True,
    )
    try:
        futures = []
        for entry in entries:
            # select() only passes readable letters that name their topic.
            assert entry.letter is not None
            assert entry.letter.topic
            key = entry.letter.key.encode() if entry.letter.key else None
            futures.append(
                (entry, producer.send(entry.letter.topic, key=key, value=entry.letter.original))
            )
        producer.flush()
        for entry, future in futures:
            try:
                future.get(timeout=30)
            except Exception as exc:  # each failure is reported; its entry stays re-sendable
                report.failed.append((entry, f"{type(exc).__name__}: {exc}"))
            else:
                report.resent.append(entry)
        marks = []
        for entry in report.resent:
            assert entry.letter is not None
            record = {
                "partition": entry.partition,
                "offset": entry.offset,
                "topic": entry.letter.topic,
                "reason": entry.letter.reason,
                "resent_at": datetime.now(UTC).isoformat(),
            }
            marks.append(
                producer.send(
                    ledger,
                    key=f"{entry.partition}:{entry.offset}".encode(),
                    value=json.dumps(record).encode(),
                )
            )
        producer.flush()
        unrecorded = sum(1 for mark in marks if mark.failed())
        if unrecorded:
            # The records did go out; a later run will re-send them once more (same keys, same ids).
            log.warning("ledger write failed topic=%s unrecorded=%d", ledger, unrecorded)
    finally:
        producer.close()
    log.info(
        "dead letters re-sent topic=%s resent=%d failed=%d",
        dead_letter_topic,
        len(report.resent),
        len(report.failed),
    )
    return report
