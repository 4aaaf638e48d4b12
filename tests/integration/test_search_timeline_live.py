"""The search timeline on the real Elasticsearch: per-day and per-hour articles, stories and
outlets, copies counted as articles but not as stories, empty intervals as 0.

The corpus, early November 2023 (UTC); every article but X mentions a ceasefire:

    11-01  A  s-truce  Daily Ledger    09:00
           A1 copy of A, Metro Wire    10:00
           B  s-aid    Daily Ledger    11:00
           A2 copy of A, Coastal Times 15:00
    11-02  A3 copy of A, Global Post   08:00   (a copy a day late)
           C  s-talks  Global Post     20:00
    11-03  X  s-markets Capital Report 12:00   (no ceasefire)
    11-04  D  s-talks  Evening Star    06:00
           D1 copy of D, Metro Wire    06:30
           U  no story, Capital Report 07:00   (never clustered)
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from click.testing import CliRunner
from elasticsearch import Elasticsearch

from sinks.elasticsearch import ElasticsearchSink
from sinks.search import SearchRequest, search
from sinks.timeline import Timeline
from tests.es_support import alias_cleanup
from tests.factories import make_article
from wirehose.cli import cli
from wirehose.core.article import Article, DedupMark
from wirehose.core.errors import TimelineTooLong
from wirehose.core.settings import Settings, get_settings


def article(
    day: int, hour: int, publisher: str, story: str | None, *, copy_of: Article | None = None,
    minute: int = 0, about: str = "The ceasefire talks went on",
) -> Article:  # fmt: skip
    dedup = (
        DedupMark(is_canonical=False, duplicate_of=copy_of.article_id, similarity=0.9,
                  method="minhash")
        if copy_of is not None
        else DedupMark(is_canonical=True, method="none")
    )  # fmt: skip
    return make_article(
        title=f"{about} ({publisher}, {day} {hour}:{minute})",
        body=f"{about}, {publisher} reported on day {day} at {hour}:{minute}.",
        publisher=publisher,
        story_id=story,
        dedup=dedup,
        published_at=datetime(2023, 11, day, hour, minute, tzinfo=UTC),
    )


A = article(1, 9, "Daily Ledger", "s-truce")
A1 = article(1, 10, "Metro Wire", "s-truce", copy_of=A)
B = article(1, 11, "Daily Ledger", "s-aid")
A2 = article(1, 15, "Coastal Times", "s-truce", copy_of=A)
A3 = article(2, 8, "Global Post", "s-truce", copy_of=A)
C = article(2, 20, "Global Post", "s-talks")
X = article(3, 12, "Capital Report", "s-markets", about="Markets rallied")
D = article(4, 6, "Evening Star", "s-talks")
D1 = article(4, 6, "Metro Wire", "s-talks", copy_of=D, minute=30)
U = article(4, 7, "Capital Report", None)
CORPUS = [A, A1, B, A2, A3, C, X, D, D1, U]


@pytest.fixture(scope="module")
def settings(es_url: str, es: Elasticsearch) -> Iterator[Settings]:
    built = Settings(es_url=es_url, index_alias=f"wh-articles-timeline-{uuid.uuid4().hex[:8]}")
    with alias_cleanup(es, built.index_alias):
        sink = ElasticsearchSink(built, es, refresh="wait_for")
        sink.setup()
        for item in CORPUS:
            sink.add(item)
        assert sink.flush() == []
        yield built


def rows(timeline: Timeline | None, shape: str = "%m-%d") -> list[tuple[str, int, int, int]]:
    assert timeline is not None
    return [(b.start.strftime(shape), b.articles, b.stories, b.outlets) for b in timeline.buckets]


def test_per_day_with_copies_and_empty_days(settings: Settings) -> None:
    request = SearchRequest(
        query="ceasefire", since="2023-10-31", until="2023-11-05", timeline="day"
    )
    result = search(settings, request)
    assert rows(result.timeline) == [
        ("10-31", 0, 0, 0),
        ("11-01", 4, 2, 3),  # A, its copies A1 and A2, and B: two stories, three outlets
        ("11-02", 2, 2, 1),  # a late copy of A and C, both Global Post
        ("11-03", 0, 0, 0),  # X does not mention a ceasefire
        ("11-04", 3, 1, 3),  # D, its copy D1, and U, which has no story
        ("11-05", 0, 0, 0),
    ]
    assert result.total == 5  # the hit list itself stays canonical: A, B, C, D, U


def test_open_ends_follow_the_matching_articles(settings: Settings) -> None:
    result = search(settings, SearchRequest(timeline="day"))
    assert rows(result.timeline) == [
        ("11-01", 4, 2, 3),
        ("11-02", 2, 2, 1),
        ("11-03", 1, 1, 1),
        ("11-04", 3, 1, 3),
    ]


def test_per_hour_from_since_to_until(settings: Settings) -> None:
    request = SearchRequest(
        query="ceasefire", since="2023-11-01T08:00:00Z", until="2023-11-01T12:00:00Z",
        timeline="hour",
    )  # fmt: skip
    result = search(settings, request)
    assert rows(result.timeline, "%H:%M") == [
        ("08:00", 0, 0, 0),
        ("09:00", 1, 1, 1),
        ("10:00", 1, 1, 1),
        ("11:00", 1, 1, 1),
        ("12:00", 0, 0, 0),
    ]


def test_filters_apply_and_copies_count_even_when_hits_hide_them(settings: Settings) -> None:
    result = search(settings, SearchRequest(publishers=("metro wire",), timeline="day"))
    assert result.total == 0  # Metro Wire only carried copies
    assert rows(result.timeline) == [
        ("11-01", 1, 1, 1),
        ("11-02", 0, 0, 0),
        ("11-03", 0, 0, 0),
        ("11-04", 1, 1, 1),
    ]


def test_articles_add_up_to_every_matching_article(settings: Settings) -> None:
    everything = search(
        settings, SearchRequest(query="ceasefire", include_duplicates=True, collapse=False)
    )
    timeline = search(settings, SearchRequest(query="ceasefire", timeline="hour")).timeline
    assert timeline is not None
    assert sum(b.articles for b in timeline.buckets) == everything.total == 9
    assert len(timeline.buckets) == 71  # 11-01 09:00 .. 11-04 07:00, both included


def test_too_many_hours_are_refused(settings: Settings) -> None:
    request = SearchRequest(since="2020-01-01", until="2023-12-31", timeline="hour")
    with pytest.raises(TimelineTooLong, match="narrow --since/--until or use --timeline day"):
        search(settings, request)


def test_cli_json_and_table(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WIREHOSE_ES_URL", settings.elasticsearch_url)
    monkeypatch.setenv("WIREHOSE_INDEX_ALIAS", settings.index_alias)
    get_settings.cache_clear()
    args = ["search", "ceasefire", "--since", "2023-11-01", "--until", "2023-11-03"]
    try:
        as_json = CliRunner().invoke(cli, [*args, "--timeline", "day", "--json"])
        table = CliRunner().invoke(cli, [*args, "--timeline", "day"], env={"COLUMNS": "120"})
        refused = CliRunner().invoke(cli, ["search", "--since", "2000-01-01", "--timeline", "hour"])
    finally:
        get_settings.cache_clear()
    assert as_json.exit_code == 0, as_json.output
    payload: dict[str, Any] = json.loads(as_json.output)["timeline"]
    assert payload["interval"] == "day"
    assert payload["time_zone"] == "UTC"
    assert payload["buckets"] == [
        {"start": "2023-11-01T00:00:00Z", "articles": 4, "stories": 2, "outlets": 3},
        {"start": "2023-11-02T00:00:00Z", "articles": 2, "stories": 2, "outlets": 1},
        {"start": "2023-11-03T00:00:00Z", "articles": 0, "stories": 0, "outlets": 0},
    ]
    assert table.exit_code == 0, table.output
    lines = table.output.splitlines()
    assert any(line.split()[:4] == ["2023-11-01", "4", "2", "3"] for line in lines)
    assert any(line.split() == ["2023-11-03", "0", "0", "0"] for line in lines)
    assert refused.exit_code == 2
    assert "--timeline day" in refused.output
