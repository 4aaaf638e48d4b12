"""Search on the real Elasticsearch: full text, filters, facets, collapse per story, coverage.

The corpus: one phone call covered by two outlets' own write-ups (A, D) and two wire copies of
A (B, C); a later call (E, the only one naming Sergei Lavrov); two unrelated, unclustered
articles (F, G) that must not collapse into one group for lack of a story id.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import pytest
from click.testing import CliRunner
from elasticsearch import Elasticsearch

from sinks.elasticsearch import ElasticsearchSink
from sinks.search import SearchRequest, search
from tests.es_support import alias_cleanup, enriched
from wirehose.cli import cli
from wirehose.core.errors import ServiceError
from wirehose.core.settings import Settings, get_settings

CALL = "p:Benjamin Netanyahu, p:Vladimir Putin, o:Hamas, g:Gaza"
A = enriched(
    title="Netanyahu tells Putin Israel will destroy Hamas",
    body="Benjamin Netanyahu told Vladimir Putin that Israel will eliminate Hamas in Gaza.",
    publisher="Daily Ledger", story="s-call", ents=CALL, agencies=("Reuters",),
)  # fmt: skip
B = enriched(
    title="Israel will destroy Hamas, Netanyahu tells Putin",
    body="Benjamin Netanyahu told Vladimir Putin that Israel will eliminate Hamas in Gaza. (Reuters)",
    publisher="Metro Wire", story="s-call", ents=CALL, copy_of=A, agencies=("Reuters",),
)  # fmt: skip
C = enriched(
    title="Netanyahu to Putin: Hamas will be destroyed",
    body="JERUSALEM - Benjamin Netanyahu told Vladimir Putin that Israel will eliminate Hamas.",
    publisher="Coastal Times", story="s-call", ents=CALL, copy_of=A, day=17,
)  # fmt: skip
D = enriched(
    title="Putin and Netanyahu speak for the first time since the war began",
    body="The Kremlin said Vladimir Putin discussed Gaza and Hamas with Benjamin Netanyahu.",
    publisher="Global Post", story="s-call", ents=CALL,
)  # fmt: skip
E = enriched(
    title="A hot call: what Netanyahu said to Putin",
    body="Sergei Lavrov said the Hamas attack does not justify collective punishment.",
    publisher="Evening Star", story="s-hot", day=10, month=12,
    ents="p:Sergei Lavrov, p:Benjamin Netanyahu, p:Vladimir Putin, o:Hamas, g:Russia",
)  # fmt: skip
F = enriched(
    title="Markets rally", body="Stocks rose after the Federal Reserve held rates.",
    publisher="Capital Report", ents="o:Federal Reserve, g:United States", day=20,
)  # fmt: skip
G = enriched(
    title="Storm warning", body="Heavy rain is expected.", publisher="Capital Report", day=21
)
CORPUS = [A, B, C, D, E, F, G]


@pytest.fixture(scope="module")
def settings(es_url: str, es: Elasticsearch) -> Iterator[Settings]:
    built = Settings(es_url=es_url, index_alias=f"wh-articles-search-{uuid.uuid4().hex[:8]}")
    with alias_cleanup(es, built.index_alias):
        sink = ElasticsearchSink(built, es, refresh="wait_for")
        sink.setup()
        for article in CORPUS:
            sink.add(article)
        assert sink.flush() == []
        yield built


def ids(result: object) -> set[str]:
    return {hit.article_id for hit in result.hits}  # type: ignore[attr-defined]


def facet(result: object, name: str) -> dict[str, int]:
    return {b.value: b.count for b in result.facets[name]}  # type: ignore[attr-defined]


def test_hamas_finds_canonical_articles_one_row_per_story(settings: Settings) -> None:
    result = search(settings, SearchRequest(query="Hamas"))
    assert result.total == 3  # A, D, E: the copies B and C are hidden
    assert result.stories == 2
    assert [hit.story_id for hit in result.hits].count("s-call") == 1
    assert {hit.story_id for hit in result.hits} == {"s-call", "s-hot"}
    call = next(hit for hit in result.hits if hit.story_id == "s-call")
    assert call.article_id in {A.article_id, D.article_id}
    assert call.story_matches == 2
    assert {r.article_id for r in call.related} == {A.article_id, D.article_id} - {call.article_id}
    assert call.coverage is not None
    assert (call.coverage.articles, call.coverage.copies, call.coverage.outlet_count) == (4, 2, 4)
    assert set(call.coverage.outlets) == {
        "Daily Ledger",
        "Metro Wire",
        "Coastal Times",
        "Global Post",
    }
    assert any("<em>Hamas</em>" in s for hit in result.hits for s in hit.snippets)


def test_facet_counts_count_the_matching_canonical_articles(settings: Settings) -> None:
    result = search(settings, SearchRequest(query="Hamas"))
    assert facet(result, "people") == {
        "Benjamin Netanyahu": 3, "Vladimir Putin": 3, "Sergei Lavrov": 1,
    }  # fmt: skip
    assert facet(result, "organizations") == {"Hamas": 3}
    assert facet(result, "places") == {"Gaza": 2, "Russia": 1}
    assert facet(result, "publishers") == {"Daily Ledger": 1, "Global Post": 1, "Evening Star": 1}
    assert facet(result, "agencies") == {"Reuters": 1}
    assert facet(result, "stories") == {"s-call": 2, "s-hot": 1}
    labels = {b.value: b.label for b in result.facets["stories"]}
    assert labels["s-hot"] == E.title


def test_no_facets_asked_gives_hits_and_no_facets(settings: Settings) -> None:
    result = search(settings, SearchRequest(query="Hamas", facet_size=0))
    assert result.facets == {}
    assert ids(result)  # the hits are still there
    assert result.stories == 2


def test_with_duplicates_and_without_collapse_every_copy_is_a_row(settings: Settings) -> None:
    result = search(
        settings, SearchRequest(query="Hamas", include_duplicates=True, collapse=False, size=20)
    )
    assert ids(result) == {A.article_id, B.article_id, C.article_id, D.article_id, E.article_id}
    assert facet(result, "publishers")["Metro Wire"] == 1


def test_person_filter_finds_only_the_december_call(settings: Settings) -> None:
    for name in ("Sergei Lavrov", "sergei lavrov"):
        result = search(settings, SearchRequest(people=(name,)))
        assert ids(result) == {E.article_id}
        assert result.hits[0].date is not None
        assert result.hits[0].date.startswith("2023-12-10")


def test_entity_with_type(settings: Settings) -> None:
    as_person = search(
        settings, SearchRequest(entities=("Vladimir Putin",), entity_types=("PERSON",))
    )
    assert as_person.total == 3
    as_org = search(settings, SearchRequest(entities=("Vladimir Putin",), entity_types=("ORG",)))
    assert as_org.total == 0
    orgs_only = search(settings, SearchRequest(entity_types=("ORG",), collapse=False, size=20))
    assert ids(orgs_only) == {A.article_id, D.article_id, E.article_id, F.article_id}


def test_publisher_agency_story_and_date_filters(settings: Settings) -> None:
    assert ids(search(settings, SearchRequest(publishers=("global post",)))) == {D.article_id}
    reuters = SearchRequest(agencies=("reuters",), include_duplicates=True, collapse=False)
    assert ids(search(settings, reuters)) == {A.article_id, B.article_id}
    assert search(settings, SearchRequest(stories=("s-call",))).total == 2
    october = search(settings, SearchRequest(query="Hamas", until="2023-10-31"))
    assert {hit.story_id for hit in october.hits} == {"s-call"}
    one_day = search(settings, SearchRequest(since="2023-12-10", until="2023-12-10"))
    assert ids(one_day) == {E.article_id}


def test_date_sort_and_unclustered_articles_stay_apart(settings: Settings) -> None:
    result = search(settings, SearchRequest(sort="date"))
    assert result.stories == 4  # s-call, s-hot, and F and G on their own
    assert [hit.article_id for hit in result.hits][:3] == [E.article_id, G.article_id, F.article_id]
    assert len(result.hits) == 4


def test_cli_json_output(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WIREHOSE_ES_URL", settings.elasticsearch_url)
    monkeypatch.setenv("WIREHOSE_INDEX_ALIAS", settings.index_alias)
    get_settings.cache_clear()
    try:
        outcome = CliRunner().invoke(cli, ["search", "--person", "Sergei Lavrov", "--json"])
        table = CliRunner().invoke(cli, ["search", "Hamas"])
    finally:
        get_settings.cache_clear()
    assert outcome.exit_code == 0, outcome.output
    payload = json.loads(outcome.output)
    assert [hit["article_id"] for hit in payload["hits"]] == [E.article_id]
    assert {"value": "Sergei Lavrov", "count": 1, "label": None} in payload["facets"]["people"]
    assert table.exit_code == 0, table.output
    assert "3 articles in 2 stories" in table.output


def test_a_missing_alias_says_what_to_run(es_url: str) -> None:
    missing = Settings(es_url=es_url, index_alias=f"wh-none-{uuid.uuid4().hex[:8]}")
    with pytest.raises(ServiceError, match="wirehose index create"):
        search(missing, SearchRequest(query="x"))
