"""The loop of ``wirehose alerts deliver``: read deliveries, post each, then commit its offset.

See ``wirehose.ops.webhooks`` for how one delivery is posted and retried. Here: a Kafka
consumer in its own group reads ``WIREHOSE_TOPIC_ALERTS`` one record at a time and commits a
record's offset only once it is done with it - posted, dead-lettered (reason
``webhook-failed``, acknowledged by Kafka first), or passed over (no webhook: the delivery is
for other readers of the topic). Stopped while waiting to retry, it leaves the record
uncommitted for the next run.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from kafka.errors import CommitFailedError
from kafka.structs import OffsetAndMetadata

from processors.alerts.messages import Delivery
from wirehose.core.clients import kafka_access, kafka_consumer, kafka_producer
from wirehose.core.deadletter import DeadLetter, Reason
from wirehose.core.settings import Settings
from wirehose.ops.webhooks import STEP, Stopped, WebhookPoster

log = logging.getLogger(__name__)

RECENT_IDS = 100_000  # delivery ids this process posted, to skip a repeat on the topic
POLL_MS = 500


@dataclass(frozen=True)
class WebhookFailure:
    """A ``DropArticle``-like rejection, for ``DeadLetter.from_drop``."""

    detail: str
    reason: Reason = Reason.WEBHOOK_FAILED


@dataclass
class DeliverStats:
    """What one run did; ``failed`` deliveries were dead-lettered."""

    posted: int = 0
    failed: int = 0
    skipped: int = 0  # no webhook, or a repeat of one this process posted
    _recent: OrderedDict[str, None] = field(default_factory=OrderedDict, repr=False)

    def posted_before(self, delivery_id: str) -> bool:
        return delivery_id in self._recent

    def remember(self, delivery_id: str) -> None:
        self._recent[delivery_id] = None
        if len(self._recent) > RECENT_IDS:
            self._recent.popitem(last=False)

    def as_dict(self) -> dict[str, int]:
        return {"posted": self.posted, "failed": self.failed, "skipped": self.skipped}


def default_group(settings: Settings) -> str:
    return f"{settings.app_id}-alerts-deliver"


class Deliverer:
    """Consume deliveries and hand each one with a webhook to ``poster``."""

    def __init__(
        self,
        settings: Settings,
        poster: WebhookPoster,
        *,
        group: str | None = None,
        stop: threading.Event | None = None,
    ) -> None:
        self.settings = settings
        self.poster = poster
        self.group = group or default_group(settings)
        self.stop = stop or threading.Event()
        self.stats = DeliverStats()

    def run(self, *, idle_exit: float | None = None) -> DeliverStats:
        """Deliver until stopped, or until nothing arrived for ``idle_exit`` seconds."""
        access = kafka_access(self.settings)
        consumer = kafka_consumer(
            access,
            self.settings.topic_alerts,
            group_id=self.group,
            client_id="wirehose-alerts-deliver",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
        )
        producer = kafka_producer(access, client_id="wirehose-alerts-deliver", acks="all")
        log.info("delivering alerts topic=%s group=%s", self.settings.topic_alerts, self.group)
        quiet_since = time.monotonic()
        try:
            while not self.stop.is_set():
                batch = consumer.poll(timeout_ms=POLL_MS, max_records=50)
                if not batch:
                    if idle_exit is not None and time.monotonic() - quiet_since >= idle_exit:
                        break
                    continue
                quiet_since = time.monotonic()
                if not self._deliver(consumer, producer, batch):
                    break
        finally:
            consumer.close(autocommit=False)
            producer.close()
        log.info(
            "alert delivery stopped %s",
            " ".join(f"{k}={v}" for k, v in self.stats.as_dict().items()),
        )
        return self.stats

    def _deliver(self, consumer: Any, producer: Any, batch: dict[Any, list[Any]]) -> bool:
        """Handle and commit one poll's records in order; False when told to stop."""
        for tp, records in batch.items():
            for record in records:
                try:
                    self.handle(record, producer)
                except Stopped:
                    return False
                try:
                    consumer.commit({tp: OffsetAndMetadata(record.offset + 1, None, -1)})
                except CommitFailedError:
                    # The partition went to another member in a rebalance: it re-posts what
                    # was not committed here, with the same delivery ids.
                    log.warning(
                        "alert delivery commit refused, partition reassigned partition=%d",
                        tp.partition,
                    )
                    break
        return True

    def handle(self, record: Any, producer: Any) -> None:
        """Post one record's delivery, or dead-letter it; raises ``Stopped`` to leave it."""
        try:
            delivery = Delivery.from_bytes(record.value)
        except (ValueError, TypeError, AttributeError) as exc:
            self._dead(record, producer, f"not an alert delivery: {exc}")
            return
        if not delivery.webhook or self.stats.posted_before(delivery.delivery_id):
            self.stats.skipped += 1
            return
        outcome = self.poster.post(delivery)
        if outcome.ok:
            self.stats.posted += 1
            self.stats.remember(delivery.delivery_id)
            log.info(
                "alert delivered alert=%s kind=%s story=%s delivery=%s attempts=%d",
                delivery.alert, delivery.kind, delivery.story_id, delivery.delivery_id,
                outcome.attempts,
            )  # fmt: skip
            return
        self._dead(record, producer, outcome.detail, delivery)

    def _dead(
        self, record: Any, producer: Any, detail: str, delivery: Delivery | None = None
    ) -> None:
        self.stats.failed += 1
        letter = DeadLetter.from_drop(
            WebhookFailure(detail),
            step=STEP,
            original=record.value,
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            key=record.key,
        )
        # Acknowledged before the offset is committed: a failure is never only in a log line.
        producer.send(self.settings.topic_dead_letter, key=record.key, value=letter.to_bytes()).get(
            timeout=30
        )
        log.warning(
            "alert delivery failed, dead-lettered alert=%s delivery=%s failed_total=%d detail=%s",
            delivery.alert if delivery else None,
            delivery.delivery_id if delivery else None,
            self.stats.failed,
            detail,
        )
