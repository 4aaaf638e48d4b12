"""Saved alerts on the real Elasticsearch: an alert matches exactly what its search lists.

The same articles go into an articles index (through the sink) and through the alert matcher;
for each saved search, the articles the matcher says it matches must be the articles
``wirehose search`` lists for it (canonical only, one row per article). The matcher is the one
the cluster allows: the percolator where the module exists, search by probes elsewhere.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from elasticsearch import Elasticsearch

from sinks.alerts import AlertSpec, AlertStore
from sinks.document import to_document
from sinks.elasticsearch import ElasticsearchSink
from sinks.indices import IndexManager
from sinks.percolate import open_matcher
from sinks.search import SearchRequest, search
from tests.es_support import alias_cleanup, enriched
from wirehose.core.settings import Settings

CALL = "p:Benjamin Netanyahu, p:Vladimir Putin, o:Hamas, g:Gaza"
A = enriched(
    title="Netanyahu tells Putin Israel will destroy Hamas",
    body="Benjamin Netanyahu told Vladimir Putin that Israel will eliminate Hamas in Gaza. "
    "Officials warned of a humanitarian catastrophe.",
    publisher="Daily Ledger", story="s-call", ents=CALL, agencies=("Reuters",),
)  # fmt: skip
B = enriched(
    title="Israel will destroy Hamas, Netanyahu tells Putin",
    body="Benjamin Netanyahu told Vladimir Putin that Israel will eliminate Hamas in Gaza. "
    "Officials warned of a humanitarian catastrophe. (Reuters)",
    publisher="Metro Wire", story="s-call", ents=CALL, copy_of=A, agencies=("Reuters",),
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
CORPUS = [A, B, D, E, F]
NAMES = {a.article_id: n for n, a in zip("ABDEF", CORPUS, strict=True)}

SPECS = [
    AlertSpec("words", query="Putin Hamas"),
    AlertSpec("stemmed", query="negotiation eliminates"),
    AlertSpec("phrase", query='"humanitarian catastrophe"'),
    AlertSpec("person", people=("sergei lavrov",)),
    AlertSpec("text-and-place", query="Netanyahu", places=("Gaza",)),
    AlertSpec("publisher", publishers=("Capital Report", "Global Post")),
    AlertSpec("agency", agencies=("reuters",)),
    AlertSpec("typed", entities=("Hamas",), entity_types=("ORG",)),
    AlertSpec("mistyped", entities=("Hamas",), entity_types=("PERSON",)),
    AlertSpec("story", stories=("s-hot",)),
    AlertSpec("everything"),
    AlertSpec("nothing", query="zeppelin"),
]


@pytest.fixture(scope="module")
def settings(es_url: str, es: Elasticsearch) -> Iterator[Settings]:
    built = Settings(
        es_url=es_url,
        index_alias=f"wh-articles-alerts-{uuid.uuid4().hex[:8]}",
        alerts_reload_seconds=0.001,
    )
    with alias_cleanup(es, built.index_alias):
        sink = ElasticsearchSink(built, es, refresh="wait_for")
        sink.setup()
        for article in CORPUS:
            sink.add(article)
        assert sink.flush() == []
        try:
            yield built
        finally:
            es.options(ignore_status=404).indices.delete(index=built.alerts_index_name)


@pytest.fixture(scope="module")
def store(settings: Settings, es: Elasticsearch) -> AlertStore:
    alerts = AlertStore(es, settings.alerts_index_name, settings.index_alias)
    for spec in SPECS:
        alerts.add(spec)
    return alerts


def matched(store: AlertStore, settings: Settings) -> dict[str, set[str]]:
    """Alert name -> the letters of the articles the matcher says it matches."""
    matcher = open_matcher(
        store.client, store.index, store.ensure(), reload_seconds=settings.alerts_reload_seconds
    )
    found: dict[str, set[str]] = {spec.name: set() for spec in SPECS}
    for article, refs in zip(CORPUS, matcher.match([to_document(a) for a in CORPUS]), strict=True):
        for ref in refs:
            found.setdefault(ref.name, set()).add(NAMES[article.article_id])
    return found


def searched(settings: Settings, spec: AlertSpec) -> set[str]:
    request = spec.request()
    rows = SearchRequest(**{**request.__dict__, "collapse": False, "size": 100})
    return {NAMES[hit.article_id] for hit in search(settings, rows).hits}


def test_the_index_uses_the_percolator_exactly_where_the_cluster_has_it(
    store: AlertStore, es: Elasticsearch
) -> None:
    modules = {
        module["name"]
        for node in es.nodes.info(metric="plugins")["nodes"].values()
        for module in node.get("modules", [])
    }
    assert store.ensure() == ("percolator" if "percolator" in modules else "search")


def test_every_alert_matches_exactly_what_its_search_lists(
    store: AlertStore, settings: Settings
) -> None:
    found = matched(store, settings)
    expected = {spec.name: searched(settings, spec) for spec in SPECS}
    assert found == expected
    # Not a vacuous agreement: the alerts tell the articles apart.
    assert expected["person"] == {"E"}
    assert expected["phrase"] == {"A"}  # B says it too, but B is a wire copy
    assert expected["mistyped"] == set()
    assert expected["everything"] == {"A", "D", "E", "F"}
    assert all("B" not in letters for letters in found.values())


def test_saved_alerts_read_back_and_a_removed_one_stops_matching(
    store: AlertStore, settings: Settings
) -> None:
    listed = {spec.name: spec for spec in store.list()}
    assert set(listed) == {spec.name for spec in SPECS}
    assert listed["text-and-place"].places == ("Gaza",)
    assert listed["text-and-place"].query == "Netanyahu"
    store.add(AlertSpec("gone", query="Putin"))
    assert matched(store, settings)["gone"] == {"A", "D", "E"}
    assert store.remove("gone") is True
    assert store.remove("gone") is False
    assert "gone" not in matched(store, settings)


def test_matching_leaves_nothing_behind(
    store: AlertStore, es: Elasticsearch, settings: Settings
) -> None:
    matched(store, settings)
    es.indices.refresh(index=store.index)
    assert es.count(index=store.index, query={"exists": {"field": "probe"}})["count"] == 0


def test_after_an_index_migration_the_alerts_are_rebuilt_and_still_match(
    es_url: str, es: Elasticsearch
) -> None:
    built = Settings(es_url=es_url, index_alias=f"wh-articles-migr-{uuid.uuid4().hex[:8]}")
    with alias_cleanup(es, built.index_alias):
        try:
            store = AlertStore(es, built.alerts_index_name, built.index_alias)
            store.add(AlertSpec("person", people=("sergei lavrov",), updates=True))
            first = es.indices.get_mapping(index=store.index)[store.index]["mappings"]["_meta"]
            report = IndexManager(es, built.index_alias).migrate(force=True)
            assert report is not None
            store.ensure()
            moved = es.indices.get_mapping(index=store.index)[store.index]["mappings"]["_meta"]
            assert first["articles_index"] != moved["articles_index"] == report.target
            assert [(s.name, s.people, s.updates) for s in store.list()] == [
                ("person", ("sergei lavrov",), True)
            ]
            matcher = open_matcher(es, store.index, store.ensure(), reload_seconds=0.001)
            found = matcher.match([to_document(a) for a in CORPUS])
            assert [NAMES[a.article_id] for a, refs in zip(CORPUS, found, strict=True) if refs] == [
                "E"
            ]
        finally:
            es.options(ignore_status=404).indices.delete(index=built.alerts_index_name)
