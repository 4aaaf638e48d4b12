"""One story's view (``sinks.story``), its rendering and ``wirehose stories``, without
Elasticsearch: canned responses and a scripted client."""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner
from elastic_transport import ApiResponseMeta, HttpHeaders, NodeConfig
from elasticsearch import NotFoundError
from rich.console import Console

from sinks import story as story_module
from sinks.render import renderable as search_renderable
from sinks.request import SearchRequest
from sinks.results import parse_response
from sinks.story import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    StoryView,
    build_lookup,
    build_story,
    parse_story,
    resolve,
    story,
)
from sinks.story_render import elapsed, format_time, render
from wirehose.cli import cli
from wirehose.cli import stories as stories_cli
from wirehose.core.errors import ServiceError, StoryNotFound
from wirehose.core.settings import Settings

SID = "5d41402abc4b2a76b9719d911017c592"


def source(article_id: str, **fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "article_id": article_id,
        "title": f"Title {article_id}",
        "url": f"https://example.com/{article_id}",
        "publisher": "Daily Ledger",
        "agencies": [],
        "date": "2023-10-16T12:00:00+00:00",
        "published_at": "2023-10-16T12:00:00+00:00",
        "is_canonical": True,
        "duplicate_of": None,
        "similarity": None,
    }
    base.update(fields)
    return {"_id": article_id, "_source": base}


# As Elasticsearch answers build_story: hits already in event-time order.
STORY_RESPONSE: dict[str, Any] = {
    "took": 4,
    "hits": {
        "total": {"value": 4, "relation": "eq"},
        "hits": [
            source("a1", title="Netanyahu [told] Putin", agencies=["Reuters"]),
            source(
                "a2", publisher="Metro Wire", is_canonical=False, duplicate_of="a1",
                similarity=0.93, agencies=["Reuters"],
            ),
            source(
                "a3", publisher="Coastal Times", date="2023-10-16T14:35:00+00:00",
                published_at=None, is_canonical=False, duplicate_of="zz-not-listed",
                similarity=0.88,
            ),
            source("a4", publisher="Global Post", date="2023-10-18T15:00:00+00:00"),
        ],
    },
    "aggregations": {
        "outlets": {"buckets": [
            {"key": "Daily Ledger", "doc_count": 1}, {"key": "Metro Wire", "doc_count": 1},
            {"key": "Coastal Times", "doc_count": 1}, {"key": "Global Post", "doc_count": 1},
        ]},
        "outlet_count": {"value": 4},
        "agencies": {"buckets": [{"key": "Reuters", "doc_count": 2}]},
        "copies": {"doc_count": 2},
        "first": {"value": 1.0, "value_as_string": "2023-10-16T12:00:00.000Z"},
        "last": {"value": 2.0, "value_as_string": "2023-10-18T15:00:00.000Z"},
    },
}  # fmt: skip
EMPTY: dict[str, Any] = {"took": 1, "hits": {"total": {"value": 0}, "hits": []}}


def view(response: dict[str, Any] = STORY_RESPONSE) -> StoryView:
    return parse_story(response, SID, index="articles")


def lookup_response(story_ids: list[str], article: dict[str, Any] | None = None) -> dict:
    hits = [{"_id": "x", "_source": article}] if article is not None else []
    return {
        "hits": {"total": {"value": len(story_ids) + len(hits)}, "hits": []},
        "aggregations": {
            "prefixed": {"ids": {"buckets": [{"key": s, "doc_count": 1} for s in story_ids]}},
            "article": {"hit": {"hits": {"hits": hits}}},
        },
    }


class ScriptedSearch:
    """Answers each ``search`` with the next scripted response (or raises it)."""

    def __init__(self, *responses: dict[str, Any] | BaseException) -> None:
        self.responses = list(responses)
        self.calls: list[dict[str, Any]] = []

    def search(self, **params: Any) -> dict[str, Any]:
        self.calls.append(params)
        answer = self.responses.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return answer


def settings() -> Settings:
    return Settings(es_url="http://127.0.0.1:9", index_alias="articles")


# --- the request ----------------------------------------------------------------------------------
def test_the_request_filters_one_story_earliest_first_with_whole_story_counts() -> None:
    body = build_story(SID, limit=20)
    assert body["query"] == {"bool": {"filter": [{"term": {"story_id": SID}}]}}
    assert body["sort"] == [
        {"date": {"order": "asc", "missing": "_last"}},
        {"is_canonical": {"order": "desc"}},  # the original before its copies at one instant
        {"article_id": {"order": "asc"}},
    ]
    assert body["size"] == 20
    assert body["track_total_hits"] is True
    assert {"date", "published_at", "publisher", "title", "url", "duplicate_of"} <= set(
        body["_source"]
    )
    assert "body" not in body["_source"]
    assert body["aggs"]["outlets"]["terms"]["field"] == "publisher"
    assert body["aggs"]["agencies"]["terms"]["field"] == "agencies"
    assert body["aggs"]["copies"] == {"filter": {"term": {"is_canonical": False}}}
    assert build_story(SID)["size"] == DEFAULT_LIMIT


def test_the_lookup_asks_for_prefixed_stories_and_the_article_with_that_id() -> None:
    body = build_lookup("5d41")
    assert body["size"] == 0
    assert body["aggs"]["prefixed"]["filter"] == {"prefix": {"story_id": "5d41"}}
    assert body["aggs"]["article"]["filter"] == {"term": {"article_id": "5d41"}}


# --- parsing --------------------------------------------------------------------------------------
def test_parse_keeps_order_links_copies_and_names_the_first_report() -> None:
    parsed = view()
    assert [a.article_id for a in parsed.articles] == ["a1", "a2", "a3", "a4"]
    first = parsed.first_report
    assert first is not None
    assert first.article_id == "a1"
    assert parsed.articles[0].copies == ["a2"]  # a3 copies an article that is not listed
    assert parsed.articles[1].duplicate_of == "a1"
    assert parsed.articles[1].similarity == 0.93
    assert parsed.articles[2].published_at is None
    assert (parsed.total, parsed.copies, parsed.outlet_count) == (4, 2, 4)
    assert [(c.name, c.count) for c in parsed.agencies] == [("Reuters", 2)]
    assert parsed.first_date == "2023-10-16T12:00:00.000Z"
    assert not parsed.truncated


def test_to_dict_is_stable_and_json_ready() -> None:
    as_dict = view().to_dict()
    assert list(as_dict) == [
        "story_id", "index", "total", "shown", "truncated", "copies", "outlet_count", "outlets",
        "agencies", "first_date", "last_date", "first_report", "articles", "took_ms",
    ]  # fmt: skip
    assert list(as_dict["articles"][0]) == [
        "article_id", "date", "published_at", "publisher", "agencies", "title", "url",
        "is_canonical", "duplicate_of", "similarity", "copies",
    ]  # fmt: skip
    assert as_dict["first_report"]["article_id"] == "a1"
    assert as_dict["outlets"][0] == {"name": "Daily Ledger", "count": 1}
    assert json.loads(json.dumps(as_dict)) == as_dict


def test_a_list_shorter_than_the_story_is_truncated() -> None:
    response = {**STORY_RESPONSE, "hits": {**STORY_RESPONSE["hits"], "total": {"value": 812}}}
    parsed = view(response)
    assert parsed.truncated
    assert parsed.to_dict()["shown"] == 4
    assert parsed.to_dict()["total"] == 812


# --- resolving an id that named no story ------------------------------------------------------------
def test_a_unique_prefix_resolves_to_the_full_id() -> None:
    assert resolve(lookup_response([SID]), "5d41402abc4b", index="articles") == SID


def test_an_ambiguous_prefix_lists_the_candidates() -> None:
    with pytest.raises(StoryNotFound, match=r"several story ids.*5d41aa.*give more characters"):
        resolve(lookup_response(["5d41aa", "5d41bb"]), "5d41", index="articles")


def test_an_article_id_says_which_story_it_belongs_to() -> None:
    with pytest.raises(StoryNotFound, match=f"is an article.*`wirehose stories {SID}`"):
        resolve(lookup_response([], {"story_id": SID}), "a9", index="articles")
    with pytest.raises(StoryNotFound, match="not clustered"):
        resolve(lookup_response([], {"story_id": None}), "a9", index="articles")


def test_an_unknown_id_says_where_story_ids_are_listed() -> None:
    with pytest.raises(StoryNotFound) as caught:
        resolve(lookup_response([]), "nope", index="articles")
    message = str(caught.value)
    assert "no story 'nope' in index 'articles'" in message
    assert "`wirehose search`" in message
    assert "stories facet" in message


# --- story() with a scripted client ----------------------------------------------------------------
def test_a_known_id_costs_one_request_through_the_alias() -> None:
    client = ScriptedSearch(STORY_RESPONSE)
    result = story(settings(), f" {SID} ", limit=50, client=client)  # type: ignore[arg-type]
    assert result.story_id == SID
    assert result.total == 4
    assert len(client.calls) == 1
    assert client.calls[0]["index"] == "articles"
    assert client.calls[0]["size"] == 50


def test_a_prefix_is_looked_up_then_the_full_story_read() -> None:
    client = ScriptedSearch(EMPTY, lookup_response([SID]), STORY_RESPONSE)
    result = story(settings(), SID[:12], client=client)  # type: ignore[arg-type]
    assert result.story_id == SID
    assert client.calls[2]["query"] == {"bool": {"filter": [{"term": {"story_id": SID}}]}}


def test_an_unknown_id_raises_story_not_found() -> None:
    client = ScriptedSearch(EMPTY, lookup_response([]))
    with pytest.raises(StoryNotFound, match="no story 'nope'"):
        story(settings(), "nope", client=client)  # type: ignore[arg-type]


def test_a_missing_index_says_what_to_run() -> None:
    meta = ApiResponseMeta(
        status=404, http_version="1.1", headers=HttpHeaders(), duration=0.0,
        node=NodeConfig("http", "localhost", 9200),
    )  # fmt: skip
    missing = NotFoundError("index_not_found_exception", meta, {})
    with pytest.raises(ServiceError, match="wirehose index create"):
        story(settings(), SID, client=ScriptedSearch(missing))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("story_id", "limit", "message"),
    [("  ", 10, "story id is required"), (SID, 0, "limit must be"), (SID, MAX_LIMIT + 1, "limit")],
)
def test_bad_arguments_are_refused_before_any_request(
    story_id: str, limit: int, message: str
) -> None:
    client = ScriptedSearch()
    with pytest.raises(ValueError, match=message):
        story(settings(), story_id, limit=limit, client=client)  # type: ignore[arg-type]
    assert client.calls == []


# --- rendering -----------------------------------------------------------------------------------
def rendered(parsed: StoryView) -> str:
    console = Console(record=True, width=160, color_system=None)
    render(parsed, console)
    return console.export_text()


def test_render_shows_the_order_copies_first_report_and_outlets() -> None:
    text = rendered(view())
    assert f"Story {SID}" in text
    assert "4 articles (2 wire copies) from 4 outlets" in text
    assert "2023-10-16 12:00 to 2023-10-18 15:00 UTC" in text
    assert "First report: #1, Daily Ledger, 2023-10-16 12:00 UTC" in text
    assert "Netanyahu [told] Putin" in text  # brackets printed, not taken for markup
    assert "wire copy of #1 (Daily Ledger), similarity 0.93" in text
    assert "copied by #2" in text
    assert "wire copy of zz-not-listed (not listed)" in text
    assert "fetched" in text  # a3 has no publication time
    assert "+2h 35m" in text
    assert "+2d 3h" in text
    assert text.index("Metro Wire") < text.index("Global Post")
    assert "Outlets" in text
    assert "Agencies" in text
    assert "Reuters" in text
    assert "Showing the first" not in text


def test_render_says_when_the_list_is_cut_short() -> None:
    response = {**STORY_RESPONSE, "hits": {**STORY_RESPONSE["hits"], "total": {"value": 812}}}
    text = rendered(view(response))
    assert "Showing the first 4 of 812 articles" in text
    assert "--limit 812" in text


def test_time_helpers() -> None:
    assert format_time("2023-10-16T14:05:00+02:00") == "2023-10-16 12:05"
    assert format_time("2023-10-16T12:00:00.000Z") == "2023-10-16 12:00"
    assert format_time(None) == "-"
    assert elapsed("2023-10-16T12:00:00Z", "2023-10-16T12:00:00Z") == "+0m"
    assert elapsed("2023-10-16T12:00:00Z", "2023-10-16T12:45:00Z") == "+45m"
    assert elapsed("2023-10-16T12:00:00Z", None) == ""


def test_search_output_says_how_to_open_a_story() -> None:
    hits: list[dict[str, Any]] = [
        {"_id": "u1", "_source": {"article_id": "u1", "title": "Unclustered"}},
        {"_id": "a1", "_source": {"article_id": "a1", "title": "T", "story_id": SID}},
    ]
    response = {"took": 1, "hits": {"total": {"value": 2}, "hits": hits}}
    console = Console(record=True, width=200, color_system=None)
    console.print(search_renderable(parse_response(response, SearchRequest())))
    assert f"wirehose stories {SID}" in console.export_text()
    alone = {"took": 1, "hits": {"total": {"value": 1}, "hits": hits[:1]}}
    console = Console(record=True, width=200, color_system=None)
    console.print(search_renderable(parse_response(alone, SearchRequest())))
    assert "wirehose stories" not in console.export_text()


# --- the command ---------------------------------------------------------------------------------
def test_the_command_defaults_match_the_module() -> None:
    assert (stories_cli.DEFAULT_LIMIT, stories_cli.MAX_LIMIT) == (DEFAULT_LIMIT, MAX_LIMIT)


def test_the_command_prints_json_and_fails_clearly(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[tuple[str, int]] = []

    def fake(_settings: Settings, story_id: str, *, limit: int) -> StoryView:
        asked.append((story_id, limit))
        if story_id == "nope":
            raise StoryNotFound("no story 'nope' in index 'articles'; `wirehose search` ...")
        return view()

    monkeypatch.setattr(story_module, "story", fake)
    as_json = CliRunner().invoke(cli, ["stories", SID, "--json", "-n", "3"])
    assert as_json.exit_code == 0, as_json.output
    assert json.loads(as_json.output)["first_report"]["article_id"] == "a1"
    table = CliRunner().invoke(cli, ["stories", SID])
    assert table.exit_code == 0, table.output
    assert "First report" in table.output
    unknown = CliRunner().invoke(cli, ["stories", "nope"])
    assert unknown.exit_code == 1
    assert "no story 'nope'" in unknown.output
    assert asked == [(SID, 3), (SID, DEFAULT_LIMIT), ("nope", DEFAULT_LIMIT)]


def test_the_headline_is_the_earliest_title_an_untitled_paste_is_passed_over() -> None:
    response = {
        **STORY_RESPONSE,
        "hits": {"total": {"value": 2}, "hits": [source("p0", title=""), source("p1")]},
    }
    text = rendered(view(response))
    assert text.splitlines()[1].strip() == "Title p1"
    assert "(untitled)" in text


def test_the_help_teaches_with_examples() -> None:
    output = CliRunner().invoke(cli, ["stories", "--help"]).output
    assert "Examples:" in output
    assert "unique prefix" in output
