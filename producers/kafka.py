"""Publish ``Article``s to Kafka with every send confirmed.

``ArticleProducer`` wraps kafka-python's ``KafkaProducer`` with the settings that make a replay
safe to repeat: idempotence (the broker drops a retried batch it already has, so a network
blip cannot duplicate a record), ``acks='all'`` (a record counts as sent only once every
in-sync replica has it), and the article id as key (the same article always lands on the
same partition, where downstream dedup looks for it).

A producer that fires and forgets cannot tell its user what was lost, so every send's future
is kept and resolved on ``flush()``: the ``DeliveryReport`` counts what the broker confirmed
and what failed, with the reason.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from kafka.errors import KafkaError

from wirehose.core.article import Article
from wirehose.core.clients import KafkaAccess, best_compression, kafka_failure, kafka_producer

log = logging.getLogger(__name__)

# How many unconfirmed sends to hold before resolving them: bounds memory on a long replay.
_MAX_PENDING = 1000

DeliveryCallback = Callable[[str, BaseException | None], None]


@dataclass
class DeliveryReport:
    """What the broker confirmed: counts, per-partition spread and the reason for each failure."""

    sent: int = 0
    failed: int = 0
    partitions: Counter[int] = field(default_factory=Counter)
    reasons: Counter[str] = field(default_factory=Counter)
    failures: list[tuple[str, str]] = field(default_factory=list)  # (article_id, reason)

    @property
    def ok(self) -> bool:
        return self.failed == 0

    def record_sent(self, partition: int) -> None:
        self.sent += 1
        self.partitions[partition] += 1

    def record_failed(self, article_id: str, reason: str) -> None:
        self.failed += 1
        self.reasons[reason] += 1
        if len(self.failures) < 100:  # enough to debug, bounded for a million-record replay
            self.failures.append((article_id, reason))

    def merge(self, other: DeliveryReport) -> DeliveryReport:
        self.sent += other.sent
        self.failed += other.failed
        self.partitions.update(other.partitions)
        self.reasons.update(other.reasons)
        self.failures.extend(other.failures[: max(0, 100 - len(self.failures))])
        return self

    def summary(self) -> str:
        text = f"sent={self.sent} failed={self.failed}"
        if self.reasons:
            text += " reasons=" + ",".join(f"{r}x{n}" for r, n in self.reasons.most_common())
        return text


def failure_reason(exc: BaseException) -> str:
    """A short reason: the Kafka error class, plus its message when it adds something."""
    message = str(exc).strip()
    name = type(exc).__name__
    return f"{name}: {message}" if message and message != name else name


class ArticleProducer:
    """Send articles to one topic, keyed by ``article_id``; ``flush()`` returns what landed.

    Use as a context manager so pending sends are confirmed and the connection closed::

        with ArticleProducer(kafka_access(settings), "wirehose.articles.raw") as producer:
            producer.send(article)
        print(producer.report.summary())
    """

    def __init__(
        self,
        access: KafkaAccess,
        topic: str,
        *,
        client_id: str = "wirehose-producer",
        compression: str | None = None,
        bootstrap_timeout_ms: int = 15_000,
        request_timeout_ms: int = 30_000,
        delivery_timeout_ms: int = 120_000,
        on_delivery: DeliveryCallback | None = None,
        factory: Callable[..., Any] = kafka_producer,
    ) -> None:
        self.topic = topic
        self.report = DeliveryReport()
        self._on_delivery = on_delivery
        self._pending: list[tuple[str, Any]] = []
        config: dict[str, Any] = {
            "client_id": client_id,
            "enable_idempotence": True,
            "acks": "all",
            "compression_type": compression or best_compression(),
            "linger_ms": 5,  # a few ms of batching is free throughput for a replay
            "bootstrap_timeout_ms": bootstrap_timeout_ms,
            "request_timeout_ms": request_timeout_ms,
            "delivery_timeout_ms": delivery_timeout_ms,
        }
        try:
            self._producer = factory(access, **config)
        except KafkaError as exc:  # kafka-python 3 raises KafkaTimeoutError when none answers
            raise kafka_failure(exc, access) from exc
        log.debug("producer ready bootstrap=%s topic=%s", access.bootstrap, topic)

    def send(self, article: Article) -> None:
        """Queue one article; resolved (and counted) by the next ``flush()``."""
        try:
            future = self._producer.send(
                self.topic, key=article.article_id.encode("ascii"), value=article.to_bytes()
            )
        except KafkaError as exc:  # e.g. the record is too large or metadata timed out
            self._resolve(article.article_id, None, exc, self.report)
            return
        self._pending.append((article.article_id, future))
        if len(self._pending) >= _MAX_PENDING:
            self.flush()

    def publish(self, articles: Iterable[Article]) -> DeliveryReport:
        """Send all and confirm them; return the report for this call only."""
        before = DeliveryReport().merge(self.report)
        for article in articles:
            self.send(article)
        self.flush()
        return DeliveryReport(
            sent=self.report.sent - before.sent,
            failed=self.report.failed - before.failed,
            partitions=self.report.partitions - before.partitions,
            reasons=self.report.reasons - before.reasons,
            failures=self.report.failures[len(before.failures) :],
        )

    def flush(self, timeout: float | None = None) -> DeliveryReport:
        """Wait for every pending send; count each as sent or failed. Returns the running total."""
        try:
            self._producer.flush(timeout=timeout)
        except KafkaError as exc:  # flush timeout: the futures below say which records are stuck
            log.warning("flush did not complete topic=%s error=%s", self.topic, exc)
        pending, self._pending = self._pending, []
        for article_id, future in pending:
            try:
                metadata = future.get(timeout=0 if future.is_done else timeout)
            except Exception as exc:  # every failure is counted with its reason
                self._resolve(article_id, None, exc, self.report)
            else:
                self._resolve(article_id, metadata.partition, None, self.report)
        return self.report

    def _resolve(
        self,
        article_id: str,
        partition: int | None,
        exc: BaseException | None,
        report: DeliveryReport,
    ) -> None:
        if exc is None and partition is not None:
            report.record_sent(partition)
        else:
            reason = failure_reason(exc or KafkaError("no partition"))
            report.record_failed(article_id, reason)
            log.warning("send failed topic=%s id=%s reason=%s", self.topic, article_id, reason)
        if self._on_delivery is not None:
            self._on_delivery(article_id, exc)

    def close(self, timeout: float | None = 30.0) -> DeliveryReport:
        """Confirm what is pending, then close the connection."""
        try:
            self.flush(timeout)
        finally:
            self._producer.close(timeout=timeout)
        return self.report

    def __enter__(self) -> ArticleProducer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
