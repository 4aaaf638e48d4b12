"""Bulk response handling, item by item, with a scripted fake client (no Elasticsearch)."""

from __future__ import annotations

from typing import Any

import pytest
from elastic_transport import ConnectionError

from sinks.bulk import (
    Backoff,
    Doc,
    Outcome,
    classify,
    describe_error,
    write_chunk,
)
from tests.es_fakes import ScriptedBulk, all_items, api_error, item, per_doc
from wirehose.core.errors import ServiceError, SinkClosed


def docs(*ids: str) -> list[Doc]:
    return [Doc(article_id=i, version=7, source={"title": i}, size=10) for i in ids]


def run(client: ScriptedBulk, batch: list[Doc], **kwargs: Any) -> tuple[Any, list[float]]:
    waits: list[float] = []
    report = write_chunk(
        client, "articles", batch, wait=waits.append, backoff=Backoff(1.0, 8.0), **kwargs
    )
    return report, waits


@pytest.mark.parametrize(
    ("entry", "outcome"),
    [
        (item(201), Outcome.INDEXED),
        (item(200), Outcome.INDEXED),
        (item(409, "version_conflict_engine_exception"), Outcome.CONFLICT),
        (item(429, "es_rejected_execution_exception"), Outcome.RETRY),
        (item(503, "unavailable_shards_exception"), Outcome.RETRY),
        (item(500, "exception"), Outcome.RETRY),
        (item(400, "index_closed_exception"), Outcome.RETRY),
        (item(404, "index_not_found_exception"), Outcome.RETRY),
        (item(403, "cluster_block_exception"), Outcome.RETRY),
        (item(400, "document_parsing_exception"), Outcome.REJECTED),
        (item(400, "strict_dynamic_mapping_exception"), Outcome.REJECTED),
        (item(400, "illegal_argument_exception"), Outcome.REJECTED),
    ],
)
def test_classify_each_kind_of_item(entry: dict, outcome: Outcome) -> None:
    assert classify(entry).outcome is outcome


def test_describe_error_keeps_the_root_cause() -> None:
    error = {
        "type": "document_parsing_exception",
        "reason": "[1:30] failed to parse field [published_at] of type [date]",
        "caused_by": {
            "type": "illegal_argument_exception",
            "reason": "failed to parse date field [yesterday]",
        },
    }
    kind, reason = describe_error(error)
    assert kind == "document_parsing_exception"
    assert "published_at" in reason
    assert "caused by illegal_argument_exception: failed to parse date field [yesterday]" in reason


def test_operations_use_article_id_and_external_versions() -> None:
    client = ScriptedBulk(all_items(201))
    report, waits = run(client, docs("a1", "b2"))
    assert report.indexed == 2
    assert waits == []
    actions = client.calls[0][0::2]
    assert actions == [
        {"index": {"_index": "articles", "_id": i, "version": 7, "version_type": "external"}}
        for i in ("a1", "b2")
    ]
    assert client.calls[0][1] == {"title": "a1"}


def test_a_mixed_response_is_sorted_item_by_item() -> None:
    client = ScriptedBulk(
        per_doc(
            {
                "dup": item(409, "version_conflict_engine_exception", "version conflict"),
                "bad": item(400, "document_parsing_exception", "failed to parse field [date]"),
                "busy": item(429, "es_rejected_execution_exception", "queue full"),
            }
        ),
        all_items(201),
    )
    report, waits = run(client, docs("ok", "dup", "bad", "busy"))
    assert (report.indexed, report.conflicts) == (2, 1)  # "ok", then "busy" on the retry
    assert [(doc.article_id, r.error_type) for doc, r in report.rejected] == [
        ("bad", "document_parsing_exception")
    ]
    # Only the 429 was sent again, after one backoff.
    assert [op["index"]["_id"] for op in client.calls[1][0::2]] == ["busy"]
    assert waits == [1.0]


def test_a_long_outage_backs_off_exponentially_up_to_the_cap_and_never_gives_up() -> None:
    outage: list[Any] = [ConnectionError("refused")] * 4 + [api_error(503)] * 3
    client = ScriptedBulk(*outage, all_items(201))
    report, waits = run(client, docs("a", "b"))
    assert report.indexed == 2
    assert report.retries == 7
    assert waits == [1.0, 2.0, 4.0, 8.0, 8.0, 8.0, 8.0]


def test_a_partially_applied_request_resent_counts_applied_items_as_done() -> None:
    # The first request timed out after ES had applied "a"; the resend reports it as a 409.
    client = ScriptedBulk(
        ConnectionError("timed out"),
        per_doc({"a": item(409, "version_conflict_engine_exception")}),
    )
    report, _ = run(client, docs("a", "b"))
    assert (report.indexed, report.conflicts, report.rejected) == (1, 1, [])


def test_a_missing_alias_is_recreated_before_the_retry() -> None:
    created: list[bool] = []
    client = ScriptedBulk(all_items(404, "index_not_found_exception"), all_items(201))
    report, _ = run(client, docs("a"), on_missing_index=lambda: created.append(True))
    assert created == [True]
    assert report.indexed == 1


@pytest.mark.parametrize("status", [401, 403, 400])
def test_request_errors_that_waiting_cannot_fix_raise_instead_of_dead_lettering(
    status: int,
) -> None:
    client = ScriptedBulk(api_error(status, "security_exception"))
    with pytest.raises(ServiceError, match=f"refused the bulk request \\({status}\\)"):
        run(client, docs("a"))


def test_closing_while_waiting_abandons_the_chunk() -> None:
    def closed(seconds: float) -> None:
        raise SinkClosed("closed")

    client = ScriptedBulk(api_error(503))
    with pytest.raises(SinkClosed):
        write_chunk(client, "articles", docs("a"), wait=closed, backoff=Backoff())


def test_backoff_is_exponential_and_capped() -> None:
    backoff = Backoff(initial=0.5, maximum=30.0)
    assert [backoff.delay(n) for n in range(8)] == [0.5, 1, 2, 4, 8, 16, 30, 30]
