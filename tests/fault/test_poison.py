"""Poisoned input on the raw topic: every record is indexed where valid, dead-lettered with a
reason where not, and good articles sent afterwards still arrive.

Runs with the real spaCy model (the default setting): non-English text and HTML soup must go
through real NER, not the fast stand-in the other fault tests use.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Callable
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch
from kafka import KafkaProducer

from producers.kafka import ArticleProducer
from tests.fault.harness import (
    Figures,
    dead_letters,
    log_tail,
    prepare,
    send_all,
    tally,
    wait_all_indexed,
    worker,
)
from wirehose.core.article import Article
from wirehose.core.clients import kafka_access
from wirehose.core.settings import Settings

pytestmark = pytest.mark.fault

BIG = 20 * 1024 * 1024
BROKER_MAX = 32 * 1024 * 1024  # message.max.bytes of the native broker


def _article(title: str, body: str, n: int) -> Article:
    return Article.create(
        title=title, body=body, producer="fault", url=f"https://poison.invalid/{n}"
    )


def _poison() -> list[tuple[str, bytes, str | None]]:
    """(key, value, expected dead-letter reason or None when it must be indexed)."""
    rng = random.Random(5)
    german = _article(
        "Bundestag beschließt Haushalt",
        "Der Bundestag hat am Freitag den Haushalt für das kommende Jahr beschlossen. "
        "Finanzminister Christian Lindner sprach von einem soliden Kompromiss.",
        1,
    )
    mixed = _article(
        "東京で大雨 — Heavy rain in Tokyo",
        "東京都内では記録的な大雨となり、交通機関に大きな影響が出ました。 Авиарейсы задержаны. "
        "مطار طوكيو أغلق مؤقتا",
        2,
    )
    soup = _article(
        "<h1>Breaking</h1>",
        "<html><body><div class='x'><p>Storm <b>Ciaran</b> hits <a href='#'>France</a>"
        "<script>alert(1)</script><p>unclosed <table><tr><td>Paris</td></table>" * 50,
        3,
    )
    return [
        ("invalid-json", b'{"schema_version": 1, "body": "unterminated', "invalid-json"),
        ("wrong-schema", json.dumps({"schema_version": 1, "headline": "x"}).encode(), "wrong-schema"),
        ("json-array", b"[1, 2, 3]", "wrong-schema"),
        (
            "empty-body",
            json.dumps({"schema_version": 1, "article_id": "c" * 32, "body": "", "producer": "t"}).encode(),
            "empty-body",
        ),
        ("empty-message", b"", "empty-message"),
        ("binary", bytes(rng.getrandbits(8) for _ in range(4096)), "invalid-json"),
        ("german", german.to_bytes(), None),
        ("mixed-scripts", mixed.to_bytes(), None),
        ("html-soup", soup.to_bytes(), None),
    ]  # fmt: skip


def test_poisoned_records_are_dead_lettered_and_the_pipeline_keeps_going(
    fault_settings: Callable[..., Settings],
    private_es: Elasticsearch,
    fault_corpus: list[Article],
    record_figures: Callable[[Figures], None],
    tmp_path: Path,
) -> None:
    settings = fault_settings(spacy_model="en_core_web_sm")
    prepare(settings)
    poison = _poison()
    # ArticleProducer keeps kafka-python's 1 MB max_request_size: a 20 MB article fails at the
    # producer, with the reason, before it reaches Kafka. Recorded as a figure.
    huge_article = _article("huge", "word " * (BIG // 5), 99)
    with ArticleProducer(kafka_access(settings), settings.topic_raw) as producer:
        producer.send(huge_article)
        producer_report = producer.flush()
    # A raw producer sized like the broker gets the poison onto the topic as-is.
    raw = KafkaProducer(
        bootstrap_servers=settings.kafka_servers, acks="all", max_request_size=BROKER_MAX
    )
    try:
        for key, value, _ in poison:
            raw.send(settings.topic_raw, key=key.encode(), value=value).get(timeout=60)
    finally:
        raw.close()
    good = fault_corpus[:20]
    valid = [Article.from_bytes(value) for _, value, reason in poison if reason is None]
    wanted = {a.article_id for a in good + valid}
    log = tmp_path / "worker.log"
    with worker(settings, log) as process:
        assert send_all(settings, good) == (len(good), 0)
        found = wait_all_indexed(private_es, settings, wanted)
        alive = process.poll() is None
        letters = dead_letters(settings)
    by_key = {letter.key: letter for letter in letters}
    figures = tally(
        private_es,
        settings,
        "poisoned input",
        good + valid,
        poison_records=len(poison),
        producer_20mb=producer_report.summary(),
        dead_letter_reasons={k: (by_key[k].reason if k in by_key else None) for k, *_ in poison},
    )
    record_figures(figures)
    assert alive, log_tail(log)
    assert found == len(wanted), log_tail(log)
    assert producer_report.failed == 1
    assert "MessageSizeTooLarge" in producer_report.summary()
    expected = {key: reason for key, _, reason in poison if reason is not None}
    assert {k: by_key[k].reason for k in expected if k in by_key} == expected, log_tail(log)
    for key, value, reason in poison:
        if reason is not None:
            assert by_key[key].original == value
    assert (figures.indexed, figures.doubled, figures.extra) == (len(wanted), 0, 0)


def test_a_20mb_record_is_dead_lettered_as_oversized(
    fault_settings: Callable[..., Settings],
    private_es: Elasticsearch,
    fault_corpus: list[Article],
    record_figures: Callable[[Figures], None],
    tmp_path: Path,
) -> None:
    settings = fault_settings()
    prepare(settings)
    huge = json.dumps(
        {"schema_version": 1, "article_id": "b" * 32, "body": "word " * (BIG // 5), "producer": "t"}
    ).encode()
    raw = KafkaProducer(
        bootstrap_servers=settings.kafka_servers, acks="all", max_request_size=BROKER_MAX
    )
    try:
        raw.send(settings.topic_raw, key=b"twenty-mb", value=huge).get(timeout=60)
    finally:
        raw.close()
    good = fault_corpus[:10]
    log = tmp_path / "worker.log"
    with worker(settings, log) as process:
        assert send_all(settings, good) == (len(good), 0)
        found = wait_all_indexed(private_es, settings, {a.article_id for a in good})
        letters = dead_letters(settings)
        alive = process.poll() is None
    figures = tally(
        private_es,
        settings,
        "poisoned input: 20 MB record",
        good,
        dead_letter_reasons=[letter.reason for letter in letters],
        agent_crashed="MessageSizeTooLarge" in log_tail(log, 200_000),
    )
    record_figures(figures)
    assert alive
    assert found == len(good)
    assert [(letter.key, letter.reason) for letter in letters] == [("twenty-mb", "oversized-body")]
    (letter,) = letters
    # Too large to carry whole: its size and hash identify it, and re-sending skips it.
    assert letter.original_truncated
    assert letter.original_size == len(huge)
    assert letter.original_sha256 == hashlib.sha256(huge).hexdigest()
