"""The sink against the real Elasticsearch: writes, redelivery, revisions, outages."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from elastic_transport import ConnectionError
from elasticsearch import Elasticsearch

from sinks.bulk import Backoff
from sinks.elasticsearch import ElasticsearchSink, article_version
from tests.es_fakes import api_error
from tests.es_support import FlakyBulk, alias_cleanup, enriched
from wirehose.core.article import Article, DedupMark
from wirehose.core.settings import Settings


@pytest.fixture
def settings(make_settings: Callable[..., Settings], es: Elasticsearch) -> Iterator[Settings]:
    built = make_settings()
    with alias_cleanup(es, built.index_alias):
        yield built


def sink_for(settings: Settings, client: Any) -> ElasticsearchSink:
    # Short real waits: the test observes retries through the sink's counters, never the clock.
    return ElasticsearchSink(settings, client, backoff=Backoff(0.05, 0.2), refresh="wait_for")


def article(n: int = 1, **fields: Any) -> Article:
    return enriched(
        title=f"Talks on Gaza, part {n}",
        body=f"Negotiations over hostages continued on day {n}.",
        publisher="Daily Ledger",
        story="s-gaza",
        **fields,
    )


def test_write_then_redelivery_is_a_409_and_nothing_doubles(
    settings: Settings, es: Elasticsearch
) -> None:
    sink = sink_for(settings, es)
    sink.setup()
    first = [article(n) for n in range(3)]
    for a in first:
        sink.add(a)
    assert sink.flush() == []
    assert sink.stats.indexed == 3
    for a in first:  # Kafka redelivers the same records
        sink.add(a)
    assert sink.flush() == []
    assert sink.stats.conflicts == 3
    assert es.count(index=settings.index_alias)["count"] == 3
    doc = es.get(index=settings.index_alias, id=first[0].article_id)
    assert doc["_version"] == article_version(first[0])
    assert doc["_source"]["story_key"] == "s-gaza"


def test_a_newer_revision_wins_and_a_late_older_one_loses(
    settings: Settings, es: Elasticsearch
) -> None:
    sink = sink_for(settings, es)
    sink.setup()
    old = article(processed_at=datetime(2024, 1, 1, tzinfo=UTC))
    new = old.model_copy(
        update={"story_id": "s-merged", "processed_at": datetime(2024, 1, 2, tzinfo=UTC)}
    )
    sink.add(old)
    sink.flush()
    sink.add(new)
    sink.flush()
    sink.add(old)  # arrives late, e.g. replayed from an older offset
    sink.flush()
    assert (sink.stats.indexed, sink.stats.conflicts) == (2, 1)
    source = es.get(index=settings.index_alias, id=old.article_id)["_source"]
    assert source["story_id"] == "s-merged"


def test_429_and_5xx_items_and_a_refused_connection_are_retried_until_written(
    settings: Settings, es: Elasticsearch
) -> None:
    client = FlakyBulk(es, 429, ConnectionError("refused"), 503, api_error(502))
    sink = sink_for(settings, client)
    sink.setup()
    batch = [article(n) for n in range(4)]
    for a in batch:
        sink.add(a)
    assert sink.flush() == []
    assert client.bulk_calls == 5
    assert sink.stats.retries == 4
    assert sink.stats.indexed == 4
    assert es.count(index=settings.index_alias)["count"] == 4


def test_a_closed_index_makes_flush_wait_and_catch_up_when_it_reopens(
    settings: Settings, es: Elasticsearch
) -> None:
    sink = sink_for(settings, es)
    sink.setup()
    live = es.indices.get_alias(name=settings.index_alias)
    (index,) = live.keys()
    es.indices.close(index=index)
    batch = [article(n) for n in range(3)]
    for a in batch:
        sink.add(a)
    letters: list[object] = []
    flusher = threading.Thread(target=lambda: letters.extend(sink.flush()))
    flusher.start()
    try:
        deadline = datetime.now(UTC) + timedelta(seconds=60)
        while sink.stats.retries < 2 and datetime.now(UTC) < deadline:
            threading.Event().wait(0.05)
        assert sink.stats.retries >= 2  # it is waiting, not dropping
        assert flusher.is_alive()
    finally:
        es.indices.open(index=index, wait_for_active_shards="1")
    flusher.join(60)
    assert not flusher.is_alive()
    assert letters == []
    assert sink.stats.indexed == 3
    assert es.count(index=settings.index_alias)["count"] == 3


def test_a_deleted_index_is_recreated_and_the_batch_written(
    settings: Settings, es: Elasticsearch
) -> None:
    sink = sink_for(settings, es)
    sink.setup()
    es.indices.delete(index=f"{settings.index_alias}-v*")
    sink.add(article())
    assert sink.flush() == []
    assert es.count(index=settings.index_alias)["count"] == 1
    assert es.indices.exists_alias(name=settings.index_alias)


def test_a_document_the_mapping_refuses_is_dead_lettered_the_rest_indexed(
    settings: Settings, es: Elasticsearch
) -> None:
    sink = sink_for(settings, es)
    sink.setup()
    good = article(1)
    bad = article(2, language="en")
    sink.add(good)
    sink.add(bad)
    # Corrupt one buffered document the way a buggy document builder would.
    sink._buffer[1].source["unexpected_field"] = "x"
    (letter,) = sink.flush()
    assert letter.article_id == bad.article_id
    assert letter.reason == "es-strict_dynamic_mapping_exception"
    assert "unexpected_field" in letter.detail
    assert es.count(index=settings.index_alias)["count"] == 1


def test_a_late_dedup_decision_fills_a_gap_but_never_overwrites_the_mark_decided_in_time(
    settings: Settings, es: Elasticsearch
) -> None:
    sink = sink_for(settings, es)
    sink.setup()
    in_time = article(processed_at=datetime(2024, 1, 1, tzinfo=UTC)).model_copy(
        update={
            "dedup": DedupMark(
                is_canonical=False, duplicate_of="a" * 32, similarity=0.9, method="minhash"
            )
        }
    )
    # The same article redelivered after its decision expired: decided again, canonical, later.
    redecided = in_time.model_copy(
        update={
            "dedup": DedupMark(is_canonical=True, method="none", late=True),
            "processed_at": datetime(2024, 1, 9, tzinfo=UTC),
        }
    )
    never_seen = article(2).model_copy(
        update={"dedup": DedupMark(is_canonical=True, method="none", late=True)}
    )
    sink.add(in_time)
    assert sink.flush() == []
    sink.add(redecided)
    sink.add(never_seen)
    assert sink.flush() == []
    assert (sink.stats.indexed, sink.stats.conflicts) == (2, 1)
    kept = es.get(index=settings.index_alias, id=in_time.article_id)["_source"]
    assert (kept["is_canonical"], kept["duplicate_of"]) == (False, "a" * 32)
    assert es.get(index=settings.index_alias, id=never_seen.article_id)["_source"]["is_canonical"]
