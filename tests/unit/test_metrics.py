"""Metric names follow one convention, carry a ``step`` label, and count what they say."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import Counter, Gauge, Histogram, Info
from prometheus_client.metrics import MetricWrapperBase
from prometheus_client.parser import text_string_to_metric_families

from processors.worker.health import assess
from processors.worker.instrument import ObservedSink
from tests.factories import make_article
from wirehose.core import metrics
from wirehose.core.article import DedupMark, Entity
from wirehose.core.deadletter import DeadLetter
from wirehose.core.errors import DropArticle

NAME = re.compile(
    r"^wirehose_[a-z]+_[a-z_]+_(total|seconds|bytes|messages|articles|documents|ratio|info)$"
)
OPERATIONS_DOC = Path(__file__).resolve().parents[2] / "docs" / "operations.md"


def _defined() -> list[MetricWrapperBase]:
    return [m for m in vars(metrics).values() if isinstance(m, MetricWrapperBase)]


def _exposed_name(metric: MetricWrapperBase) -> str:
    # prometheus_client keeps counters' names without "_total" and infos' without "_info".
    name = metric._name  # type: ignore[attr-defined]
    if isinstance(metric, Counter):
        return f"{name}_total"
    if isinstance(metric, Info):
        return f"{name}_info"
    return str(name)


def test_every_metric_name_follows_the_convention() -> None:
    names = [_exposed_name(m) for m in _defined()]
    assert len(names) >= 12
    assert [n for n in names if not NAME.match(n)] == []
    # And so does every series /metrics actually serves (histogram parts stripped).
    served = {
        re.sub(r"_(bucket|count|sum)$", "", sample.name)
        for family in text_string_to_metric_families(metrics.exposition()[0].decode())
        for sample in family.samples
        if not sample.name.endswith("_created")
    }
    assert served
    assert [n for n in served if not NAME.match(n)] == []
    assert served <= set(names)


def test_counters_histograms_and_gauges_have_a_step_label() -> None:
    missing = [
        _exposed_name(m)
        for m in _defined()
        if isinstance(m, Counter | Histogram | Gauge) and "step" not in m._labelnames  # type: ignore[attr-defined]
    ]
    assert missing == []


def test_every_metric_is_documented() -> None:
    text = OPERATIONS_DOC.read_text()
    assert [n for n in map(_exposed_name, _defined()) if f"`{n}`" not in text] == []


def test_delivery_counter_counts_sent_and_failed_by_step() -> None:
    def value(outcome: str) -> float:
        return metrics.sample_value(
            "wirehose_producer_articles_total", {"step": "unit-test", "outcome": outcome}
        )

    before_sent, before_failed = value("sent"), value("failed")
    count = metrics.delivery_counter("unit-test")
    count("a" * 32, None)
    count("b" * 32, None)
    count("c" * 32, TimeoutError("broker gone"))
    assert value("sent") - before_sent == 2
    assert value("failed") - before_failed == 1


def test_observe_enrich_counts_records_articles_and_entity_mentions() -> None:
    entity = Entity(label="PERSON", text="Lavrov", canonical="Sergei Lavrov", start=0, end=6)
    articles = [make_article(entities=(entity, entity)), make_article()]

    def value(name: str, step: str) -> float:
        return metrics.sample_value(name, {"step": step})

    before = (
        value("wirehose_enrich_records_total", "entities"),
        value("wirehose_enrich_articles_total", "entities"),
        value("wirehose_entities_tagged_total", "entities"),
    )
    metrics.observe_enrich(metrics.STEP_ENTITIES, 3, articles)
    after = (
        value("wirehose_enrich_records_total", "entities"),
        value("wirehose_enrich_articles_total", "entities"),
        value("wirehose_entities_tagged_total", "entities"),
    )
    assert [a - b for a, b in zip(after, before, strict=True)] == [3, 2, 2]


def test_dead_letters_are_counted_by_step_and_reason() -> None:
    labels = {"step": "validate", "reason": "unit-reason"}
    before = metrics.sample_value("wirehose_deadletter_records_total", labels)
    letter = DeadLetter.from_drop(DropArticle("unit-reason", "x"), step="validate", original=b"x")
    metrics.observe_dead_letters([letter, letter])
    assert metrics.sample_value("wirehose_deadletter_records_total", labels) - before == 2


class _Stats:
    indexed = 0
    conflicts = 0


class FakeSink:
    """Mimics ElasticsearchSink: buffers, then "indexes" all but one as a conflict on flush."""

    step_id = "sink.elasticsearch"

    def __init__(self) -> None:
        self.buffer: list[Any] = []
        self.stats = _Stats()
        self.closed = False

    def add(self, article: Any, offset: int | None = None, **_: Any) -> None:
        if not article.body.strip():
            raise DropArticle("document-too-large", "unit")
        self.buffer.append(article)

    def __len__(self) -> int:
        return len(self.buffer)

    def flush(self) -> list[DeadLetter]:
        self.stats.indexed += len(self.buffer) - 1
        self.stats.conflicts += 1
        self.buffer.clear()
        return []

    def close(self) -> None:
        self.closed = True


def test_observed_sink_counts_batches_documents_duplicates_and_latency() -> None:
    step = {"step": "sink.elasticsearch"}

    def value(name: str, labels: dict[str, str] = step) -> float:
        return metrics.sample_value(name, labels)

    names = [
        "wirehose_sink_records_total",
        "wirehose_sink_documents_indexed_total",
        "wirehose_sink_version_conflicts_total",
        "wirehose_sink_batch_documents_count",
        "wirehose_sink_batch_documents_sum",
        "wirehose_sink_bulk_latency_seconds_count",
    ]
    before = [value(n) for n in names]
    dup_before = value("wirehose_dedup_duplicates_total", {"step": "dedup"})
    sink = ObservedSink(FakeSink())
    copy = DedupMark(is_canonical=False, duplicate_of="a" * 32, similarity=0.9, method="minhash")
    sink.add(make_article())
    sink.add(make_article(), offset=7)
    sink.add(make_article(dedup=copy))
    assert sink.flush() == []
    assert sink.flush() == []  # an empty flush is not a batch
    sink.close()  # passed through to the wrapped sink
    assert sink.sink.closed
    deltas = [value(n) - b for n, b in zip(names, before, strict=True)]
    assert deltas == [3, 2, 1, 1, 3, 1]
    assert value("wirehose_dedup_duplicates_total", {"step": "dedup"}) - dup_before == 1


@pytest.mark.parametrize(
    ("kafka", "es", "partitions", "ready", "reason"),
    [
        (True, True, 4, True, None),
        (False, True, 4, False, "kafka unreachable"),
        (True, False, 4, False, "elasticsearch unreachable"),
        (False, False, 0, False, "kafka and elasticsearch unreachable"),
        (True, True, 0, False, "no partitions assigned to this worker (yet)"),
    ],
)
def test_readiness_needs_both_services_and_partitions(
    kafka: bool, es: bool, partitions: int, ready: bool, reason: str | None
) -> None:
    result = assess(kafka=kafka, elasticsearch=es, partitions=partitions)
    assert (result.ready, result.reason) == (ready, reason)
    assert result.body()["checks"] == {
        "kafka": kafka,
        "elasticsearch": es,
        "assigned_partitions": partitions,
    }
