"""The status snapshot, built from fake sources, and how it is rendered."""

from __future__ import annotations

import json
from typing import Any
from unittest.mock import Mock

import pytest
from elasticsearch import NotFoundError
from rich.console import Console

from wirehose.core.deadletter import DeadLetter
from wirehose.core.errors import DropArticle
from wirehose.core.offsets import TopicOffsets, group_lag
from wirehose.core.settings import Settings
from wirehose.ops.deadletters import Entry, Scan
from wirehose.ops.status import IndexStatus, ServiceStatus, Sources, gather
from wirehose.ops.status_render import render, to_json
from wirehose.ops.status_sources import EsIndexSource

SETTINGS = Settings(
    kafka_bootstrap="k:9092", es_url="http://es:9200", app_id="grp", worker_web_port=7000
)
UP = [
    ServiceStatus("kafka", "k:9092", True, False, "external"),
    ServiceStatus("es", "http://es:9200", True, False, "external"),
]


class FakeOffsets:
    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.topics = {
            SETTINGS.topic_raw: TopicOffsets(SETTINGS.topic_raw, {0: 0, 1: 0}, {0: 6, 1: 4}),
            SETTINGS.topic_enriched: TopicOffsets(SETTINGS.topic_enriched, {0: 0}, {0: 7}),
            SETTINGS.topic_dead_letter: TopicOffsets(SETTINGS.topic_dead_letter, {0: 0}, {0: 3}),
            "grp-deduped": TopicOffsets("grp-deduped", {0: 0}, {0: 5}),
        }

    def topic_offsets(self, topic: str) -> TopicOffsets | None:
        if self.fail:
            raise ConnectionError("broker went away")
        return self.topics.get(topic)

    def group_offsets(self, group: str) -> dict[tuple[str, int], int]:
        assert group == "grp"
        return {
            (SETTINGS.topic_raw, 0): 6,
            (SETTINGS.topic_raw, 1): 1,
            (SETTINGS.topic_enriched, 0): 7,
            ("grp-deduped", 0): 4,
        }


def _letter(reason: str, step: str = "validate") -> DeadLetter:
    return DeadLetter.from_drop(DropArticle(reason, "d"), step=step, original=b"x", topic="raw")


def _scan() -> Scan:
    letters = [_letter("invalid-json"), _letter("invalid-json"), _letter("oversized-body")]
    entries = [Entry(0, n, letter) for n, letter in enumerate(letters)]
    return Scan(offsets=None, entries=[*entries, Entry(0, 3, None, "ValueError: junk")])


class FakeIndex:
    def index_status(self, alias: str) -> IndexStatus | None:
        return IndexStatus(alias, [f"{alias}-v1"], documents=7, canonical=5, duplicates=2)


def _sources(**overrides: Any) -> Sources:
    values: dict[str, Any] = {
        "services": UP,
        "offsets": FakeOffsets(),
        "scan_dead_letters": _scan,
        "index": FakeIndex(),
        "worker_metrics": lambda: {
            'wirehose_enrich_records_total{step="validate"}': 10.0,
            "wirehose_sink_documents_indexed_total": 7.0,
        },
        "worker_ready": lambda: (True, None),
    }
    values.update(overrides)
    return Sources(**values)


def test_snapshot_counts_flow_lag_dead_letters_and_documents() -> None:
    snap = gather(SETTINGS, _sources())
    assert snap.problems == []
    enrich, index = snap.stages
    assert (enrich.messages_in, enrich.messages_out, enrich.lag) == (10, 7, 4)
    assert enrich.worker["records_in"] == 10
    assert (index.messages_in, index.messages_out, index.lag) == (7, 7, 0)
    assert index.worker["documents_indexed"] == 7
    assert [(r.topic, r.partition, r.lag) for r in snap.lag] == [
        (SETTINGS.topic_raw, 0, 0),
        (SETTINGS.topic_raw, 1, 3),
        (SETTINGS.topic_enriched, 0, 0),
        ("grp-deduped", 0, 1),  # an internal topic the group commits on is shown too
    ]
    assert snap.total_lag == 4
    assert snap.dead_letters is not None
    assert snap.dead_letters.total == 3
    assert snap.dead_letters.reasons == [("invalid-json", 2), ("oversized-body", 1)]
    assert snap.dead_letters.unreadable == 1
    assert snap.index is not None
    assert (snap.index.canonical, snap.index.duplicates) == (5, 2)
    assert snap.worker is not None
    assert snap.worker.url == "http://127.0.0.1:7000"
    assert snap.worker.ready is True


def test_json_and_rich_rendering_carry_the_same_facts() -> None:
    snap = gather(SETTINGS, _sources())
    data = json.loads(to_json(snap))
    assert data["total_lag"] == 4
    assert data["healthy"] is True
    assert data["dead_letters"]["reasons"] == [["invalid-json", 2], ["oversized-body", 1]]
    assert data["index"]["indices"] == ["articles-v1"]
    console = Console(record=True, width=200)
    console.print(render(snap))
    text = console.export_text()
    for fact in ("invalid-json", "oversized-body", "articles-v1", "all good; total lag 4"):
        assert fact in text


def test_broken_parts_become_problems_with_what_to_do() -> None:
    snap = gather(
        SETTINGS,
        _sources(
            offsets=FakeOffsets(fail=True),
            scan_dead_letters=None,
            index=None,
            worker_metrics=lambda: None,
            worker_ready=lambda: None,
            problems=["Elasticsearch unreachable at http://es:9200: run `wirehose services up`"],
        ),
    )
    assert not snap.healthy
    joined = "\n".join(snap.problems)
    assert "Kafka offsets unavailable (ConnectionError: broker went away)" in joined
    assert "`wirehose services up`" in joined
    assert "no worker answers at http://127.0.0.1:7000" in joined
    assert snap.stages[0].messages_in is None
    assert snap.dead_letters is None
    console = Console(record=True, width=200)
    console.print(render(snap))
    assert "problems:" in console.export_text()


def test_a_worker_that_is_not_ready_is_a_problem() -> None:
    snap = gather(SETTINGS, _sources(worker_ready=lambda: (False, "kafka unreachable")))
    assert snap.problems == ["the worker at http://127.0.0.1:7000 is not ready: kafka unreachable"]


def test_never_committed_partitions_lag_from_their_start() -> None:
    offsets = TopicOffsets("t", start={0: 10, 1: 0}, end={0: 15, 1: 2})
    rows = group_lag(offsets, {("t", 1): 2})
    assert [(r.partition, r.committed, r.lag) for r in rows] == [(0, None, 5), (1, 2, 0)]


class FakeEs:
    """Answers get_alias and count like the Elasticsearch client does."""

    def __init__(self, alias_exists: bool = True) -> None:
        self.queries: list[Any] = []
        self.indices = Mock()
        if alias_exists:
            self.indices.get_alias.return_value = {"a-v2": {}, "a-v1": {}}
        else:
            self.indices.get_alias.side_effect = NotFoundError("nf", Mock(status=404), {})
            self.indices.exists.return_value = False

    def count(self, *, index: str, query: Any = None) -> dict[str, int]:
        self.queries.append(query)
        if query is None:
            return {"count": 9}
        wanted = query["bool"]["should"][0]["term"]["is_canonical"]
        return {"count": 6 if wanted else 3}


def test_es_index_source_counts_canonical_and_duplicates_under_either_field() -> None:
    es = FakeEs()
    status = EsIndexSource(es).index_status("a")
    assert status == IndexStatus("a", ["a-v1", "a-v2"], documents=9, canonical=6, duplicates=3)
    fields = {next(iter(c["term"])) for c in es.queries[1]["bool"]["should"]}
    assert fields == {"is_canonical", "dedup.is_canonical"}


def test_es_index_source_reports_a_missing_alias_as_none() -> None:
    assert EsIndexSource(FakeEs(alias_exists=False)).index_status("a") is None


@pytest.mark.parametrize("host", ["0.0.0.0", "::"])
def test_a_worker_bound_everywhere_is_reached_on_loopback(host: str) -> None:
    settings = SETTINGS.model_copy(update={"worker_web_host": host})
    snap = gather(settings, _sources())
    assert snap.worker is not None
    assert snap.worker.url == "http://127.0.0.1:7000"
