"""Deliveries the fired table lost in a crash, read back from the alerts topic and restored.

``alerts-decide`` sends a delivery, waits for Kafka's acknowledgement, and then records the
(alert, story) pair in the changelog-backed table. A worker killed after the acknowledgement
and before the changelog write (or before its input offset is committed) leaves a delivery on
the alerts topic that the table lacks, and its match is read again after the restart. This
module closes that window: before a worker decides anything for a partition of the matches
topic that it has just been given, it reads the deliveries of that partition made since the
last point the table is known to cover, and records them (``OncePerStory.restore``). The
replayed match then finds its pair and delivers nothing.

Two things make that read short and exact:

- **Where deliveries go.** The deliveries of matches partition ``P`` are sent to partition
  ``P mod n`` of the alerts topic (``n`` its partition count; keyed, as always, by delivery id),
  each with a ``wirehose-match`` header naming the match: ``{matches topic}:{P}:{offset}``. So
  they are in one partition, in the order they were made, and told apart from any other
  partition's (or any other app's) sharing it.
- **A mark in the table.** With every settle, and at the end of every recovery, the table
  records under ``mark_key(P)`` the alerts-topic offset below which every delivery of ``P`` is
  in the table. It is written after the pairs it covers, to the same changelog partition, so
  a mark that survived a crash never claims a pair that did not. Recovery reads from the mark
  to the end of the partition (from the start when there is no mark yet: once per partition).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from processors.alerts.decider import OncePerStory
from processors.alerts.messages import Delivery

log = logging.getLogger(__name__)

SOURCE_HEADER = "wirehose-match"


def mark_key(partition: int) -> str:
    """The table key of a matches partition's mark (``\\x1e`` never starts an alert name)."""
    return f"\x1esent\x1f{partition}"


@dataclass(frozen=True)
class SentRecord:
    """A record read back from the alerts topic."""

    partition: int
    offset: int
    value: bytes
    headers: Sequence[tuple[str, bytes]] = ()


@dataclass(frozen=True)
class Source:
    """The match a delivery was decided on, as its ``wirehose-match`` header names it."""

    topic: str
    partition: int
    offset: int

    def header(self) -> tuple[str, bytes]:
        return SOURCE_HEADER, f"{self.topic}:{self.partition}:{self.offset}".encode()

    @classmethod
    def of(cls, headers: Iterable[tuple[str, bytes | None]]) -> Source | None:
        """The source named in ``headers``; ``None`` without one (a delivery made before
        deliveries carried it, or put back by ``wirehose deadletters replay``)."""
        for name, value in headers:
            if name != SOURCE_HEADER or value is None:
                continue
            topic, _, rest = value.decode(errors="replace").rpartition(":")
            topic, _, partition = topic.rpartition(":")
            if topic and partition.isdigit() and rest.isdigit():
                return cls(topic, int(partition), int(rest))
        return None


class DeliveryRecovery:
    """Where the deliveries of each matches partition go, where reading them back starts, and
    which of those read back the table lacks.

    ``source`` is the matches topic's name; ``decider`` holds the fired table. For each event,
    the worker asks ``due``; when it is, it reads the alerts topic from ``read_from`` to the
    end and hands what it read to ``restore`` before deciding. After each settle: ``settled``.
    """

    def __init__(self, decider: OncePerStory, *, source: str) -> None:
        self.decider = decider
        self.state = decider.state
        self.source = source
        self._counts: dict[int, int] = {}  # matches partition -> alerts partitions, when read
        self._generation: int | None = None
        self._recovered: set[int] = set()

    def due(self, partition: int, generation: int | None) -> bool:
        """Whether ``partition`` must be read back before its next decision: once per
        partition and consumer generation, since at every rebalance partitions may have
        changed hands (and a worker that died with them left their table behind)."""
        if generation != self._generation:
            self._generation = generation
            self._recovered.clear()
        return partition not in self._recovered

    def read_from(self, partition: int, count: int) -> dict[int, int | None]:
        """Alerts-topic partition -> the offset to read from (``None``: from its start), for
        an alerts topic of ``count`` partitions.

        The target partition, and any other the mark still names (the alerts topic was given
        more partitions after deliveries were marked there).
        """
        self._counts[partition] = count
        starts: dict[int, int | None] = {
            int(at): int(offset)
            for at, offset in self._marked(partition).items()
            if int(at) < count
        }
        starts.setdefault(self.target(partition), None)
        return starts

    def restore(
        self, partition: int, records: Iterable[SentRecord], ends: Mapping[int, int]
    ) -> list[Delivery]:
        """Record the deliveries of ``partition`` among ``records`` (read up to ``ends``) that
        the table lacks, and mark the table as covering the target partition up to its end.

        Call it while handling an event of ``partition``: table writes go to the changelog
        partition of the event being handled.
        """
        read = 0
        restored: list[Delivery] = []
        for record in records:
            source = Source.of(record.headers)
            if source is None or (source.topic, source.partition) != (self.source, partition):
                continue
            read += 1
            try:
                delivery = Delivery.from_bytes(record.value)
            except (ValueError, TypeError) as exc:
                log.warning(
                    "unreadable delivery on the alerts topic partition=%d offset=%d error=%s",
                    record.partition, record.offset, exc,
                )  # fmt: skip
                continue
            if self.decider.restore(delivery, partition=partition, offset=source.offset):
                restored.append(delivery)
        target = self.target(partition)
        self._mark(partition, target, ends[target])
        self._recovered.add(partition)
        log.info(
            "alert deliveries read back partition=%d deliveries=%d restored=%d",
            partition, read, len(restored),
        )  # fmt: skip
        return restored

    def target(self, partition: int) -> int:
        """The alerts-topic partition that matches partition ``partition`` delivers to."""
        return partition % self._counts[partition]

    def header(self, partition: int, offset: int) -> tuple[str, bytes]:
        """The header a delivery decided on this match is sent with."""
        return Source(self.source, partition, offset).header()

    def settled(self, partition: int, at: int, offset: int) -> None:
        """A delivery of ``partition`` was settled; Kafka stored it at ``offset`` of ``at``."""
        self._mark(partition, at, offset + 1)

    def _marked(self, partition: int) -> dict[str, Any]:
        mark = self.state.get(mark_key(partition))
        return dict(mark["sent"]) if isinstance(mark, dict) else {}

    def _mark(self, partition: int, at: int, offset: int) -> None:
        # Only the target partition: the others named before were read by the recovery that
        # precedes any settle, and nothing of this partition goes there any more.
        value = {"sent": {str(at): offset}}
        if self.state.get(mark_key(partition)) != value:
            self.state[mark_key(partition)] = value
