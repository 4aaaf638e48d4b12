"""Saved alerts without Elasticsearch: the stored query is search's, and the matchers' requests."""

from __future__ import annotations

from typing import Any

import pytest

from sinks.alerts import ALERT_FIELDS, AlertSpec, alert_query, alerts_mappings
from sinks.mapping import mappings
from sinks.percolate import PAGE, AlertRef, PercolateMatcher, SearchMatcher
from sinks.search import SearchRequest, build_search

FULL = AlertSpec(
    "full",
    query="ceasefire talks",
    people=("Sergei Lavrov",),
    organizations=("Hamas",),
    places=("Gaza", "Israel"),
    entities=("Putin",),
    entity_types=("PERSON",),
    publishers=("Daily Ledger",),
    agencies=("Reuters",),
    stories=("s-1",),
    updates=True,
    webhook="https://hooks.example.com/x",
)


@pytest.mark.parametrize(
    "spec",
    [
        FULL,
        AlertSpec("words", query="Hamas"),
        AlertSpec("phrase", query='"humanitarian catastrophe"'),
        AlertSpec("filters-only", people=("Benjamin Netanyahu",), agencies=("AP", "Reuters")),
        AlertSpec("typed", entity_types=("ORG",)),
        AlertSpec("everything"),
    ],
)
def test_an_alert_stores_the_query_search_runs_for_the_same_words_and_filters(
    spec: AlertSpec,
) -> None:
    searched = build_search(spec.request())["query"]
    assert alert_query(spec) == searched
    # Canonical only, as search shows by default: wire copies never match on their own.
    assert {"term": {"is_canonical": True}} in alert_query(spec)["bool"]["filter"]


def test_the_request_carries_every_filter_and_nothing_an_alert_cannot_use() -> None:
    request = FULL.request()
    assert request == SearchRequest(
        query="ceasefire talks",
        people=("Sergei Lavrov",),
        organizations=("Hamas",),
        places=("Gaza", "Israel"),
        entities=("Putin",),
        entity_types=("PERSON",),
        publishers=("Daily Ledger",),
        agencies=("Reuters",),
        stories=("s-1",),
    )
    assert request.since is None
    assert request.until is None
    assert not request.include_duplicates


def test_a_spec_survives_the_round_trip_through_its_stored_form() -> None:
    assert AlertSpec.from_dict(FULL.to_dict()) == FULL
    assert FULL.to_dict()["places"] == ["Gaza", "Israel"]  # JSON lists, not tuples
    assert AlertSpec.from_dict({**FULL.to_dict(), "added_later": 1}) == FULL


@pytest.mark.parametrize("name", ["", "-lead", "has space", "a/b", "x" * 65, "é"])
def test_names_are_safe_as_ids(name: str) -> None:
    with pytest.raises(ValueError, match="not an alert name"):
        AlertSpec(name)


def test_filters_text_reads_like_the_command_line() -> None:
    assert AlertSpec("a", people=("Sergei Lavrov",), agencies=("AP",)).filters_text() == (
        "--person 'Sergei Lavrov' --agency 'AP'"
    )


def test_the_alerts_mapping_is_the_articles_plus_the_alert_and_the_stored_query() -> None:
    articles = mappings("english")
    for matcher, stored in (
        ("percolator", {"type": "percolator"}),
        ("search", {"type": "object", "enabled": False}),
    ):
        body = alerts_mappings(articles, matcher, "articles-v3")  # type: ignore[arg-type]
        assert body["properties"]["query"] == stored
        assert body["_meta"]["matcher"] == matcher
        assert body["_meta"]["articles_index"] == "articles-v3"
        assert body["dynamic"] is False  # a newer worker's extra field is ignored, not refused
        for name, field in articles["properties"].items():
            assert body["properties"][name] == field
        assert set(body["properties"]) == {*articles["properties"], *ALERT_FIELDS, "query"}
    assert articles["dynamic"] == "strict"  # the articles' own mapping is left as it was


def test_an_article_field_named_like_an_alert_field_is_refused() -> None:
    articles = mappings("english")
    articles["properties"]["probe"] = {"type": "keyword"}
    with pytest.raises(RuntimeError, match="clash"):
        alerts_mappings(articles, "search", "articles-v1")


class FakeES:
    """Answers ``search``, ``bulk`` and ``msearch`` from scripts; records every call."""

    def __init__(self, searches: list[dict[str, Any]] | None = None) -> None:
        self.searches = list(searches or [])
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.msearch_answer: Any = None

    def search(self, **params: Any) -> dict[str, Any]:
        self.calls.append(("search", params))
        return self.searches.pop(0)

    def bulk(self, **params: Any) -> dict[str, Any]:
        self.calls.append(("bulk", params))
        return {"errors": False, "items": []}

    def msearch(self, **params: Any) -> dict[str, Any]:
        self.calls.append(("msearch", params))
        if isinstance(self.msearch_answer, BaseException):
            raise self.msearch_answer
        return self.msearch_answer(params["searches"])


def hit(name: str, slots: list[int] | None = None, **extra: Any) -> dict[str, Any]:
    found: dict[str, Any] = {
        "_id": name,
        "_source": {"alert": {"name": name, "updates": name.endswith("+"), "webhook": None}},
        "sort": [name],
        **extra,
    }
    if slots is not None:
        found["fields"] = {"_percolator_document_slot": slots}
    return found


def test_the_percolator_gets_the_whole_batch_and_each_hit_says_which_documents() -> None:
    es = FakeES([{"hits": {"hits": [hit("a", [0, 2]), hit("b+", [1])]}}])
    found = PercolateMatcher(es, "alerts").match([{"n": 0}, {"n": 1}, {"n": 2}])  # type: ignore[arg-type]
    assert found == [[AlertRef("a")], [AlertRef("b+", updates=True)], [AlertRef("a")]]
    ((_, params),) = es.calls
    assert params["query"] == {
        "percolate": {"field": "query", "documents": [{"n": 0}, {"n": 1}, {"n": 2}]}
    }
    assert params["index"] == "alerts"


def test_the_percolator_pages_through_many_matching_alerts() -> None:
    first = [hit(f"a{n:05d}", [0]) for n in range(PAGE)]
    es = FakeES([{"hits": {"hits": first}}, {"hits": {"hits": [hit("zz", [0])]}}])
    found = PercolateMatcher(es, "alerts").match([{"n": 0}])  # type: ignore[arg-type]
    assert len(found[0]) == PAGE + 1
    assert es.calls[1][1]["search_after"] == [f"a{PAGE - 1:05d}"]


def saved(*names: str) -> dict[str, Any]:
    return {
        "hits": {
            "hits": [
                {
                    "_source": {
                        "alert": {"name": n, "updates": False, "webhook": None},
                        "query": {"match": {"body": n}},
                    }
                }
                for n in names
            ]
        }
    }


def test_search_matching_probes_the_batch_runs_each_alert_on_it_and_cleans_up() -> None:
    es = FakeES([saved("a", "broken", "b")])

    def answer(searches: list[dict[str, Any]]) -> dict[str, Any]:
        tag = searches[1]["query"]["bool"]["filter"][0]["term"]["probe"]
        return {
            "responses": [
                {"hits": {"hits": [{"_id": f"probe-{tag}-1"}]}},
                {"error": {"type": "query_shard_exception"}},
                {"hits": {"hits": [{"_id": f"probe-{tag}-0"}, {"_id": f"probe-{tag}-1"}]}},
            ]
        }

    es.msearch_answer = answer
    matcher = SearchMatcher(es, "alerts", reload_seconds=60)  # type: ignore[arg-type]
    found = matcher.match([{"n": 0}, {"n": 1}])
    assert found == [[AlertRef("b")], [AlertRef("a"), AlertRef("b")]]  # "broken" is skipped
    kinds = [kind for kind, _ in es.calls]
    assert kinds == ["search", "bulk", "msearch", "bulk"]
    written = es.calls[1][1]
    assert written["refresh"] is True
    tags = {op["probe"] for op in written["operations"][1::2]}
    assert len(tags) == 1
    deleted = es.calls[3][1]["operations"]
    assert [op["delete"]["_id"] for op in deleted] == [
        op["index"]["_id"] for op in written["operations"][0::2]
    ]


def test_search_matching_deletes_its_probes_even_when_the_search_fails() -> None:
    es = FakeES([saved("a")])
    es.msearch_answer = ConnectionError("down")
    with pytest.raises(ConnectionError):
        SearchMatcher(es, "alerts", reload_seconds=60).match([{"n": 0}])  # type: ignore[arg-type]
    assert [kind for kind, _ in es.calls] == ["search", "bulk", "msearch", "bulk"]


def test_search_matching_rereads_alerts_only_when_they_are_old() -> None:
    now = [0.0]
    es = FakeES([saved(), saved("a")])
    matcher = SearchMatcher(es, "alerts", reload_seconds=5, clock=lambda: now[0])  # type: ignore[arg-type]
    assert matcher.match([{"n": 0}]) == [[]]  # no alert: nothing written, nothing searched
    now[0] = 4.9
    assert matcher.alerts() == []
    now[0] = 5.0
    assert [ref.name for ref, _ in matcher.alerts()] == ["a"]
    assert [kind for kind, _ in es.calls] == ["search", "search"]
