"""The whole pipeline, from seed files to search, against the real Kafka and Elasticsearch."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from elasticsearch import Elasticsearch
from kafka import KafkaConsumer, KafkaProducer

from processors.topology import create_topics
from producers.kafka import ArticleProducer
from producers.replay import iter_inputs, replay
from wirehose.core.clients import kafka_access
from wirehose.core.deadletter import DeadLetter
from wirehose.core.settings import Settings
from wirehose.ops.local import count_indexed, wait_indexed, worker_process

INDEX_TIMEOUT = 240.0


def _prepare(settings: Settings) -> None:
    create_topics(settings)


def _read_dead_letters(settings: Settings, expected: int) -> list[DeadLetter]:
    consumer = KafkaConsumer(
        settings.topic_dead_letter,
        bootstrap_servers=settings.kafka_servers,
        auto_offset_reset="earliest",
        consumer_timeout_ms=20_000,
        group_id=None,
    )
    letters: list[DeadLetter] = []
    try:
        for message in consumer:
            letters.append(DeadLetter.from_bytes(message.value))
            if len(letters) >= expected:
                break
    finally:
        consumer.close()
    return letters


def test_seeds_flow_from_replay_to_search_exactly_once(
    make_settings: Callable[..., Settings], es: Elasticsearch, seeds_dir: Path, tmp_path: Path
) -> None:
    settings = make_settings()
    _prepare(settings)
    articles = list(iter_inputs([seeds_dir]))
    ids = {article.article_id for article in articles}
    assert len(ids) == 5

    with worker_process(settings, log_path=tmp_path / "worker.log") as worker:
        with ArticleProducer(kafka_access(settings), settings.topic_raw) as producer:
            first = replay(articles, producer)
        assert (first.sent, first.failed) == (5, 0)
        found = wait_indexed(es, settings.index_alias, ids, timeout=INDEX_TIMEOUT, worker=worker)
        assert found == 5, (tmp_path / "worker.log").read_text()[-3000:]

        # The same seeds again: same keys, same _ids, so still five documents.
        with ArticleProducer(kafka_access(settings), settings.topic_raw) as producer:
            second = replay(articles, producer)
        assert second.sent == 5
        # A marker article sent after the repeats proves the repeats were processed, not pending.
        marker = articles[0].model_copy(
            update={"article_id": "f" * 32, "body": "Marker article about Hamas."}
        )
        with ArticleProducer(kafka_access(settings), settings.topic_raw) as producer:
            producer.send(marker)
        assert (
            wait_indexed(
                es, settings.index_alias, {marker.article_id}, timeout=INDEX_TIMEOUT, worker=worker
            )
            == 1
        )

    es.indices.refresh(index=settings.index_alias)
    total = es.count(index=settings.index_alias)["count"]
    assert total == 6  # five seeds, once each, plus the marker
    hits = es.search(index=settings.index_alias, query={"match": {"body": "Hamas"}}, size=10)[
        "hits"
    ]["hits"]
    assert {hit["_id"] for hit in hits} == ids | {marker.article_id}
    lavrov = es.search(
        index=settings.index_alias, query={"match_phrase": {"body": "Sergei Lavrov"}}
    )["hits"]
    assert lavrov["total"]["value"] == 1
    assert "hot call" in lavrov["hits"][0]["_source"]["title"]


def test_bad_records_are_dead_lettered_and_good_ones_still_arrive(
    make_settings: Callable[..., Settings], es: Elasticsearch, seeds_dir: Path, tmp_path: Path
) -> None:
    settings = make_settings()
    _prepare(settings)
    good = list(iter_inputs([seeds_dir]))[:2]
    poison: list[tuple[bytes, str]] = [
        (b"{not json", "invalid-json"),
        (json.dumps({"schema_version": 1, "title": "x"}).encode(), "wrong-schema"),
        (json.dumps({"schema_version": 99, "body": "hello"}).encode(), "unknown-schema-version"),
        (
            json.dumps(
                {"schema_version": 1, "article_id": "a" * 32, "body": "   ", "producer": "t"}
            ).encode(),
            "empty-body",
        ),
        (bytes(range(256)), "invalid-json"),
    ]
    raw_producer = KafkaProducer(bootstrap_servers=settings.kafka_servers, acks="all")
    try:
        for number, (value, _) in enumerate(poison):
            raw_producer.send(settings.topic_raw, key=f"poison-{number}".encode(), value=value).get(
                timeout=30
            )
    finally:
        raw_producer.close()

    with worker_process(settings, log_path=tmp_path / "worker.log") as worker:
        with ArticleProducer(kafka_access(settings), settings.topic_raw) as producer:
            replay(good, producer)
        ids = {article.article_id for article in good}
        assert (
            wait_indexed(es, settings.index_alias, ids, timeout=INDEX_TIMEOUT, worker=worker) == 2
        )
        letters = _read_dead_letters(settings, expected=len(poison))

    assert sorted(letter.reason for letter in letters) == sorted(reason for _, reason in poison)
    by_key = {letter.key: letter for letter in letters}
    for number, (value, _) in enumerate(poison):
        letter = by_key[f"poison-{number}"]
        assert letter.original == value  # the exact bytes, for a later re-send
        assert letter.topic == settings.topic_raw
        assert letter.offset is not None
        assert letter.step == "validate"
    assert count_indexed(es, settings.index_alias, ids) == 2
