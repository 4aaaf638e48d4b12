"""ElasticsearchSink buffering, chunking, versions and dead letters, with a fake client."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sinks.bulk import Backoff
from sinks.document import to_document
from sinks.elasticsearch import ElasticsearchSink, article_version
from tests.es_fakes import ScriptedBulk, all_items, api_error, item, per_doc
from tests.factories import make_article
from wirehose.core.article import Article
from wirehose.core.errors import DropArticle, SinkClosed
from wirehose.core.settings import Settings

PROCESSED = datetime(2023, 12, 10, 16, 15, 0, 123456, tzinfo=UTC)


def settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {"es_url": "http://es.invalid:9200", "index_alias": "articles"}
    values.update(overrides)
    return Settings(**values)


def sink_with(client: Any, **overrides: Any) -> tuple[ElasticsearchSink, list[float]]:
    waits: list[float] = []
    sink = ElasticsearchSink(
        settings(**overrides), client, backoff=Backoff(1.0, 4.0), sleep=waits.append
    )
    return sink, waits


def enriched(**fields: Any) -> Article:
    return make_article(processed_at=PROCESSED, **fields)


def ids_sent(call: list[dict]) -> list[str]:
    return [op["index"]["_id"] for op in call[0::2]]


def test_version_is_processed_at_in_microseconds_else_fetched_at() -> None:
    assert article_version(enriched()) == 1702224900123456
    raw = make_article(fetched_at=datetime(2023, 12, 10, tzinfo=UTC))
    assert article_version(raw) == 1702166400000000
    later = enriched().model_copy(update={"processed_at": PROCESSED + timedelta(microseconds=1)})
    assert article_version(later) == article_version(enriched()) + 1


def test_add_does_no_io_and_flush_writes_through_the_alias() -> None:
    client = ScriptedBulk(all_items(201))
    sink, _ = sink_with(client)
    article = enriched()
    sink.add(article, offset=41)
    assert client.calls == []
    assert len(sink) == 1
    assert sink.flush() == []
    action, source = client.calls[0]
    assert action == {
        "index": {
            "_index": "articles",
            "_id": article.article_id,
            "version": article_version(article),
            "version_type": "external",
        }
    }
    assert source["title"] == article.title
    assert "raw" not in source
    assert len(sink) == 0
    assert sink.stats.indexed == 1


def test_explicit_version_wins() -> None:
    client = ScriptedBulk(all_items(201))
    sink, _ = sink_with(client)
    sink.add(enriched(), version=12)
    sink.flush()
    assert client.calls[0][0]["index"]["version"] == 12


def test_flush_splits_the_buffer_by_count() -> None:
    client = ScriptedBulk(all_items(201), all_items(201), all_items(201))
    sink, _ = sink_with(client, sink_batch_size=2)
    articles = [enriched() for _ in range(5)]
    for article in articles:
        sink.add(article)
    assert sink.full
    sink.flush()
    assert [len(ids_sent(call)) for call in client.calls] == [2, 2, 1]
    sent = [i for call in client.calls for i in ids_sent(call)]
    assert sent == [a.article_id for a in articles]


def test_flush_splits_the_buffer_by_bytes() -> None:
    articles = [enriched(body="word " * 200) for _ in range(4)]
    one = len(json.dumps(to_document(articles[0])).encode())
    client = ScriptedBulk(*(all_items(201) for _ in range(4)))
    sink, _ = sink_with(client, sink_batch_bytes=int(one * 2.5))
    for article in articles:
        sink.add(article)
    sink.flush()
    assert [len(ids_sent(call)) for call in client.calls] == [2, 2]


def test_a_document_larger_than_a_batch_is_dropped_at_add() -> None:
    sink, _ = sink_with(ScriptedBulk(), sink_batch_bytes=500)
    with pytest.raises(DropArticle) as caught:
        sink.add(enriched(body="x" * 1000))
    assert caught.value.reason == "document-too-large"
    assert len(sink) == 0


def test_rejected_documents_come_back_as_dead_letters_with_the_reason_and_the_article() -> None:
    good, bad = enriched(), enriched()
    client = ScriptedBulk(
        per_doc(
            {
                bad.article_id: item(
                    400,
                    "strict_dynamic_mapping_exception",
                    "mapping set to strict, [x] not allowed",
                )
            }
        )
    )
    sink, _ = sink_with(client, topic_enriched="enriched-topic")
    sink.add(good, offset=1, partition=3)
    sink.add(bad, offset=2, partition=3)
    (letter,) = sink.flush()
    assert letter.reason == "es-strict_dynamic_mapping_exception"
    assert "status 400: mapping set to strict" in letter.detail
    assert (letter.topic, letter.partition, letter.offset) == ("enriched-topic", 3, 2)
    assert letter.article_id == bad.article_id == letter.key
    assert Article.from_bytes(letter.original) == bad  # resendable as it was
    assert (sink.stats.indexed, sink.stats.rejected) == (1, 1)


def test_redelivered_documents_count_as_done() -> None:
    client = ScriptedBulk(all_items(409, "version_conflict_engine_exception"))
    sink, _ = sink_with(client)
    sink.add(enriched())
    assert sink.flush() == []
    assert (sink.stats.conflicts, len(sink)) == (1, 0)


def test_an_outage_makes_flush_wait_and_keep_everything() -> None:
    client = ScriptedBulk(api_error(503), api_error(429), all_items(201))
    sink, waits = sink_with(client)
    sink.add(enriched())
    sink.add(enriched())
    assert sink.flush() == []
    assert waits == [1.0, 2.0]
    assert sink.stats.indexed == 2
    assert len(client.calls) == 3
    assert client.calls[0] == client.calls[2]


def test_close_during_an_outage_raises_and_keeps_the_batch_unacked() -> None:
    class Outage:
        def __init__(self) -> None:
            self.calls = 0
            self.first = threading.Event()

        def bulk(self, **_: Any) -> dict:
            self.calls += 1
            self.first.set()
            raise api_error(503)

    client = Outage()
    sink = ElasticsearchSink(settings(), client, backoff=Backoff(3600.0, 3600.0))
    sink.add(enriched())
    errors: list[BaseException] = []

    def flush() -> None:
        try:
            sink.flush()
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=flush)
    thread.start()
    assert client.first.wait(10)
    sink.close()  # wakes the hour-long backoff at once
    thread.join(10)
    assert not thread.is_alive()
    assert [type(e) for e in errors] == [SinkClosed]
    assert len(sink) == 1  # still buffered: the caller must not ack it


def test_due_follows_the_first_add_and_resets_on_flush() -> None:
    now = [100.0]
    sink = ElasticsearchSink(
        settings(sink_flush_seconds=2.0), ScriptedBulk(all_items(201)), clock=lambda: now[0]
    )
    assert not sink.due
    sink.add(enriched())
    now[0] = 101.0
    assert not sink.due
    now[0] = 102.0
    assert sink.due
    sink.flush()
    assert not sink.due


def test_setup_waits_for_an_unreachable_cluster(monkeypatch: pytest.MonkeyPatch) -> None:
    attempts: list[int] = []

    def ensure(self: Any) -> str:
        attempts.append(1)
        if len(attempts) < 3:
            raise api_error(503)
        return "articles-v1"

    monkeypatch.setattr("sinks.indices.IndexManager.ensure", ensure)
    sink, waits = sink_with(ScriptedBulk())
    sink.setup()
    assert len(attempts) == 3
    assert waits == [1.0, 2.0]
