"""The indexed document and the strict mapping agree, field for field."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sinks.document import LOCALIZED_MAX_CHARS, facet_of, story_key, to_document
from sinks.mapping import (
    FALLBACK_ANALYZER,
    LANGUAGE_ANALYZERS,
    LOCALIZED,
    MAPPING_VERSION,
    index_name,
    index_settings,
    index_template,
    language_analyzer,
    mappings,
)
from tests.factories import make_article
from wirehose.core.article import DedupMark, Entity


def entity(label: str, canonical: str, text: str | None = None) -> Entity:
    return Entity(label=label, text=text or canonical, canonical=canonical, start=0, end=1)


def tagged(**fields: Any) -> Any:
    return make_article(
        publisher="Daily Ledger",
        agencies=("Reuters", "AFP"),
        story_id="story-1",
        published_at=datetime(2023, 10, 16, 18, 45, tzinfo=UTC),
        processed_at=datetime(2023, 10, 16, 19, 0, tzinfo=UTC),
        dedup=DedupMark(
            is_canonical=False, duplicate_of="ab" * 16, similarity=0.93, method="minhash"
        ),
        entities=(
            entity("PERSON", "Benjamin Netanyahu", "Netanyahu"),
            entity("PERSON", "Benjamin Netanyahu", "Benjamin Netanyahu"),
            entity("PERSON", "Vladimir Putin"),
            entity("ORG", "Hamas"),
            entity("GPE", "Gaza"),
            entity("LOC", "Gaza Strip"),
            entity("NORP", "Palestinians"),
            entity("EVENT", "Operation Swords of Iron"),
        ),
        **fields,
    )


def test_entities_facet_by_type_once_per_article() -> None:
    doc = to_document(tagged())
    assert doc["people"] == ["Benjamin Netanyahu", "Vladimir Putin"]
    assert doc["organizations"] == ["Hamas"]
    assert doc["places"] == ["Gaza", "Gaza Strip"]
    assert doc["others"] == ["Palestinians", "Operation Swords of Iron"]
    assert doc["entity_labels"] == ["PERSON", "ORG", "GPE", "LOC", "NORP", "EVENT"]
    assert len(doc["entities"]) == 8
    assert doc["entities"][0] == {
        "label": "PERSON",
        "canonical": "Benjamin Netanyahu",
        "text": "Netanyahu",
        "field": "body",
        "start": 0,
        "end": 1,
    }


def test_dedup_story_and_dates_are_top_level() -> None:
    doc = to_document(tagged(), indexed_at=datetime(2024, 1, 1, tzinfo=UTC))
    assert doc["is_canonical"] is False
    assert doc["duplicate_of"] == "ab" * 16
    assert doc["similarity"] == 0.93
    assert doc["dedup_method"] == "minhash"
    assert doc["story_id"] == "story-1"
    assert doc["story_key"] == "story-1"
    assert doc["date"] == "2023-10-16T18:45:00+00:00"
    assert doc["indexed_at"] == "2024-01-01T00:00:00+00:00"
    assert doc["agencies"] == ["Reuters", "AFP"]


def test_an_unclustered_undated_unchecked_article_still_sorts_collapses_and_shows() -> None:
    raw = make_article(fetched_at=datetime(2024, 3, 1, tzinfo=UTC))
    doc = to_document(raw)
    assert story_key(raw) == f"article:{raw.article_id}"
    assert doc["story_key"] == f"article:{raw.article_id}"
    assert doc["story_id"] is None
    assert doc["date"] == "2024-03-01T00:00:00+00:00"
    assert doc["is_canonical"] is True  # never hidden by the canonical-only default


def test_labels_map_to_facets() -> None:
    assert [facet_of(label) for label in ("PERSON", "ORG", "GPE", "LOC", "FAC", "NORP")] == [
        "people",
        "organizations",
        "places",
        "places",
        "others",
        "others",
    ]


def _paths(properties: dict[str, Any], prefix: str = "") -> set[str]:
    found: set[str] = set()
    for name, spec in properties.items():
        found.add(prefix + name)
        if "properties" in spec:
            found |= _paths(spec["properties"], f"{prefix}{name}.")
    return found


def _doc_paths(doc: dict[str, Any], prefix: str = "") -> set[str]:
    found: set[str] = set()
    for name, value in doc.items():
        found.add(prefix + name)
        items = value if isinstance(value, list) else [value]
        for element in items:
            if isinstance(element, dict):
                found |= _doc_paths(element, f"{prefix}{name}.")
    return found


def test_every_document_field_is_mapped_and_every_mapped_field_is_written() -> None:
    # `dynamic: strict` would dead-letter a document with an unmapped field: keep them in step.
    # The localized copy is written in the article's own language only: one document each.
    mapping = mappings()
    assert mapping["dynamic"] == "strict"
    documents = [to_document(tagged(language=code)) for code in ("en", *LANGUAGE_ANALYZERS)]
    written = set().union(*(_doc_paths(doc) for doc in documents))
    assert written == _paths(mapping["properties"])


def test_an_article_in_a_language_with_an_analyzer_is_indexed_again_in_it() -> None:
    french = to_document(tagged(language="fr", title="Crue", body="Les rivières débordent."))
    assert french["language"] == "fr"
    assert french[LOCALIZED] == {"fr": {"title": "Crue", "body": "Les rivières débordent."}}
    for language in ("en", "und", "sv", None):
        assert LOCALIZED not in to_document(tagged(language=language))
    long = to_document(tagged(language="de", body="Wort " * LOCALIZED_MAX_CHARS))
    assert len(long[LOCALIZED]["de"]["body"]) == LOCALIZED_MAX_CHARS
    settings = index_settings({"fr": "french"})["analysis"]["analyzer"]
    assert settings[language_analyzer("fr")] == {"type": "french"}
    assert settings[language_analyzer("zh")] == {"type": FALLBACK_ANALYZER}
    localized = mappings()["properties"][LOCALIZED]["properties"]
    assert localized["fr"]["properties"]["body"]["analyzer"] == language_analyzer("fr")


def test_text_fields_use_english_and_facets_have_a_folded_subfield() -> None:
    props = mappings()["properties"]
    assert {props[f]["analyzer"] for f in ("title", "subtitle", "body")} == {"english"}
    assert props["title"]["fields"]["raw"]["type"] == "keyword"
    for facet in ("people", "organizations", "places", "others", "publisher", "agencies"):
        assert props[facet]["type"] == "keyword"
        assert props[facet]["fields"]["folded"]["normalizer"] == "folded"
    assert props["entities"]["type"] == "nested"
    assert index_settings()["analysis"]["normalizer"]["folded"]["filter"] == ["lowercase"]


def test_the_fallback_analyzer_is_recorded_in_the_mapping_meta() -> None:
    mapping = mappings(FALLBACK_ANALYZER)
    assert mapping["_meta"] == {"wirehose_mapping_version": MAPPING_VERSION, "analyzer": "standard"}
    assert mapping["properties"]["body"]["analyzer"] == "standard"


def test_template_covers_every_generation_of_the_alias() -> None:
    template = index_template("news")
    assert template["index_patterns"] == ["news-v*"]
    assert template["template"]["mappings"] == mappings()
    assert index_name("news", 3) == "news-v3"
