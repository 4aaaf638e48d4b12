"""Dedup across partitions and worker processes, and across a full restart, on real Kafka.

Two dedup-only workers (``python -m processors.worker.dedup``, separate processes, one consumer
group) share a 4-partition raw topic. An original goes to one partition, its syndicated copies
to all four, and three other outlets' own write-ups of the same event to three of them: every
copy must point at the original, the write-ups must stay canonical. Then both workers stop and
a third starts: it must still know the original (state recovered from the table changelogs).
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaConsumer, KafkaProducer
from kafka.admin import KafkaAdminClient

from wirehose.bench.dedup_quality import CorpusDoc, load_corpus
from wirehose.core.article import Article
from wirehose.core.settings import Settings
from wirehose.ops.services.runtime import free_port

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "corpus" / "wirecopy.jsonl"
DEADLINE = 180.0  # seconds to wait for workers and results; a bound on waiting, not an assertion
COPY_TIERS = ("boilerplate", "trimmed", "first-half", "edits-1pct")


class Workers:
    """Dedup worker subprocesses for one settings object; logs kept for failure messages."""

    def __init__(self, settings: Settings, logs: Path) -> None:
        self.settings, self.logs = settings, logs
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        for name in (
            "kafka_bootstrap",
            "es_url",
            "home",
            "app_id",
            "topic_raw",
            "topic_enriched",
            "topic_dead_letter",
            "topic_partitions",
        ):
            env[f"WIREHOSE_{name.upper()}"] = str(getattr(self.settings, name))
        env["WIREHOSE_WORKER_WEB_PORT"] = str(free_port())
        log = (self.logs / f"worker{len(self.procs)}.log").open("wb")
        self.procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "processors.worker.dedup"],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def tails(self) -> str:
        return "\n".join(
            f"--- {p.name}\n{p.read_text()[-3000:]}" for p in sorted(self.logs.glob("*.log"))
        )


@pytest.fixture
def workers(
    make_settings: Callable[..., Settings], new_topic: Callable[..., str], tmp_path: Path
) -> Iterator[Workers]:
    settings = make_settings(
        topic_raw=new_topic("raw", 4), topic_enriched=new_topic("out", 4), topic_partitions=4
    )
    running = Workers(settings, tmp_path)
    yield running
    running.stop_all()
    # The broker is shared: drop the repartition and changelog topics this app id created.
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_servers)
    try:
        with contextlib.suppress(Exception):
            admin.delete_topics([t for t in admin.list_topics() if t.startswith(settings.app_id)])
    finally:
        admin.close()


def wait_for_members(settings: Settings, count: int, workers: Workers) -> None:
    """Until the group is stable with ``count`` members that each own raw-topic partitions."""
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_servers)
    group: dict[str, Any] = {}
    try:
        deadline = time.monotonic() + DEADLINE
        while time.monotonic() < deadline:
            group = admin.describe_groups([settings.app_id]).get(settings.app_id) or {}
            members = group.get("members") or []
            owners = [m for m in members if _owns(m, settings.topic_raw)]
            if group.get("group_state") == "Stable" and len(members) == count == len(owners):
                return
            time.sleep(1)
    finally:
        admin.close()
    pytest.fail(f"group never had {count} stable members: {group}\n{workers.tails()}")


def _owns(member: dict[str, Any], topic: str) -> bool:
    assigned = (member.get("member_assignment") or {}).get("assigned_partitions") or []
    return any(a["topic"] == topic and a["partitions"] for a in assigned)


class Output:
    """Reads the sink topic from the start; remembers the latest record per article id."""

    def __init__(self, settings: Settings) -> None:
        self.consumer = KafkaConsumer(
            settings.topic_enriched,
            bootstrap_servers=settings.kafka_servers,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        self.seen: dict[str, Article] = {}

    def wait_for(self, ids: set[str], workers: Workers) -> dict[str, Article]:
        deadline = time.monotonic() + DEADLINE
        while not ids <= self.seen.keys() and time.monotonic() < deadline:
            for records in self.consumer.poll(timeout_ms=1000).values():
                for record in records:
                    article = Article.model_validate_json(record.value)
                    self.seen[article.article_id] = article
        missing = ids - self.seen.keys()
        assert not missing, f"no output for {len(missing)} articles\n{workers.tails()}"
        return {i: self.seen[i] for i in ids}


def send(producer: KafkaProducer, topic: str, article: Article, partition: int) -> None:
    producer.send(
        topic, key=article.article_id.encode(), value=article.to_bytes(), partition=partition
    ).get(timeout=30)


def test_copies_on_any_partition_and_worker_point_at_one_original_even_after_restart(
    workers: Workers,
) -> None:
    settings = workers.settings
    docs = {doc.doc_id: doc for doc in load_corpus(CORPUS)}
    by_tier = {doc.tier: doc for doc in docs.values() if doc.cluster == "seed000"}
    original = docs["seed000"].article
    copies = [by_tier[tier].article for tier in COPY_TIERS]
    write_ups = [docs[f"seed00{i}"].article for i in (1, 2, 3)]
    late_copy = by_tier["added"].article

    workers.start()
    workers.start()
    wait_for_members(settings, 2, workers)
    producer = KafkaProducer(bootstrap_servers=settings.kafka_servers, acks="all")
    output = Output(settings)
    try:
        send(producer, settings.topic_raw, original, 0)
        output.wait_for({original.article_id}, workers)
        for partition, copy in enumerate(copies):
            send(producer, settings.topic_raw, copy, partition)
        for partition, write_up in enumerate(write_ups, start=1):
            send(producer, settings.topic_raw, write_up, partition)
        marked = output.wait_for({a.article_id for a in [original, *copies, *write_ups]}, workers)

        assert _mark(marked[original.article_id]) == (True, None, "none")
        for copy in copies:
            is_canonical, duplicate_of, method = _mark(marked[copy.article_id])
            assert (is_canonical, duplicate_of, method) == (False, original.article_id, "minhash")
            similarity = marked[copy.article_id].dedup.similarity  # type: ignore[union-attr]
            assert similarity is not None
            assert similarity >= settings.dedup_threshold
        for write_up in write_ups:
            assert _mark(marked[write_up.article_id])[0] is True

        workers.stop_all()
        workers.start()  # a fresh process: all it knows comes from the changelogs
        wait_for_members(settings, 1, workers)
        send(producer, settings.topic_raw, late_copy, 3)
        after = output.wait_for({late_copy.article_id}, workers)
        assert _mark(after[late_copy.article_id])[:2] == (False, original.article_id)
    finally:
        producer.close()
        output.consumer.close()


def _mark(article: Article) -> tuple[bool, str | None, str | None]:
    assert article.dedup is not None, json.loads(article.to_bytes())
    return article.dedup.is_canonical, article.dedup.duplicate_of, article.dedup.method


def test_corpus_docs_used_here_are_the_documented_ones() -> None:
    docs: list[CorpusDoc] = load_corpus(CORPUS)
    tiers = {doc.tier for doc in docs if doc.cluster == "seed000"}
    assert set(COPY_TIERS) | {"added", "original"} <= tiers
