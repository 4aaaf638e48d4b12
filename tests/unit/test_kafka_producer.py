"""ArticleProducer: safe producer config, keyed sends, every send confirmed and counted."""

from __future__ import annotations

import functools

import pytest
from kafka.errors import KafkaTimeoutError, MessageSizeTooLargeError

from producers.kafka import ArticleProducer, DeliveryReport, failure_reason
from tests.factories import FakeKafkaProducer, make_article
from wirehose.core.article import Article
from wirehose.core.clients import KafkaAccess, best_compression
from wirehose.core.errors import ServiceError


def producer_with(**fake_kwargs: object) -> tuple[ArticleProducer, FakeKafkaProducer]:
    producer = ArticleProducer(
        KafkaAccess("h1:9092,h2:9092"),
        "raw",
        factory=functools.partial(FakeKafkaProducer, **fake_kwargs),
    )
    return producer, FakeKafkaProducer.instances[-1]


def test_config_is_idempotent_acks_all_and_compressed() -> None:
    _, fake = producer_with()
    assert fake.config["enable_idempotence"] is True
    assert fake.config["acks"] == "all"
    assert fake.config["compression_type"] == best_compression()
    assert fake.config["bootstrap_servers"] == ["h1:9092", "h2:9092"]


def test_best_compression_is_one_kafka_python_supports() -> None:
    from kafka import codec

    name = best_compression()
    assert name in {"gzip", "lz4", "zstd"}
    assert getattr(codec, f"has_{name}")()


def test_records_are_keyed_by_article_id_with_json_value() -> None:
    articles = [make_article() for _ in range(3)]
    producer, fake = producer_with()
    report = producer.publish(articles)
    assert report.sent == 3
    assert report.failed == 0
    assert report.ok
    assert [(t, k) for t, k, _ in fake.records] == [
        ("raw", a.article_id.encode()) for a in articles
    ]
    assert [Article.from_bytes(v) for _, _, v in fake.records] == articles
    assert sum(report.partitions.values()) == 3


def test_failures_are_counted_with_reasons_and_callback() -> None:
    good, big, slow = make_article(), make_article(), make_article()
    delivered: list[tuple[str, bool]] = []
    fake_errors = {
        big.article_id.encode(): MessageSizeTooLargeError("record is 2000000 bytes"),
        slow.article_id.encode(): KafkaTimeoutError(),
    }
    producer = ArticleProducer(
        KafkaAccess("h:9092"),
        "raw",
        factory=functools.partial(FakeKafkaProducer, fail_keys=fake_errors),
        on_delivery=lambda article_id, exc: delivered.append((article_id, exc is None)),
    )
    report = producer.publish([good, big, slow])
    assert (report.sent, report.failed, report.ok) == (1, 2, False)
    (big_id, big_reason), (slow_id, slow_reason) = report.failures
    assert (big_id, slow_id) == (big.article_id, slow.article_id)
    assert big_reason.startswith("MessageSizeTooLargeError: ")
    assert "record is 2000000 bytes" in big_reason
    assert slow_reason == "KafkaTimeoutError"
    assert delivered == [(good.article_id, True), (big.article_id, False), (slow.article_id, False)]
    assert "sent=1 failed=2" in report.summary()


def test_publish_reports_only_its_own_batch_but_report_accumulates() -> None:
    producer, _ = producer_with()
    first = producer.publish([make_article(), make_article()])
    second = producer.publish([make_article()])
    assert (first.sent, second.sent, producer.report.sent) == (2, 1, 3)


def test_context_manager_flushes_and_closes() -> None:
    with ArticleProducer(KafkaAccess("h:9092"), "raw", factory=FakeKafkaProducer) as producer:
        producer.send(make_article())
        fake = FakeKafkaProducer.instances[-1]
        assert producer.report.sent == 0  # not confirmed until flushed
    assert producer.report.sent == 1
    assert fake.flushes >= 1
    assert fake.closed


def test_unreachable_broker_says_how_to_fix() -> None:
    def no_broker(*_: object, **__: object) -> None:
        raise KafkaTimeoutError("Unable to bootstrap from ['nowhere:9092']")

    with pytest.raises(ServiceError, match="wirehose services up"):
        ArticleProducer(KafkaAccess("nowhere:9092"), "raw", factory=no_broker)


def test_report_merge_and_failure_reason() -> None:
    a, b = DeliveryReport(), DeliveryReport()
    a.record_sent(0)
    b.record_sent(1)
    b.record_failed("id1", "KafkaTimeoutError")
    a.merge(b)
    assert (a.sent, a.failed, dict(a.partitions)) == (2, 1, {0: 1, 1: 1})
    assert a.summary() == "sent=2 failed=1 reasons=KafkaTimeoutErrorx1"
    assert failure_reason(ValueError("bad")) == "ValueError: bad"
