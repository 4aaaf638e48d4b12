"""Canonical entity forms: pure functions, no spaCy model needed."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from processors.entities.canonical import (
    AliasMap,
    Mention,
    canonicalize,
    clean_surface,
    full_names,
    strip_titles,
    surname_key,
)
from processors.entities.tagger import EntityTagger, reanchor
from wirehose.core.article import Article, Entity


def mentions(text: str, *spans: tuple[str, str], field: str = "body") -> list[Mention]:
    """Mentions for each (surface, label) at its next occurrence in ``text``, left to right."""
    found, cursor = [], 0
    for surface, label in spans:
        start = text.index(surface, cursor)
        found.append(Mention(field, start, start + len(surface), surface, label))  # type: ignore[arg-type]
        cursor = start + 1
    return found


def canon(entities: list[Entity]) -> list[tuple[str, str, str]]:
    return [(e.text, e.label, e.canonical) for e in entities]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Prime Minister Benjamin Netanyahu", "Benjamin Netanyahu"),
        ("Israeli Prime Minister Benjamin Netanyahu", "Benjamin Netanyahu"),
        ("Pm Netanyahu", "Netanyahu"),
        ("Russian Foreign Minister Sergei Lavrov", "Sergei Lavrov"),
        ("Secretary of State Antony Blinken", "Antony Blinken"),
        ("Sir Keir Starmer", "Keir Starmer"),
        ("Benjamin Netanyahu", "Benjamin Netanyahu"),
        ("Pope Francis", "Pope Francis"),
        ("Prime Minister", "Prime Minister"),
        ("John Major", "John Major"),
    ],
)
def test_strip_titles(raw: str, expected: str) -> None:
    assert strip_titles(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Hamas’s", "Hamas"),
        ("Hamas’", "Hamas"),
        ("Netanyahu's", "Netanyahu"),
        ("the Gaza Strip", "Gaza Strip"),
        ("The United States", "United States"),
        ("The Hague", "The Hague"),
        ("“Operation Swords of Iron”", "Operation Swords of Iron"),
        ("a United States Supreme Court", "United States Supreme Court"),
        ("a ‘Frank Pentangeli", "Frank Pentangeli"),
        ("an Associated Press", "Associated Press"),
        ("the “Squad”", "Squad"),
        ("A Coruña", "A Coruña"),
        ("U.S.", "U.S."),
        ("  Vladimir\u00a0 Putin ", "Vladimir Putin"),
    ],
)
def test_clean_surface(raw: str, expected: str) -> None:
    assert clean_surface(raw) == expected


def test_surname_key_ignores_particles_and_suffixes() -> None:
    assert surname_key("Bashar al-Assad") == "assad"
    assert surname_key("Assad") == "assad"
    assert surname_key("Martin Luther King Jr.") == "king"
    assert surname_key("Linda Thomas-Greenfield") == "thomas-greenfield"


def test_netanyahu_variants_are_one_person() -> None:
    text = (
        "Prime Minister Benjamin Netanyahu spoke. Netanyahu said Israeli Pm Netanyahu "
        "and Netanyahu’s office agreed with Benjamin Netanyahu."
    )
    spans = [
        ("Prime Minister Benjamin Netanyahu", "PERSON"),
        ("Netanyahu", "PERSON"),
        ("Pm Netanyahu", "PERSON"),
        ("Netanyahu’s", "PERSON"),
        ("Benjamin Netanyahu", "PERSON"),
    ]
    entities = canonicalize(mentions(text, *spans))
    assert {e.canonical for e in entities} == {"Benjamin Netanyahu"}
    assert {e.label for e in entities} == {"PERSON"}
    for entity in entities:
        assert text[entity.start : entity.end] == entity.text


def test_surname_mislabelled_org_becomes_the_person() -> None:
    text = "Foreign Minister Sergei Lavrov spoke. Later, Lavrov indicated more."
    spans = [("Sergei Lavrov", "PERSON"), ("Lavrov", "ORG")]
    assert canon(canonicalize(mentions(text, *spans)))[1] == ("Lavrov", "PERSON", "Sergei Lavrov")


def test_lone_surname_without_full_name_stays_org_and_bare() -> None:
    text = "Lavrov indicated more."
    assert canon(canonicalize(mentions(text, ("Lavrov", "ORG")))) == [("Lavrov", "ORG", "Lavrov")]


def test_headline_overreach_is_trimmed_to_the_known_person() -> None:
    title = "Putin Phoned Israeli Counterpart"
    body = "Russian President Vladimir Putin offered support. Putin said more."
    found = mentions(title, ("Putin Phoned", "PERSON"), field="title") + mentions(
        body, ("Vladimir Putin", "PERSON"), ("Putin", "PERSON")
    )
    first = canonicalize(found)[0]
    assert (first.text, first.start, first.end, first.canonical) == (
        "Putin",
        0,
        5,
        "Vladimir Putin",
    )


def test_ambiguous_surname_is_left_alone() -> None:
    text = "Joe Biden and Hunter Biden met. Biden said nothing."
    spans = [("Joe Biden", "PERSON"), ("Hunter Biden", "PERSON"), ("Biden", "PERSON")]
    assert canonicalize(mentions(text, *spans))[2].canonical == "Biden"


def test_countries_mislabelled_are_gpe_but_a_named_surname_wins() -> None:
    text = "China, Gabon and Mozambique voted. Jim Jordan said Jordan was wrong."
    spans = [
        ("China", "GPE"),
        ("Gabon", "PERSON"),
        ("Mozambique", "ORG"),
        ("Jim Jordan", "PERSON"),
        ("Jordan", "GPE"),
    ]
    labels = [e.label for e in canonicalize(mentions(text, *spans))]
    assert labels == ["GPE", "GPE", "GPE", "PERSON", "PERSON"]


def test_aliases_and_articles() -> None:
    text = "The United States, the U.S. and Britain joined the UN Security Council at the Kremlin."
    spans = [
        ("The United States", "GPE"),
        ("U.S.", "GPE"),
        ("Britain", "GPE"),
        ("the UN Security Council", "ORG"),
        ("Kremlin", "GPE"),
    ]
    assert [(e.canonical, e.label) for e in canonicalize(mentions(text, *spans))] == [
        ("United States", "GPE"),
        ("United States", "GPE"),
        ("United Kingdom", "GPE"),
        ("United Nations Security Council", "ORG"),
        ("Kremlin", "ORG"),
    ]


def test_org_possessive_kept_unless_the_bare_name_occurs() -> None:
    text = "McDonald's and Hamas’s rivals; Hamas again."
    spans = [("McDonald's", "ORG"), ("Hamas’s", "ORG"), ("Hamas", "ORG")]
    assert [e.canonical for e in canonicalize(mentions(text, *spans))] == [
        "McDonald's",
        "Hamas",
        "Hamas",
    ]


def test_majority_label_wins_within_an_article() -> None:
    text = "Reuters said. Reuters added. Reuters wrote."
    spans = [("Reuters", "ORG"), ("Reuters", "GPE"), ("Reuters", "ORG")]
    assert {e.label for e in canonicalize(mentions(text, *spans))} == {"ORG"}


def test_group_plurals_facet_with_the_adjective() -> None:
    text = "Israelis and Palestinians; Israeli and Swiss views."
    spans = [("Israelis", "NORP"), ("Palestinians", "NORP"), ("Israeli", "NORP"), ("Swiss", "NORP")]
    assert [e.canonical for e in canonicalize(mentions(text, *spans))] == [
        "Israeli",
        "Palestinian",
        "Israeli",
        "Swiss",
    ]


def test_a_sign_off_on_the_last_line_is_not_an_entity() -> None:
    body = "LONDON - The Bank of England gave help, Reuter said.\nMore help came later.\n Reuter\n"
    first = body.index("Reuter")
    last = body.rindex("Reuter")
    found = [
        Mention("body", first, first + 6, "Reuter", "PERSON"),
        Mention("body", last, last + 6, "Reuter", "PERSON"),
    ]
    kept = canonicalize(found, texts={"body": body})
    assert [(e.start, e.canonical) for e in kept] == [(first, "Reuter")]
    assert canonicalize(found) != kept, "without the text there is no last line to know"


def test_a_name_split_at_its_particle_is_one_person() -> None:
    text = "President Abdel Fattah el-Sisi spoke. Later al-Sisi said Sisi and El-Sisi agreed."
    spans = [
        ("Abdel Fattah", "PERSON"),
        ("el-Sisi", "NORP"),
        ("al-Sisi", "PERSON"),
        ("Sisi", "ORG"),
        ("El-Sisi", "NORP"),
    ]
    entities = canonicalize(mentions(text, *spans), texts={"body": text})
    assert [(e.text, e.label, e.canonical) for e in entities] == [
        ("Abdel Fattah el-Sisi", "PERSON", "Abdel Fattah el-Sisi"),
        ("al-Sisi", "PERSON", "Abdel Fattah el-Sisi"),
        ("Sisi", "PERSON", "Abdel Fattah el-Sisi"),
        ("El-Sisi", "PERSON", "Abdel Fattah el-Sisi"),
    ]
    assert text[entities[0].start : entities[0].end] == "Abdel Fattah el-Sisi"


def test_lone_surnames_with_and_without_particle_are_one() -> None:
    text = "Egypt's al-Sisi spoke and Sisi left."
    spans = [("al-Sisi", "PERSON"), ("Sisi", "PERSON")]
    assert {e.canonical for e in canonicalize(mentions(text, *spans))} == {"Sisi"}


def test_an_acronym_the_article_defines_is_the_name() -> None:
    text = (
        "Ministers of the European Community (EC) met. The EC said prices would fall, and the "
        "Islamic State (ISIS) was not discussed; ISIS and the European Community were."
    )
    spans = [
        ("the European Community", "ORG"),
        ("EC", "ORG"),
        ("EC", "GPE"),
        ("the Islamic State", "ORG"),
        ("ISIS", "ORG"),
        ("ISIS", "ORG"),
        ("the European Community", "ORG"),
    ]
    entities = canonicalize(mentions(text, *spans), texts={"body": text})
    assert [(e.text, e.label, e.canonical) for e in entities] == [
        ("the European Community", "ORG", "European Community"),
        ("EC", "ORG", "European Community"),
        ("EC", "ORG", "European Community"),
        ("the Islamic State", "ORG", "Islamic State"),
        ("ISIS", "ORG", "ISIS"),  # not its initials: a parenthesis says many things
        ("ISIS", "ORG", "ISIS"),
        ("the European Community", "ORG", "European Community"),
    ]


def test_alias_map_resolves_a_clear_majority_only() -> None:
    aliases = AliasMap(min_count=2, min_share=0.75)
    aliases.observe(["Vladimir Putin"])
    assert aliases.resolve("Putin") is None, "one article is not enough evidence"
    aliases.observe(["Vladimir Putin", "Vladimir Putin"])  # counted once per article
    aliases.observe(["Vladimir Putin"])
    assert aliases.resolve("Putin") == "Vladimir Putin"
    for _ in range(3):
        aliases.observe(["Joe Biden"])
        aliases.observe(["Hunter Biden"])
    assert aliases.resolve("Biden") is None
    restored = AliasMap.from_dict(aliases.to_dict())
    assert restored.resolve("Putin") == "Vladimir Putin"
    assert restored.to_dict() == aliases.to_dict()


def test_cross_article_alias_names_a_lone_surname() -> None:
    aliases = AliasMap(min_count=1)
    aliases.observe(["Vladimir Putin"])
    text = "Putin spoke."
    assert canonicalize(mentions(text, ("Putin", "PERSON")), aliases)[0].canonical == (
        "Vladimir Putin"
    )


def test_full_names_feed_the_alias_map() -> None:
    text = "Benjamin Netanyahu met Putin. Netanyahu left."
    spans = [("Benjamin Netanyahu", "PERSON"), ("Putin", "PERSON"), ("Netanyahu", "PERSON")]
    assert full_names(canonicalize(mentions(text, *spans))) == ["Benjamin Netanyahu"]


def _article(title: str, body: str) -> Article:
    return Article.create(title=title, body=body, producer="test")


def test_reanchor_finds_entities_in_a_copy_without_double_counting() -> None:
    source = [
        Entity(
            label="PERSON",
            text="Benjamin Netanyahu",
            canonical="Benjamin Netanyahu",
            start=0,
            end=18,
        ),
        Entity(label="PERSON", text="Netanyahu", canonical="Benjamin Netanyahu", start=40, end=49),
        Entity(label="ORG", text="Hamas", canonical="Hamas", start=60, end=65),
    ]
    copy = _article("Netanyahu vows", "Israel's Benjamin Netanyahu vows to end Hamas. Netanyahu.")
    found = reanchor(copy, source)
    assert [
        (
            e.field,
            e.text,
            copy.title[e.start : e.end] if e.field == "title" else copy.body[e.start : e.end],
        )
        for e in found
    ] == [
        ("title", "Netanyahu", "Netanyahu"),
        ("body", "Benjamin Netanyahu", "Benjamin Netanyahu"),
        ("body", "Hamas", "Hamas"),
        ("body", "Netanyahu", "Netanyahu"),
    ]
    assert {e.canonical for e in found if e.label == "PERSON"} == {"Benjamin Netanyahu"}


def test_tag_from_canonical_declines_when_the_copy_differs() -> None:
    tagger = EntityTagger(nlp=SimpleNamespace(max_length=10))  # type: ignore[arg-type]
    source = [
        Entity(label="PERSON", text=name, canonical=name, start=0, end=len(name))
        for name in ("Vladimir Putin", "Sergei Lavrov", "Emmanuel Macron")
    ]
    same = _article("", "Vladimir Putin, Sergei Lavrov and Emmanuel Macron met.")
    other = _article("", "Vladimir Putin met nobody.")
    tagged = tagger.tag_from_canonical(same, source)
    assert tagged is not None
    assert [e.text for e in tagged.entities] == [
        "Vladimir Putin",
        "Sergei Lavrov",
        "Emmanuel Macron",
    ]
    assert tagger.tag_from_canonical(other, source) is None
    assert tagger.aliases.to_dict() == {}, "re-anchoring must not count names twice"
