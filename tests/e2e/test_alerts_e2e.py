"""Alerts through the running worker: one delivery per matching story, none for wire copies,
none twice after a killed worker restarts and every article is delivered to it again.

The five seeds go through the real worker first, then a wire copy of each (a dateline and a
credit line added, another outlet, later). Alerts are saved before the worker starts. What
each alert should deliver is read from what the pipeline indexed (the canonical articles its
search lists, grouped by story), so the test does not depend on how stories were clustered.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from processors.alerts.messages import NEW_STORY, STORY_UPDATE, Delivery
from processors.topology import create_topics, topic_names
from producers.kafka import ArticleProducer
from producers.replay import iter_inputs, replay
from sinks.alerts import AlertSpec, AlertStore
from sinks.search import search
from tests.es_support import alias_cleanup
from tests.fault.harness import read_topic
from wirehose.core.article import Article
from wirehose.core.clients import kafka_access
from wirehose.core.offsets import KafkaOffsets, group_lag
from wirehose.core.settings import Settings
from wirehose.ops.local import count_indexed, wait_indexed, worker_process

INDEX_TIMEOUT = 300.0
DRAIN_TIMEOUT = 300.0  # a bound on waiting, not a speed assertion

ALERTS = [
    AlertSpec("putin", query="Putin"),
    AlertSpec("putin-updates", query="Putin", updates=True),
    AlertSpec("lavrov", query="Lavrov"),
    AlertSpec("zeppelin", query="zeppelin"),
]


def wire_copies(seeds: list[Article]) -> list[Article]:
    """A syndicated copy of each seed: same text with a dateline and credit, later, elsewhere."""
    return [
        Article.create(
            title=f"{seed.title or 'Wire report'} - Metro Wire",
            body=f"JERUSALEM (Reuters) - {seed.body}\n\nReporting by Reuters.",
            publisher="Metro Wire",
            url=f"https://metro-wire.example/{n}",
            producer="replay",
            # An hour after its original (within the dedup window, and ranked after it).
            published_at=seed.published_at + timedelta(hours=1) if seed.published_at else None,
        )
        for n, seed in enumerate(seeds)
    ]


@pytest.fixture
def settings(make_settings: Callable[..., Settings], es: Elasticsearch) -> Iterator[Settings]:
    built = make_settings()
    create_topics(built)
    with alias_cleanup(es, built.index_alias):
        try:
            yield built
        finally:
            es.options(ignore_status=404).indices.delete(index=built.alerts_index_name)


def send(settings: Settings, articles: list[Article]) -> None:
    with ArticleProducer(kafka_access(settings), settings.topic_raw) as producer:
        report = replay(articles, producer)
    assert (report.sent, report.failed) == (len(articles), 0)


def drained(settings: Settings, es: Elasticsearch, ids: set[str]) -> bool:
    """Every article searchable, and the group at the end of every topic the worker reads."""
    if count_indexed(es, settings.index_alias, ids) < len(ids):
        return False
    with KafkaOffsets(kafka_access(settings)) as kafka:
        committed = kafka.group_offsets(settings.app_id)
        for topic in topic_names(settings, read_only=True):
            offsets = kafka.topic_offsets(topic)
            if offsets is None or any(p.lag for p in group_lag(offsets, committed)):
                return False
    return True


def wait_drained(
    settings: Settings, es: Elasticsearch, ids: set[str], worker: Any, log: Path
) -> None:
    deadline = time.monotonic() + DRAIN_TIMEOUT
    streak = 0
    while time.monotonic() < deadline:
        assert worker.poll() is None, log.read_text(errors="replace")[-3000:]
        streak = streak + 1 if drained(settings, es, ids) else 0
        if streak >= 2:  # twice, a commit interval apart: nothing between two stages
            return
        time.sleep(1.5)
    raise AssertionError("the pipeline did not drain\n" + log.read_text(errors="replace")[-3000:])


def deliveries(settings: Settings) -> list[tuple[bytes, Delivery]]:
    return [
        (record.key, Delivery.from_bytes(record.value))
        for record in read_topic(settings, settings.topic_alerts, idle_ms=3000)
    ]


def expected(settings: Settings, spec: AlertSpec) -> dict[str, set[str]]:
    """Story -> the canonical articles its search lists, as the pipeline indexed them."""
    request = spec.request()
    rows = type(request)(**{**request.__dict__, "collapse": False, "size": 100})
    stories: dict[str, set[str]] = {}
    for hit in search(settings, rows).hits:
        stories.setdefault(hit.story_key or f"article:{hit.article_id}", set()).add(hit.article_id)
    return stories


def test_each_matching_story_is_delivered_once_and_copies_and_restarts_add_nothing(
    settings: Settings, es: Elasticsearch, seeds_dir: Path, tmp_path: Path
) -> None:
    store = AlertStore(es, settings.alerts_index_name, settings.index_alias)
    for spec in ALERTS:
        store.add(spec)
    seeds = list(iter_inputs([seeds_dir]))
    copies = wire_copies(seeds)
    everything = {a.article_id for a in [*seeds, *copies]}

    log = tmp_path / "worker.log"
    with worker_process(settings, log_path=log) as worker:
        send(settings, seeds)
        # Originals first: a copy that arrived before its original would be its own story for now.
        assert wait_indexed(
            es,
            settings.index_alias,
            {s.article_id for s in seeds},
            timeout=INDEX_TIMEOUT,
            worker=worker,
        ) == len(seeds), log.read_text(errors="replace")[-3000:]
        send(settings, copies)
        wait_drained(settings, es, everything, worker, log)
        worker.kill()  # SIGKILL: the restart recovers the fired pairs from the changelog
        worker.wait(timeout=30)

    first = deliveries(settings)
    es.indices.refresh(index=settings.index_alias)
    marks = {
        hit["_id"]: hit["_source"]["is_canonical"]
        for hit in es.search(
            index=settings.index_alias, size=100, source_includes=["is_canonical"]
        )["hits"]["hits"]
    }
    assert not any(marks[c.article_id] for c in copies), "a wire copy was indexed as an original"
    copy_ids = {c.article_id for c in copies}

    by_alert: dict[str, list[Delivery]] = {}
    for key, delivery in first:
        assert key == delivery.delivery_id.encode()
        by_alert.setdefault(delivery.alert, []).append(delivery)
    assert all(d.article["article_id"] not in copy_ids for _, d in first)
    assert len({d.delivery_id for _, d in first}) == len(first)  # none twice

    for spec in ALERTS:
        stories = expected(settings, spec)
        made = by_alert.get(spec.name, [])
        new = Counter(d.story_id for d in made if d.kind == NEW_STORY)
        assert new == Counter(set(stories)), spec.name  # exactly one per matching story
        for delivery in made:
            assert delivery.article["article_id"] in stories[delivery.story_id]
        updates = sorted(d.article["article_id"] for d in made if d.kind == STORY_UPDATE)
        if spec.updates:
            # Every other matching canonical article of the story, once each.
            assert sorted(
                updates + [d.article["article_id"] for d in made if d.kind == NEW_STORY]
            ) == sorted(a for ids in stories.values() for a in ids)
        else:
            assert updates == []
    assert by_alert["putin"]
    assert by_alert["lavrov"]
    assert "zeppelin" not in by_alert
    assert len(by_alert["lavrov"]) < len(by_alert["putin"])  # the alerts tell stories apart
    assert any(d.kind == STORY_UPDATE for d in by_alert["putin-updates"])  # seeds 000-003

    # A restarted worker gets every article again, then one new story for "zeppelin".
    marker = Article.create(
        title="Zeppelin festival opens",
        body="A zeppelin festival opened in Friedrichshafen on Sunday, its organisers said.",
        publisher="Lake Courier",
        producer="replay",
    )
    log = tmp_path / "worker-2.log"
    with worker_process(settings, log_path=log) as worker:
        send(settings, [*seeds, *copies])
        send(settings, [marker])
        wait_drained(settings, es, everything | {marker.article_id}, worker, log)

    second = deliveries(settings)
    before = {d.delivery_id for _, d in first}
    added = [d for _, d in second if d.delivery_id not in before]
    assert [(d.alert, d.kind, d.article["article_id"]) for d in added] == [
        ("zeppelin", NEW_STORY, marker.article_id)
    ]
    assert len(second) == len(first) + 1  # and nothing delivered a second time
