"""The search timeline without Elasticsearch: its query, the range and its limit, parsing, the
JSON and the terminal table. A small fake answers the two timeline requests from a list of
documents the way Elasticsearch would (empty intervals included)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest
from click.testing import CliRunner
from rich.console import Console

import sinks.search
from sinks.render import bar, render, timeline_table
from sinks.results import SearchResult
from sinks.search import SearchRequest, build_timeline, build_timeline_range, fetch_timeline
from sinks.timeline import (
    MAX_INTERVALS,
    PRECISION_THRESHOLD,
    Timeline,
    TimelineBucket,
    check_length,
    interval_count,
    parse_timeline,
    resolve_when,
)
from wirehose.cli import cli
from wirehose.core.errors import TimelineTooLong

NOW = datetime(2023, 10, 20, 15, 30, 45, tzinfo=UTC)


def at(day: int, hour: int = 0, month: int = 10) -> datetime:
    return datetime(2023, month, day, hour, tzinfo=UTC)


def millis(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def doc(when: datetime, story: str | None, publisher: str, *, copy: bool = False) -> dict[str, Any]:
    return {"date": when, "story_id": story, "publisher": publisher, "is_canonical": not copy}


# One story (s1) told by Daily Ledger, copied the same day by Metro Wire and the next day by
# Coastal Times; a second story the same day; a third three days later.
DOCS = [
    doc(at(16, 12), "s1", "Daily Ledger"),
    doc(at(16, 13), "s1", "Metro Wire", copy=True),
    doc(at(16, 14), "s2", "Daily Ledger"),
    doc(at(17, 9), "s1", "Coastal Times", copy=True),
    doc(at(19, 8), "s3", "Global Post"),
]


class FakeElasticsearch:
    """Answers the timeline's range and histogram requests from ``docs``, like Elasticsearch:
    the ``is_canonical`` and ``date`` range filters apply, and every interval from the extended
    bounds to the data is returned, with distinct counts per interval."""

    def __init__(self, docs: list[dict[str, Any]]) -> None:
        self.docs = docs
        self.bodies: list[dict[str, Any]] = []

    def search(self, *, index: str, **body: Any) -> dict[str, Any]:
        self.bodies.append(body)
        docs = [d for d in self.docs if self._matches(d, body["query"]["bool"]["filter"])]
        aggs = body["aggs"]
        if "first" in aggs:
            dates = [millis(d["date"]) for d in docs]
            first, last = (min(dates), max(dates)) if dates else (None, None)
            return {"aggregations": {"first": {"value": first}, "last": {"value": last}}}
        spec = aggs["timeline"]["date_histogram"]
        step = timedelta(days=1) if spec["calendar_interval"] == "day" else timedelta(hours=1)
        low = min([spec["extended_bounds"]["min"], *(millis(d["date"]) for d in docs)])
        high = max([spec["extended_bounds"]["max"], *(millis(d["date"]) for d in docs)])
        start = datetime.fromtimestamp(low / 1000, tz=UTC)
        start = start.replace(minute=0, second=0, microsecond=0)
        if step == timedelta(days=1):
            start = start.replace(hour=0)
        buckets = []
        while millis(start) <= high:
            inside = [d for d in docs if start <= d["date"] < start + step]
            buckets.append(
                {
                    "key": millis(start),
                    "doc_count": len(inside),
                    "stories": {"value": len({d["story_id"] for d in inside if d["story_id"]})},
                    "outlets": {"value": len({d["publisher"] for d in inside})},
                }
            )
            start += step
        return {"aggregations": {"timeline": {"buckets": buckets}}}

    @staticmethod
    def _matches(document: dict[str, Any], clauses: list[dict[str, Any]]) -> bool:
        for clause in clauses:
            if clause == {"term": {"is_canonical": True}} and not document["is_canonical"]:
                return False
            if "range" in clause:
                bounds = clause["range"]["date"]
                if "gte" in bounds and document["date"] < resolve_when(bounds["gte"], now=NOW):
                    return False
                lte = bounds.get("lte")
                if lte and document["date"] > resolve_when(lte, now=NOW, round_up=True):
                    return False
        return True


def timeline_of(es: FakeElasticsearch, request: SearchRequest) -> Timeline:
    return fetch_timeline(cast(Any, es), "articles", request, now=NOW)


def rows(timeline: Timeline) -> list[tuple[str, int, int, int]]:
    return [
        (b.start.strftime("%m-%d %H"), b.articles, b.stories, b.outlets) for b in timeline.buckets
    ]


def test_the_timeline_query_counts_copies_under_the_search_filters() -> None:
    request = SearchRequest(query="Hamas", publishers=("Daily Ledger",), timeline="day")
    body = build_timeline(request, at(15), at(20, 23))
    clauses = body["query"]["bool"]["filter"]
    assert {"term": {"is_canonical": True}} not in clauses  # copies count as articles
    assert {"terms": {"publisher.folded": ["Daily Ledger"]}} in clauses
    assert body["query"]["bool"]["must"][0]["multi_match"]["query"] == "Hamas"
    assert body["size"] == 0
    assert body["aggs"]["timeline"] == {
        "date_histogram": {
            "field": "date",
            "calendar_interval": "day",
            "time_zone": "UTC",
            "min_doc_count": 0,
            "extended_bounds": {"min": millis(at(15)), "max": millis(at(20, 23))},
        },
        "aggs": {
            "stories": {"cardinality": {"field": "story_id", "precision_threshold": 40_000}},
            "outlets": {"cardinality": {"field": "publisher", "precision_threshold": 40_000}},
        },
    }
    assert PRECISION_THRESHOLD == 40_000
    probe = build_timeline_range(request)
    assert probe["query"] == body["query"]
    assert probe["aggs"] == {
        "first": {"min": {"field": "date"}},
        "last": {"max": {"field": "date"}},
    }


def test_per_day_copies_add_articles_not_stories_and_empty_days_are_zero() -> None:
    es = FakeElasticsearch(DOCS)
    request = SearchRequest(since="2023-10-15", until="2023-10-20", timeline="day")
    timeline = timeline_of(es, request)
    assert rows(timeline) == [
        ("10-15 00", 0, 0, 0),
        ("10-16 00", 3, 2, 2),  # A and its copy B: one story; D another; two outlets
        ("10-17 00", 1, 1, 1),  # C, a copy a day late: s1 had attention that day too
        ("10-18 00", 0, 0, 0),
        ("10-19 00", 1, 1, 1),
        ("10-20 00", 0, 0, 0),
    ]
    assert len(es.bodies) == 1  # both ends given: no request for the data's range


def test_open_ends_follow_the_matching_articles() -> None:
    es = FakeElasticsearch(DOCS)
    timeline = timeline_of(es, SearchRequest(timeline="day"))
    assert [r[0] for r in rows(timeline)] == ["10-16 00", "10-17 00", "10-18 00", "10-19 00"]
    assert len(es.bodies) == 2
    assert es.bodies[1]["aggs"]["timeline"]["date_histogram"]["extended_bounds"] == {
        "min": millis(at(16, 12)),
        "max": millis(at(19, 8)),
    }


def test_hourly_until_a_bare_date_reaches_the_last_hour_of_that_day() -> None:
    es = FakeElasticsearch(DOCS)
    request = SearchRequest(since="2023-10-16T10:00:00Z", until="2023-10-16", timeline="hour")
    timeline = timeline_of(es, request)
    assert len(timeline.buckets) == 14  # 10:00 .. 23:00
    assert rows(timeline)[2:5] == [
        ("10-16 12", 1, 1, 1),
        ("10-16 13", 1, 1, 1),
        ("10-16 14", 1, 1, 1),
    ]
    assert rows(timeline)[-1] == ("10-16 23", 0, 0, 0)


def test_nothing_matching_or_an_empty_range_asks_for_no_histogram() -> None:
    es = FakeElasticsearch([])
    assert timeline_of(es, SearchRequest(timeline="day")).buckets == ()
    backwards = SearchRequest(since="2023-10-20", until="2023-10-10", timeline="day")
    assert timeline_of(es, backwards).buckets == ()
    assert len(es.bodies) == 1


def test_a_timeline_too_long_is_refused_before_counting() -> None:
    es = FakeElasticsearch(DOCS)
    request = SearchRequest(since="2022-01-01", until="2023-12-31", timeline="hour")
    with pytest.raises(TimelineTooLong, match=r"17,520 intervals .*narrow --since/--until or use"):
        timeline_of(es, request)
    assert es.bodies == []
    daily = SearchRequest(since="2022-01-01", until="2023-12-31", timeline="day")
    assert len(timeline_of(es, daily).buckets) == 730


def test_the_limit_is_on_intervals_touched() -> None:
    start = at(1)
    assert (
        interval_count(start, start + timedelta(hours=MAX_INTERVALS - 1), "hour") == MAX_INTERVALS
    )
    check_length(start, start + timedelta(hours=MAX_INTERVALS - 1), "hour")
    with pytest.raises(TimelineTooLong, match="10,001"):
        check_length(start, start + timedelta(hours=MAX_INTERVALS), "hour")
    assert interval_count(at(1, 23), at(2, 0), "day") == 2
    assert interval_count(at(2), at(1), "day") == 0
    with pytest.raises(TimelineTooLong) as refused:
        check_length(datetime(1990, 1, 1, tzinfo=UTC), at(1), "day")
    assert "use --timeline day" not in str(refused.value)


@pytest.mark.parametrize(
    ("expression", "round_up", "expected"),
    [
        ("2023-12-10", False, datetime(2023, 12, 10, tzinfo=UTC)),
        ("2023-12-10||/d", True, datetime(2023, 12, 10, 23, 59, 59, 999000, tzinfo=UTC)),
        ("2023-12-10||/d", False, datetime(2023, 12, 10, tzinfo=UTC)),
        ("2023-12-10T16:15:00+02:00", False, datetime(2023, 12, 10, 14, 15, tzinfo=UTC)),
        ("2023-12-10T16:15:00", False, datetime(2023, 12, 10, 16, 15, tzinfo=UTC)),
        ("now", True, NOW),
        ("now-7d", False, NOW - timedelta(days=7)),
        ("now-12h", False, NOW - timedelta(hours=12)),
        ("now-1w/d", False, datetime(2023, 10, 13, tzinfo=UTC)),
        ("now/w", False, datetime(2023, 10, 16, tzinfo=UTC)),  # the Monday
        ("now/M", True, datetime(2023, 10, 31, 23, 59, 59, 999000, tzinfo=UTC)),
        ("now-1y/y", False, datetime(2022, 1, 1, tzinfo=UTC)),
        ("now+1h/h", False, datetime(2023, 10, 20, 16, tzinfo=UTC)),
        ("2024-01-31T10:00:00+00:00||+1M", False, datetime(2024, 2, 29, 10, tzinfo=UTC)),
        ("2024-03-31||-1M/d", False, datetime(2024, 2, 29, tzinfo=UTC)),
    ],
)
def test_resolve_when_reads_dates_as_elasticsearch_does(
    expression: str, round_up: bool, expected: datetime
) -> None:
    assert resolve_when(expression, now=NOW, round_up=round_up) == expected


def test_resolve_when_refuses_what_it_cannot_read() -> None:
    with pytest.raises(ValueError, match="date math"):
        resolve_when("now-7x", now=NOW)


RESPONSE: dict[str, Any] = {
    "aggregations": {
        "timeline": {
            "buckets": [
                {"key": millis(at(16)), "key_as_string": "x", "doc_count": 3,
                 "stories": {"value": 2}, "outlets": {"value": 2}},
                {"key": millis(at(17)), "doc_count": 0,
                 "stories": {"value": 0}, "outlets": {"value": 0}},
            ]
        }
    }
}  # fmt: skip


def test_parse_keeps_empty_intervals_and_the_json_is_plain() -> None:
    timeline = parse_timeline(RESPONSE, "day")
    assert timeline.buckets == (
        TimelineBucket(start=at(16), articles=3, stories=2, outlets=2),
        TimelineBucket(start=at(17), articles=0, stories=0, outlets=0),
    )
    result = SearchResult(total=1, stories=1, took_ms=1, hits=[], facets={})
    assert "timeline" not in result.to_dict()
    result.timeline = timeline
    payload = json.loads(json.dumps(result.to_dict()))
    assert payload["timeline"] == {
        "interval": "day",
        "time_zone": "UTC",
        "buckets": [
            {"start": "2023-10-16T00:00:00Z", "articles": 3, "stories": 2, "outlets": 2},
            {"start": "2023-10-17T00:00:00Z", "articles": 0, "stories": 0, "outlets": 0},
        ],
    }


def test_the_terminal_table_has_a_row_per_interval_and_bars() -> None:
    assert bar(0, 10) == ""
    assert bar(10, 10, width=4) == "████"
    assert bar(5, 10, width=4) == "██"
    assert bar(1, 1000, width=4) == "▏"  # quiet, not empty
    console = Console(record=True, width=100, color_system=None)
    console.print(timeline_table(parse_timeline(RESPONSE, "day")))
    lines = console.export_text().splitlines()
    assert any("per day (UTC)" in line for line in lines)
    assert any(line.split()[:4] == ["2023-10-16", "3", "2", "2"] for line in lines)
    assert any(line.split() == ["2023-10-17", "0", "0", "0"] for line in lines)
    hourly = Console(record=True, width=100, color_system=None)
    hourly.print(timeline_table(Timeline("hour", (TimelineBucket(at(16, 13), 1, 1, 1),))))
    assert "2023-10-16 13:00" in hourly.export_text()


def test_render_shows_the_timeline_even_without_hits() -> None:
    result = SearchResult(total=0, stories=0, took_ms=1, hits=[], facets={})
    result.timeline = parse_timeline(RESPONSE, "day")
    console = Console(record=True, width=100, color_system=None)
    render(result, console)
    assert "2023-10-17" in console.export_text()


def test_cli_asks_for_the_timeline_and_explains_a_refusal(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[SearchRequest] = []

    def fake_search(settings: object, request: SearchRequest) -> SearchResult:
        asked.append(request)
        if request.timeline == "hour":
            raise TimelineTooLong("--timeline hour ... would have 17,520 intervals")
        result = SearchResult(total=0, stories=0, took_ms=1, hits=[], facets={})
        result.timeline = parse_timeline(RESPONSE, "day")
        return result

    monkeypatch.setattr(sinks.search, "search", fake_search)
    daily = CliRunner().invoke(cli, ["search", "x", "--since", "7d", "--timeline", "day", "--json"])
    assert daily.exit_code == 0, daily.output
    assert asked[0].timeline == "day"
    assert asked[0].since == "7d"
    assert json.loads(daily.output)["timeline"]["buckets"][0]["articles"] == 3
    hourly = CliRunner().invoke(cli, ["search", "x", "--timeline", "hour"])
    assert hourly.exit_code == 2
    assert "17,520 intervals" in hourly.output
    bad = CliRunner().invoke(cli, ["search", "x", "--until", "now-3q"])
    assert bad.exit_code == 2
    assert "--until" in bad.output
