"""Topic offsets and consumer-group lag, read with kafka-python's admin and consumer clients.

Lag is what an operator acts on: per partition, the end offset (next offset to be written) minus
the group's committed offset (next offset the group will read). A partition the group never
committed counts from the partition's start, because the worker reads from ``earliest``.
The status command and the worker's ``wirehose_consumer_lag_messages`` gauge both use this
module, so the number on the dashboard and the one in the terminal are computed the same way.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from kafka import TopicPartition
from kafka.errors import KafkaError

from wirehose.core.clients import KafkaAccess, kafka_admin, kafka_consumer
from wirehose.core.errors import ServiceError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TopicOffsets:
    """Start and end offset of every partition of one topic."""

    topic: str
    start: dict[int, int]
    end: dict[int, int]

    @property
    def written(self) -> int:
        """Records ever written (the sum of end offsets): what flowed through this topic."""
        return sum(self.end.values())

    @property
    def retained(self) -> int:
        """Records still on the broker (retention may have deleted older ones)."""
        return sum(self.end[p] - self.start.get(p, 0) for p in self.end)


@dataclass(frozen=True)
class PartitionLag:
    topic: str
    partition: int
    end_offset: int
    committed: int | None
    start_offset: int = 0

    @property
    def lag(self) -> int:
        # Never committed: the group will start at the earliest retained record.
        position = self.start_offset if self.committed is None else self.committed
        return max(0, self.end_offset - position)


class OffsetSource(Protocol):
    """What the status snapshot needs from Kafka; faked in unit tests."""

    def topic_offsets(self, topic: str) -> TopicOffsets | None: ...

    def group_offsets(self, group: str) -> dict[tuple[str, int], int]: ...


def group_lag(offsets: TopicOffsets, committed: dict[tuple[str, int], int]) -> list[PartitionLag]:
    """Lag of one topic's partitions for a group, from its committed offsets."""
    rows = []
    for partition in sorted(offsets.end):
        rows.append(
            PartitionLag(
                offsets.topic,
                partition,
                offsets.end[partition],
                committed.get((offsets.topic, partition)),
                offsets.start.get(partition, 0),
            )
        )
    return rows


class KafkaOffsets:
    """``OffsetSource`` backed by a live broker. ``close()`` when done (or use ``with``)."""

    def __init__(self, access: KafkaAccess, *, timeout_ms: int = 5000) -> None:
        try:
            self._admin = kafka_admin(
                access,
                client_id="wirehose-status",
                request_timeout_ms=timeout_ms,
                bootstrap_timeout_ms=timeout_ms,
            )
            self._consumer = kafka_consumer(
                access,
                group_id=None,
                enable_auto_commit=False,
                client_id="wirehose-status",
                request_timeout_ms=max(timeout_ms, 5000) + 1000,
            )
        except (KafkaError, OSError, ValueError) as exc:
            # The factories say what they can (a refused login, an untrusted certificate);
            # this is what is left: a socket or address error.
            raise ServiceError(
                f"Kafka unreachable at {access.describe()}: run `wirehose services up`, or point "
                f"WIREHOSE_KAFKA_BOOTSTRAP at a running broker ({type(exc).__name__})"
            ) from exc
        self._timeout_ms = timeout_ms

    def topic_offsets(self, topic: str) -> TopicOffsets | None:
        partitions = self._consumer.partitions_for_topic(topic)
        if not partitions:
            return None
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        start = self._consumer.beginning_offsets(tps, timeout_ms=self._timeout_ms)
        end = self._consumer.end_offsets(tps, timeout_ms=self._timeout_ms)
        return TopicOffsets(
            topic,
            start={tp.partition: int(v) for tp, v in start.items()},
            end={tp.partition: int(v) for tp, v in end.items()},
        )

    def group_offsets(self, group: str) -> dict[tuple[str, int], int]:
        found: Any = self._admin.list_group_offsets({group: None}).get(group, {})
        return {
            (tp.topic, tp.partition): int(meta.offset)
            for tp, meta in found.items()
            if meta.offset is not None and meta.offset >= 0
        }

    def topic_bytes(self, topics: Iterable[str]) -> dict[str, int]:
        """Bytes on the brokers' disks per topic, all partitions and log dirs (what the topic
        costs, compression and record overhead included; missing topics are left out)."""
        wanted = set(topics)
        sizes: dict[str, int] = {}
        for broker in self._admin.describe_log_dirs(topic_partitions=sorted(wanted)):
            for log_dir in broker.get("log_dirs", ()):
                for topic in log_dir.get("topics", ()):
                    name = topic.get("name")
                    if name in wanted:
                        total = sum(int(p.get("partition_size", 0)) for p in topic["partitions"])
                        sizes[name] = sizes.get(name, 0) + total
        return sizes

    def close(self) -> None:
        for client in (self._consumer, self._admin):
            try:
                client.close()
            except Exception:  # closing is best effort; the process may be shutting down
                log.debug("offset client close failed", exc_info=True)

    def __enter__(self) -> KafkaOffsets:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
