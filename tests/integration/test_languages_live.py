"""Languages end to end on the real model and the real Elasticsearch: the worker's tag steps
(language detection, spaCy NER for English only) and the index, its analysis and the search."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import pytest
from click.testing import CliRunner
from elasticsearch import Elasticsearch

from processors.entities.tagger import EntityTagger
from processors.pipeline import EnrichmentPipeline, RawRecord, Validate
from processors.worker.app import build_steps
from sinks.elasticsearch import ElasticsearchSink
from sinks.indices import IndexManager
from sinks.mapping import language_analyzer
from sinks.search import SearchRequest, search
from tests.es_support import alias_cleanup
from tests.factories import make_article
from wirehose.cli import cli
from wirehose.core.article import Article
from wirehose.core.settings import Settings, get_settings

ENGLISH = make_article(
    title="Macron and Scholz meet in Berlin",
    body="Emmanuel Macron met Olaf Scholz in Berlin on Monday to discuss the European budget, "
    "and both leaders said they expected an agreement before the summer.",
    publisher="Daily Ledger",
)
# Declared English by its feed: the detector overrides it.
FRENCH = make_article(
    title="Emmanuel Macron rencontre Olaf Scholz à Berlin",
    body="Emmanuel Macron a rencontré Olaf Scholz lundi à Berlin pour discuter du budget "
    "européen et de l'inflation, et les deux dirigeants ont dit s'attendre à un accord avant "
    "l'été.",
    publisher="Le Quotidien",
    language="en",
)


@pytest.fixture(scope="module")
def settings(es_url: str, es: Elasticsearch) -> Iterator[Settings]:
    built = Settings(es_url=es_url, index_alias=f"wh-articles-lang-{uuid.uuid4().hex[:8]}")
    with alias_cleanup(es, built.index_alias):
        yield built


@pytest.fixture(scope="module")
def tagged(settings: Settings, es: Elasticsearch) -> dict[str, Article]:
    """Both articles through the worker's own tag steps, then indexed."""
    records = [
        RawRecord(value=article.to_bytes(), offset=n) for n, article in enumerate([ENGLISH, FRENCH])
    ]
    result = EnrichmentPipeline(Validate(settings.max_body_chars), build_steps(settings)).run(
        records
    )
    assert result.dead_letters == []
    sink = ElasticsearchSink(settings, es, refresh="wait_for")
    sink.setup()
    for article in result.articles:
        sink.add(article)
    assert sink.flush() == []
    return {article.language or "": article for article in result.articles}


def test_the_french_article_is_fr_without_entities_the_english_one_is_tagged(
    tagged: dict[str, Article], es: Elasticsearch, settings: Settings
) -> None:
    assert set(tagged) == {"en", "fr"}
    french, english = tagged["fr"], tagged["en"]
    assert french.language_mark is not None
    assert french.language_mark.declared == "en"
    assert french.entities == ()
    assert {e.canonical for e in english.entities} >= {"Emmanuel Macron", "Olaf Scholz"}
    # What was avoided: the English model does "find" people in the French text.
    assert EntityTagger(learn=False).process(french).entities
    doc = es.get(index=settings.index_alias, id=french.article_id)["_source"]
    assert (doc["language"], doc["people"], doc["entities"]) == ("fr", [], [])
    assert doc["localized"]["fr"]["title"] == FRENCH.title
    english_doc = es.get(index=settings.index_alias, id=english.article_id)["_source"]
    assert english_doc["language"] == "en"
    assert "localized" not in english_doc


def test_the_language_filter_facet_and_cli_find_the_french_article(
    tagged: dict[str, Article],
    settings: Settings,
    es: Elasticsearch,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    french_id = tagged["fr"].article_id
    result = search(settings, SearchRequest(languages=("fr",)))
    assert [hit.article_id for hit in result.hits] == [french_id]
    assert {b.value: b.count for b in result.facets["languages"]} == {"fr": 1}
    everything = search(settings, SearchRequest())
    assert {b.value: b.count for b in everything.facets["languages"]} == {"en": 1, "fr": 1}
    worded = search(settings, SearchRequest(query="dirigeants accord", languages=("FR",)))
    assert [hit.article_id for hit in worded.hits] == [french_id]
    assert search(settings, SearchRequest(query="dirigeants", languages=("en",))).hits == []
    # "l'inflation" is one token to `english` (the main fields) and to `standard` (the localized
    # fields on a node without the French analyzer); the French analyzer removes the elision.
    french_analysis = IndexManager(es, settings.index_alias).language_analyzers()["fr"]
    inflation = search(settings, SearchRequest(query="inflation"))
    expected = [french_id] if french_analysis == "french" else []
    assert [hit.article_id for hit in inflation.hits] == expected
    monkeypatch.setenv("WIREHOSE_ES_URL", settings.elasticsearch_url)
    monkeypatch.setenv("WIREHOSE_INDEX_ALIAS", settings.index_alias)
    get_settings.cache_clear()
    try:
        outcome = CliRunner().invoke(cli, ["search", "--language", "fr", "--json"])
    finally:
        get_settings.cache_clear()
    assert outcome.exit_code == 0, outcome.output
    payload = json.loads(outcome.output)
    assert [hit["article_id"] for hit in payload["hits"]] == [french_id]


def test_localized_fields_use_the_analyzer_the_node_has_for_the_language(
    tagged: dict[str, Article], settings: Settings, es: Elasticsearch
) -> None:
    chosen = IndexManager(es, settings.index_alias).language_analyzers()["fr"]
    text = "Les négociations continuent"
    by_field = es.indices.analyze(index=settings.index_alias, field="localized.fr.body", text=text)
    by_name = es.indices.analyze(analyzer=chosen, text=text)
    assert [t["token"] for t in by_field["tokens"]] == [t["token"] for t in by_name["tokens"]]
    live = es.indices.get_settings(index=settings.index_alias)
    (index_settings,) = live.values()
    analyzers = index_settings["settings"]["index"]["analysis"]["analyzer"]
    assert analyzers[language_analyzer("fr")]["type"] == chosen
