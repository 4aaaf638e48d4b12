"""One story on the real Elasticsearch: order, wire copies, first report, outlets, unknown ids,
and ``wirehose stories`` through click.

The corpus: one phone call, first reported by Global Post's own write-up (D, the story's
founder, so its id is the story id), then an agency report (A) republished at the same instant
(B) and the next day (C), and a late undated write-up (L, placed at its fetch time). Two other
stories share the prefix ``twin-``; one article (F) is in no story.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner
from elasticsearch import Elasticsearch

from sinks.elasticsearch import ElasticsearchSink
from sinks.story import story
from tests.es_support import alias_cleanup, enriched
from tests.factories import make_article
from wirehose.cli import cli
from wirehose.core.article import DedupMark
from wirehose.core.errors import ServiceError, StoryNotFound
from wirehose.core.settings import Settings, get_settings

CALL = "p:Benjamin Netanyahu, p:Vladimir Putin"
D = enriched(
    title="Putin and Netanyahu speak for the first time since the war began",
    body="The Kremlin said Vladimir Putin discussed Gaza with Benjamin Netanyahu.",
    publisher="Global Post", ents=CALL, day=15, url="https://globalpost.example/call",
)  # fmt: skip
SID = D.article_id
D = D.model_copy(update={"story_id": SID})
A = enriched(
    title="Netanyahu tells Putin Israel will destroy Hamas",
    body="Benjamin Netanyahu told Vladimir Putin that Israel will eliminate Hamas in Gaza.",
    publisher="Daily Ledger", story=SID, ents=CALL, agencies=("Reuters",),
    url="https://ledger.example/netanyahu-putin",
)  # fmt: skip
B = enriched(
    title="Israel will destroy Hamas, Netanyahu tells Putin",
    body="Benjamin Netanyahu told Vladimir Putin that Israel will eliminate Hamas. (Reuters)",
    publisher="Metro Wire", story=SID, ents=CALL, copy_of=A, agencies=("Reuters",),
    url="https://metro.example/hamas",
)  # fmt: skip
C = enriched(
    title="Netanyahu to Putin: Hamas will be destroyed",
    body="JERUSALEM - Benjamin Netanyahu told Vladimir Putin that Israel will eliminate Hamas.",
    publisher="Coastal Times", story=SID, ents=CALL, copy_of=A, day=17,
)  # fmt: skip
L = make_article(
    title="What the Netanyahu-Putin call means",
    body="Analysts weighed what Benjamin Netanyahu and Vladimir Putin said.",
    publisher="Late Review", story_id=SID, dedup=DedupMark(is_canonical=True, method="none"),
    fetched_at=datetime(2023, 10, 18, 9, 30, tzinfo=UTC),
    processed_at=datetime(2024, 1, 1, tzinfo=UTC),
)  # fmt: skip
E = enriched(
    title="An earlier, other story", body="Markets fell.", publisher="Daily Ledger",
    story="twin-one", day=10,
)  # fmt: skip
G = enriched(title="Another story", body="Rain fell.", publisher="Metro Wire", story="twin-two")
F = enriched(title="Storm warning", body="Heavy rain is expected.", publisher="Capital Report")
CORPUS = [A, B, C, D, L, E, G, F]


@pytest.fixture(scope="module")
def settings(es_url: str, es: Elasticsearch) -> Iterator[Settings]:
    built = Settings(es_url=es_url, index_alias=f"wh-articles-story-{uuid.uuid4().hex[:8]}")
    with alias_cleanup(es, built.index_alias):
        sink = ElasticsearchSink(built, es, refresh="wait_for")
        sink.setup()
        for article in CORPUS:
            sink.add(article)
        assert sink.flush() == []
        yield built


def test_articles_in_event_time_order_with_copies_and_the_first_report(settings: Settings) -> None:
    view = story(settings, SID)
    # D first (the 15th); A and B share an instant and the original goes first; C the 17th;
    # L was never dated and sits at its fetch time, the 18th. Other stories stay out.
    order = [A.article_id, B.article_id]
    assert [a.article_id for a in view.articles] == [
        D.article_id,
        *order,
        C.article_id,
        L.article_id,
    ]
    assert view.first_report is not None
    assert view.first_report.article_id == D.article_id
    assert view.first_report.publisher == "Global Post"
    assert (view.total, view.copies, view.outlet_count) == (5, 2, 5)
    assert not view.truncated
    by_id = {a.article_id: a for a in view.articles}
    assert by_id[A.article_id].copies == [B.article_id, C.article_id]
    assert by_id[B.article_id].duplicate_of == A.article_id
    assert by_id[B.article_id].similarity == pytest.approx(0.9)
    assert not by_id[C.article_id].is_canonical
    assert by_id[L.article_id].published_at is None
    assert by_id[A.article_id].url == "https://ledger.example/netanyahu-putin"
    assert view.first_date is not None
    assert view.first_date.startswith("2023-10-15T12:00")
    assert view.last_date is not None
    assert view.last_date.startswith("2023-10-18T09:30")


def test_outlets_and_agencies_are_counted(settings: Settings) -> None:
    view = story(settings, SID)
    assert {c.name: c.count for c in view.outlets} == {
        "Global Post": 1, "Daily Ledger": 1, "Metro Wire": 1, "Coastal Times": 1, "Late Review": 1,
    }  # fmt: skip
    assert {c.name: c.count for c in view.agencies} == {"Reuters": 2}


def test_a_limit_lists_the_earliest_and_still_counts_the_whole_story(settings: Settings) -> None:
    view = story(settings, SID, limit=2)
    assert [a.article_id for a in view.articles] == [D.article_id, A.article_id]
    assert view.truncated
    assert view.total == 5
    assert view.outlet_count == 5
    assert view.to_dict()["shown"] == 2


def test_a_unique_prefix_opens_the_story(settings: Settings) -> None:
    assert story(settings, SID[:12]).story_id == SID
    assert [a.article_id for a in story(settings, "twin-o").articles] == [E.article_id]


def test_unknown_ids_say_what_they_are_and_what_to_do(settings: Settings) -> None:
    with pytest.raises(StoryNotFound, match=rf"no story 'nope' in index '{settings.index_alias}'"):
        story(settings, "nope")
    with pytest.raises(StoryNotFound, match=f"belongs to story '{SID}'"):
        story(settings, A.article_id)
    with pytest.raises(StoryNotFound, match="not clustered"):
        story(settings, F.article_id)
    with pytest.raises(StoryNotFound, match=r"several story ids.*twin-one, twin-two"):
        story(settings, "twin")


def test_a_missing_alias_says_what_to_run(es_url: str) -> None:
    missing = Settings(es_url=es_url, index_alias=f"wh-none-{uuid.uuid4().hex[:8]}")
    with pytest.raises(ServiceError, match="wirehose index create"):
        story(missing, SID)


def test_the_command(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WIREHOSE_ES_URL", settings.elasticsearch_url)
    monkeypatch.setenv("WIREHOSE_INDEX_ALIAS", settings.index_alias)
    monkeypatch.setenv("COLUMNS", "200")
    get_settings.cache_clear()
    runner = CliRunner()
    try:
        as_json = runner.invoke(cli, ["stories", SID, "--json"])
        table = runner.invoke(cli, ["stories", SID[:12], "--limit", "3"])
        unknown = runner.invoke(cli, ["stories", "nope"])
        searched = runner.invoke(cli, ["search", "Putin"])
    finally:
        get_settings.cache_clear()
    assert as_json.exit_code == 0, as_json.output
    payload = json.loads(as_json.output)
    assert payload["first_report"]["article_id"] == D.article_id
    assert [a["article_id"] for a in payload["articles"]][:2] == [D.article_id, A.article_id]
    assert payload["outlet_count"] == 5
    assert payload["truncated"] is False
    assert table.exit_code == 0, table.output
    assert "First report: #1, Global Post, 2023-10-15 12:00 UTC" in table.output
    assert "wire copy of #2 (Daily Ledger)" in table.output
    assert "Showing the first 3 of 5 articles" in table.output
    assert unknown.exit_code == 1
    assert "no story 'nope'" in unknown.output
    assert "wirehose search" in unknown.output
    assert searched.exit_code == 0, searched.output
    assert f"wirehose stories {SID}" in searched.output
