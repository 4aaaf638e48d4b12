"""Entities per language without a model: routing each article to its language's pipeline,
reading other pipelines' labels as ours, and the language-neutral canonical forms."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from types import SimpleNamespace
from typing import Any

from processors.entities.canonical import Mention
from processors.entities.neutral import canonicalize_neutral, clean_name
from processors.entities.tagger import EntityTagger
from processors.entities.tagging import CopyAwareTagger
from processors.language.detector import UNDETERMINED
from processors.worker.app import ner_languages
from tests.factories import make_article
from wirehose.core.article import Article, DedupMark, Entity


class FakeNer:
    """Stands in for one language's EntityTagger: tags a PERSON named after its language and
    records each ``process_batch`` call."""

    def __init__(self, language: str) -> None:
        self.language = language
        self.calls: list[list[str]] = []

    def process_batch(self, articles: Sequence[Article]) -> list[Article]:
        self.calls.append([a.title for a in articles])
        entity = Entity(
            label="PERSON", text="Ada", canonical=self.language, field="body", start=0, end=3
        )
        return [a.model_copy(update={"entities": (entity,)}) for a in articles]

    def tag_from_canonical(self, article: Article, entities: tuple[Entity, ...]) -> Article:
        return article.model_copy(update={"entities": entities})


def routed() -> tuple[CopyAwareTagger, FakeNer, FakeNer]:
    english, french = FakeNer("en"), FakeNer("fr")
    tagger = CopyAwareTagger(
        english,  # type: ignore[arg-type]
        languages=ner_languages("en"),
        others={"fr": french},  # type: ignore[dict-item]
    )
    return tagger, english, french


def test_each_article_is_tagged_by_its_languages_pipeline_one_call_per_language() -> None:
    tagger, english, french = routed()
    batch = [
        make_article(title="fr1", language="fr"),
        make_article(title="en1", language="en"),
        make_article(title="de1", language="de"),
        make_article(title="und1", language=UNDETERMINED),
        make_article(title="fr2", language="fr"),
    ]
    out = tagger.process_batch(batch)
    assert french.calls == [["fr1", "fr2"]]
    assert english.calls == [["en1", "und1"]]
    assert [a.title for a in out] == ["fr1", "en1", "de1", "und1", "fr2"], "input order kept"
    assert [[e.canonical for e in a.entities] for a in out] == [["fr"], ["en"], [], ["en"], ["fr"]]
    assert tagger.counts == {"ner": 4, "reused": 0, "skipped": 1}


def test_a_copy_reuses_its_original_only_when_the_same_pipeline_tagged_it() -> None:
    tagger, english, french = routed()
    original = make_article(title="original", language="fr")
    tagger.process_batch([original])
    mark = DedupMark(is_canonical=False, duplicate_of=original.article_id, method="minhash")
    french_copy = make_article(title="copy-fr", language="fr", dedup=mark)
    english_copy = make_article(title="copy-en", language="en", dedup=mark)
    out = tagger.process_batch([french_copy, english_copy])
    assert french.calls == [["original"]], "the French copy took the original's entities"
    assert english.calls == [["copy-en"]], "French entities are not an English copy's"
    assert [e.canonical for e in out[0].entities] == ["fr"]
    assert [e.canonical for e in out[1].entities] == ["en"]
    assert tagger.counts == {"ner": 2, "reused": 1}


def test_a_copy_in_the_same_batch_as_its_original_waits_for_it_in_any_language() -> None:
    tagger, english, french = routed()
    original = make_article(title="original", language="fr")
    mark = DedupMark(is_canonical=False, duplicate_of=original.article_id, method="exact")
    copy = make_article(title="copy", language="fr", dedup=mark)
    other = make_article(title="other", language="fr")
    out = tagger.process_batch([copy, original, other])
    assert french.calls == [["original", "other"]]
    assert english.calls == []
    assert [a.title for a in out] == ["copy", "original", "other"]
    assert out[0].entities == out[1].entities
    assert tagger.counts == {"ner": 2, "reused": 1}


# --- labels and canonical forms -------------------------------------------------------------------
def _nlp(lang: str, found: dict[str, list[tuple[str, str]]]) -> Any:
    """A spaCy stand-in: for each text, the (surface, label) spans listed for it."""

    def pipe(texts: Sequence[tuple[str, Any]], **_: Any) -> Iterator[tuple[Any, Any]]:
        for text, context in texts:
            ents = []
            for surface, label in found.get(text, []):
                start = text.index(surface)
                ents.append(
                    SimpleNamespace(
                        text=surface, label_=label, start_char=start, end_char=start + len(surface)
                    )
                )
            yield SimpleNamespace(ents=ents), context

    return SimpleNamespace(lang=lang, max_length=1000, pipe=pipe)


TITLE = "Emmanuel Macron reçoit Olaf Scholz à Paris"
BODY = "« Macron » a salué la Coupe du monde avec l'ONU au Royaume-Uni.\nAFP"


def test_a_french_pipelines_labels_map_to_ours_and_misc_is_dropped() -> None:
    nlp = _nlp(
        "fr",
        {
            TITLE: [("Emmanuel Macron", "PER"), ("Olaf Scholz", "PER"), ("Paris", "LOC")],
            BODY: [
                ("« Macron »", "LOC"),
                ("Coupe du monde", "MISC"),
                ("ONU", "ORG"),
                ("Royaume-Uni", "LOC"),
                ("AFP", "ORG"),
            ],
        },
    )
    article = make_article(title=TITLE, body=BODY, language="fr")
    entities = EntityTagger(nlp=nlp, learn=False).process(article).entities
    found = [(e.field, e.text, e.label, e.canonical) for e in entities]
    assert found == [
        ("title", "Emmanuel Macron", "PERSON", "Emmanuel Macron"),
        ("title", "Olaf Scholz", "PERSON", "Olaf Scholz"),
        ("title", "Paris", "LOC", "Paris"),
        # guillemets trimmed, and the surname is the person named in full (the label follows)
        ("body", "« Macron »", "PERSON", "Emmanuel Macron"),
        ("body", "ONU", "ORG", "ONU"),
        ("body", "Royaume-Uni", "LOC", "Royaume-Uni"),
        # "AFP" alone on the last line is the agency's sign-off: dropped
    ]


def test_english_rules_do_not_touch_other_languages() -> None:
    mentions = [
        Mention("body", 0, 2, "UK", "LOC"),
        Mention("body", 10, 33, "the Hague Group's", "ORG"),
        Mention("body", 40, 66, "Prime Minister Jean Dupont", "PERSON"),
    ]
    entities = canonicalize_neutral(mentions)
    assert [e.canonical for e in entities] == [
        "UK",  # no English alias list ("United Kingdom")
        "the Hague Group's",  # no English article or possessive
        "Prime Minister Jean Dupont",  # no English titles
    ]


def test_a_lone_surname_takes_the_full_name_only_when_the_article_is_unambiguous() -> None:
    mentions = [
        Mention("body", 0, 12, "Marie Dupont", "PERSON"),
        Mention("body", 20, 32, "Jean Dupont", "PERSON"),
        Mention("body", 40, 46, "Dupont", "PERSON"),
    ]
    assert canonicalize_neutral(mentions)[2].canonical == "Dupont"
    assert clean_name("  «\u00a0Banque  de France\u00a0» ") == "Banque de France"
