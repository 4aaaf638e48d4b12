"""Stories on real coverage through the running pipeline: B-cubed F1 >= 0.90, precision >= 0.95.

The labelled set (``tests.labelled``: 300 real articles, 100 events, three outlets each) is
replayed in event-time order, at once, into the raw topic's four partitions as a backlog, and
read by a real ``wirehose worker``: real Kafka, the real spaCy model, real Elasticsearch. Once
every article is searchable, each article's ``story_id`` in Elasticsearch is scored against the
events. The in-process score (tests/integration/test_story_eval.py) says the method works; this
one says the pipeline keeps it: partitions interleaving, the tag subprocess, the stories agent,
the indexer.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from elasticsearch import Elasticsearch

from processors.topology import create_topics
from producers.kafka import ArticleProducer
from producers.replay import replay
from tests.labelled import labelled_directory
from wirehose.bench import stories_eval
from wirehose.core.clients import kafka_access
from wirehose.core.settings import Settings
from wirehose.ops.local import wait_indexed, worker_process

INDEX_TIMEOUT = 600.0  # a bound on waiting, not a speed assertion
RESULTS = Path(__file__).resolve().parents[2] / "bench" / "results" / "stories-pipeline.json"


def story_ids(es: Elasticsearch, alias: str) -> dict[str, str]:
    es.indices.refresh(index=alias)
    hits = es.search(
        index=alias, size=10_000, query={"match_all": {}}, source_includes=["story_id"]
    )["hits"]["hits"]
    return {hit["_id"]: hit["_source"]["story_id"] for hit in hits}


def test_labelled_coverage_forms_its_events_through_the_pipeline(
    make_settings: Callable[..., Settings], es: Elasticsearch, tmp_path: Path
) -> None:
    labelled = stories_eval.load(labelled_directory())
    settings = make_settings(topic_partitions=4)
    create_topics(settings)
    articles = [article for article, _ in labelled]
    ids = {article.article_id for article in articles}
    assert len(ids) == len(articles), "two labelled articles share an id"

    with ArticleProducer(kafka_access(settings), settings.topic_raw) as producer:
        sent = replay(articles, producer)
    assert (sent.sent, sent.failed) == (len(articles), 0)

    log = tmp_path / "worker.log"
    with worker_process(settings, log_path=log) as worker:
        found = wait_indexed(es, settings.index_alias, ids, timeout=INDEX_TIMEOUT, worker=worker)
        assert found == len(ids), log.read_text()[-3000:]

    stories = story_ids(es, settings.index_alias)
    predicted = [stories[article.article_id] for article, _ in labelled]
    gold = [event for _, event in labelled]
    precision, recall, f1 = stories_eval.bcubed(predicted, gold)
    figures = {
        "articles": len(labelled),
        "events": len(set(gold)),
        "stories": len(set(predicted)),
        "precision": round(precision, 3),
        "recall": round(recall, 3),
        "f1": round(f1, 3),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    assert precision >= 0.95, figures
    assert f1 >= 0.90, figures
