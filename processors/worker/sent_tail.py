"""Reading the alerts topic back on recovery, for ``processors.alerts.recovery``.

Blocking kafka-python, so ``alerts-decide`` calls it in an executor: one consumer without a
group, opened on first use and kept for the agent's life. A Kafka that cannot be reached is
waited out as the worker waits out Elasticsearch, since deciding without the read-back could
deliver twice.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TypeVar

from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError, UnknownTopicOrPartitionError

from processors.alerts.recovery import SentRecord
from sinks.bulk import Backoff
from wirehose.core.clients import kafka_access, kafka_consumer
from wirehose.core.errors import ServiceError, SinkClosed
from wirehose.core.settings import Settings

log = logging.getLogger(__name__)

T = TypeVar("T")
POLL_MS = 1000


class SentTail:
    """Partitions of the alerts topic, read from given offsets to their end.

    ``closed`` set (the agent stopping) makes a read or a retry give up with ``SinkClosed``.
    """

    def __init__(self, settings: Settings, closed: threading.Event) -> None:
        self.settings = settings
        self.topic = settings.topic_alerts
        self.closed = closed
        self._consumer: KafkaConsumer | None = None
        self._lock = threading.Lock()  # the consumer is used by one thread at a time

    def count(self) -> int:
        """How many partitions the alerts topic has."""
        return self._retrying(self._count, "metadata")

    def read(self, starts: dict[int, int | None]) -> tuple[list[SentRecord], dict[int, int]]:
        """Every record from ``starts`` (partition -> offset, ``None`` for its start) to the end
        of each partition as it was when the read began, and those end offsets."""
        return self._retrying(lambda consumer: self._read(consumer, starts), "read-back")

    def close(self, timeout: float = 5.0) -> None:
        """Close the consumer, once a read in another thread has let go of it (it gives up
        within a poll once ``closed`` is set); after ``timeout`` the thread is left to it."""
        if not self._lock.acquire(timeout=timeout):
            log.warning("alerts read-back still busy at close, consumer left open")
            return
        try:
            self._close()
        finally:
            self._lock.release()

    def _count(self, consumer: KafkaConsumer) -> int:
        partitions = consumer.partitions_for_topic(self.topic)
        if not partitions:
            raise UnknownTopicOrPartitionError(self.topic)  # not created yet: wait for it
        return len(partitions)

    def _read(
        self, consumer: KafkaConsumer, starts: dict[int, int | None]
    ) -> tuple[list[SentRecord], dict[int, int]]:
        tps = {p: TopicPartition(self.topic, p) for p in sorted(starts)}
        consumer.assign(list(tps.values()))
        ends = consumer.end_offsets(list(tps.values()))
        firsts = consumer.beginning_offsets(list(tps.values()))
        for p, tp in tps.items():
            # Retention may have deleted up to past the mark: what is gone was settled long ago.
            wanted = starts[p] or 0
            consumer.seek(tp, min(max(firsts[tp], wanted), ends[tp]))
        found: list[SentRecord] = []
        while any(consumer.position(tp) < ends[tp] for tp in tps.values()):
            if self.closed.is_set():
                raise SinkClosed("the worker stopped during the alerts read-back")
            for tp, records in consumer.poll(timeout_ms=POLL_MS).items():
                found.extend(
                    SentRecord(tp.partition, r.offset, r.value, list(r.headers or ()))
                    for r in records
                    if r.offset < ends[tp]
                )
        return found, {p: ends[tp] for p, tp in tps.items()}

    def _retrying(self, call: Callable[[KafkaConsumer], T], what: str) -> T:
        backoff = Backoff()
        attempt = 0
        while True:
            try:
                with self._lock:
                    if self._consumer is None:
                        self._consumer = kafka_consumer(
                            kafka_access(self.settings),
                            group_id=None,
                            enable_auto_commit=False,
                            auto_offset_reset="earliest",
                            client_id=f"{self.settings.app_id}-alerts-recovery",
                        )
                    return call(self._consumer)
            except (KafkaError, ServiceError) as exc:
                delay = backoff.delay(attempt)
                log.warning(
                    "alerts %s failed, retrying attempt=%d in_seconds=%.1f error=%s",
                    what, attempt + 1, delay, exc,
                )  # fmt: skip
                self.close()  # a fresh consumer for the next attempt
                if self.closed.wait(delay):
                    raise SinkClosed(
                        f"the worker stopped while alerts {what} was retrying"
                    ) from exc
                attempt += 1

    def _close(self) -> None:
        if self._consumer is not None:
            consumer, self._consumer = self._consumer, None
            consumer.close()
