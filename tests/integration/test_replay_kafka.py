"""``wirehose replay`` against the real broker: what lands on the topic, twice, and failures."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from click.testing import CliRunner
from kafka import KafkaConsumer

from producers.seeds import iter_seed_articles
from wirehose.cli import cli
from wirehose.core.article import Article
from wirehose.core.clients import KafkaAccess, ensure_topics
from wirehose.core.settings import get_settings


def read_topic(bootstrap: str, topic: str, expected: int) -> list[tuple[bytes, Article, int]]:
    """Every record on ``topic`` (key, article, partition); stops once ``expected`` arrived."""
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=10_000,
    )
    records = []
    try:
        for message in consumer:
            records.append((message.key, Article.from_bytes(message.value), message.partition))
            if len(records) >= expected:
                break
    finally:
        consumer.close()
    return records


def run_replay(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["replay", "--no-progress", *args])
    return result.exit_code, result.output


def test_replaying_seeds_twice_lands_the_same_keys(
    kafka_bootstrap: str, new_topic: Callable[..., str], seeds_dir: Path
) -> None:
    topic = new_topic("replay", partitions=4)
    args = ["--topic", topic, "--bootstrap", kafka_bootstrap, str(seeds_dir)]
    assert run_replay(*args)[0] == 0
    code, output = run_replay(*args)
    assert code == 0, output
    assert "sent=5 failed=0" in output

    records = read_topic(kafka_bootstrap, topic, expected=10)
    expected = {a.article_id: a for a in iter_seed_articles(seeds_dir)}
    assert len(records) == 10
    assert sorted(k.decode() for k, _, _ in records) == sorted(list(expected) * 2)
    for key, article, _ in records:
        assert article.article_id == key.decode()
        assert article.body == expected[article.article_id].body
        assert article.producer == "replay"
    # A key always maps to one partition, so both copies meet in the same place downstream.
    partitions: dict[bytes, set[int]] = {}
    for key, _, partition in records:
        partitions.setdefault(key, set()).add(partition)
    assert all(len(p) == 1 for p in partitions.values())


def test_undeliverable_article_is_counted_and_exit_status_is_nonzero(
    kafka_bootstrap: str, new_topic: Callable[..., str], tmp_path: Path
) -> None:
    topic = new_topic("replay-fail", partitions=1)
    lines = [
        {"title": "fits", "body": "A normal story."},
        {"title": "too big", "body": "word " * 300_000},  # 1.5 MB: over the 1 MB request cap
    ]
    feed = tmp_path / "mixed.jsonl"
    feed.write_text("\n".join(json.dumps(line) for line in lines) + "\n", encoding="utf-8")

    code, output = run_replay(
        "--topic", topic, "--bootstrap", kafka_bootstrap, "--jsonl", str(feed)
    )

    assert code == 1
    assert "sent=1 failed=1" in output
    assert "MessageSizeTooLargeError" in output
    assert "run the same replay again" in output
    (record,) = read_topic(kafka_bootstrap, topic, expected=1)
    assert record[1].title == "fits"


def test_replay_creates_a_missing_topic_with_the_configured_partitions(
    kafka_bootstrap: str, unique_name: Callable[[str], str], seeds_dir: Path
) -> None:
    from kafka.admin import KafkaAdminClient

    topic = unique_name("replay-new")
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    try:
        code, output = run_replay("--topic", topic, "--bootstrap", kafka_bootstrap)
        assert code == 0, output
        (described,) = admin.describe_topics([topic])
        assert len(described["partitions"]) == get_settings().topic_partitions
        assert (
            ensure_topics(KafkaAccess(kafka_bootstrap), [topic], partitions=1) == []
        )  # exists: no-op
    finally:
        admin.delete_topics([topic])
        admin.close()
