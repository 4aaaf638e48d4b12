"""The versioned index behind its alias on the real Elasticsearch: mapping, analysis, migration."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from elasticsearch import Elasticsearch

from sinks.elasticsearch import ElasticsearchSink
from sinks.indices import IndexManager
from sinks.mapping import MAPPING_VERSION, mappings, template_name
from tests.es_support import alias_cleanup, enriched
from wirehose.core.errors import ServiceError
from wirehose.core.settings import Settings


@pytest.fixture
def settings(make_settings: Callable[..., Settings], es: Elasticsearch) -> Iterator[Settings]:
    built = make_settings()
    with alias_cleanup(es, built.index_alias):
        yield built


def write(settings: Settings, es: Elasticsearch, *articles: object) -> ElasticsearchSink:
    sink = ElasticsearchSink(settings, es, refresh="wait_for")
    sink.setup()
    for article in articles:
        sink.add(article)  # type: ignore[arg-type]
    assert sink.flush() == []
    return sink


def test_create_builds_template_index_and_alias_with_the_code_mapping(
    settings: Settings, es: Elasticsearch
) -> None:
    alias = settings.index_alias
    manager = IndexManager(es, alias)
    assert manager.ensure() == f"{alias}-v1"
    assert manager.ensure() == f"{alias}-v1"  # idempotent
    live = es.indices.get_mapping(index=alias)[f"{alias}-v1"]["mappings"]
    assert live["dynamic"] == "strict"
    assert live["_meta"] == {"wirehose_mapping_version": MAPPING_VERSION, "analyzer": "english"}
    assert live["properties"] == mappings()["properties"]
    aliases = es.indices.get_alias(name=alias)
    assert aliases[f"{alias}-v1"]["aliases"][alias]["is_write_index"] is True
    assert es.indices.exists_index_template(name=template_name(alias))
    status = manager.status()
    assert (status.index, status.docs, status.health) == (f"{alias}-v1", 0, "green")
    assert not status.migration_needed


def test_english_analysis_is_applied_to_title_and_body(
    settings: Settings, es: Elasticsearch
) -> None:
    IndexManager(es, settings.index_alias).ensure()
    tokens = es.indices.analyze(
        index=settings.index_alias, field="body", text="The negotiations were continuing"
    )["tokens"]
    assert [t["token"] for t in tokens] == ["negoti", "were", "continu"]
    write(
        settings,
        es,
        enriched(
            title="Hostage negotiations continue",
            body="Mediators negotiated through the night.",
            publisher="Daily Ledger",
        ),
    )
    for query in ("negotiation", "continuing", "negotiate", "NEGOTIATING"):
        hits = es.search(
            index=settings.index_alias,
            query={"multi_match": {"query": query, "fields": ["title", "body"]}},
        )["hits"]["total"]["value"]
        assert hits == 1, query
    stop_word_only = es.search(index=settings.index_alias, query={"match": {"body": "the"}})
    assert stop_word_only["hits"]["total"]["value"] == 0


def test_folded_facets_keep_case_for_display_and_ignore_it_for_filters(
    settings: Settings, es: Elasticsearch
) -> None:
    write(
        settings,
        es,
        enriched(
            title="Lavrov", body="Lavrov spoke.", publisher="Daily Ledger", ents="p:Sergei Lavrov"
        ),
    )
    found = es.search(
        index=settings.index_alias,
        query={"term": {"people.folded": "SERGEI lavrov"}},
        aggs={"people": {"terms": {"field": "people"}}},
    )
    assert found["hits"]["total"]["value"] == 1
    assert found["aggregations"]["people"]["buckets"][0]["key"] == "Sergei Lavrov"


def test_migrate_copies_everything_keeps_versions_and_switches_the_alias(
    settings: Settings, es: Elasticsearch
) -> None:
    alias = settings.index_alias
    articles = [
        enriched(title=f"Story {n}", body=f"Body number {n}.", publisher="Metro Wire")
        for n in range(5)
    ]
    write(settings, es, *articles)
    manager = IndexManager(es, alias)
    assert manager.migrate() is None  # current mapping: nothing to do

    report = manager.migrate(force=True)
    assert report is not None
    assert (report.source, report.target, report.copied) == (f"{alias}-v1", f"{alias}-v2", 5)
    assert report.caught_up == 0  # every write since the copy started was already copied
    assert list(es.indices.get_alias(name=alias)) == [f"{alias}-v2"]
    assert es.count(index=alias)["count"] == 5
    assert es.indices.exists(index=f"{alias}-v1")  # kept unless --delete-old
    # Versions survived: redelivering the old records after the switch changes nothing.
    sink = write(settings, es, *articles)
    assert sink.stats.conflicts == 5
    assert manager.status().generations == [f"{alias}-v1", f"{alias}-v2"]

    again = manager.migrate(force=True, delete_old=True)
    assert again is not None
    assert again.target == f"{alias}-v3"
    assert again.deleted_source is True
    assert not es.indices.exists(index=f"{alias}-v2")
    assert es.count(index=alias)["count"] == 5


def test_a_concrete_index_named_like_the_alias_is_moved_behind_an_alias(
    settings: Settings, es: Elasticsearch
) -> None:
    alias = settings.index_alias
    es.index(index=alias, id="legacy-1", document={"title": "Old style", "body": "kept"})
    es.indices.refresh(index=alias)
    manager = IndexManager(es, alias)
    with pytest.raises(ServiceError, match=r"is an index, not an alias.*wirehose index migrate"):
        manager.ensure()
    assert manager.status().migration_needed
    report = manager.migrate()
    assert report is not None
    assert report.target == f"{alias}-v1"
    assert report.copied == 1
    assert list(es.indices.get_alias(name=alias)) == [f"{alias}-v1"]
    assert es.get(index=alias, id="legacy-1")["_source"]["title"] == "Old style"


def test_migrate_without_an_index_says_what_to_run(settings: Settings, es: Elasticsearch) -> None:
    with pytest.raises(ServiceError, match="wirehose index create"):
        IndexManager(es, settings.index_alias).migrate()
