"""The web page's parameters become SearchRequest fields, never query syntax; links add and remove
one filter at a time."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import pytest

from sinks.request import SearchRequest
from sinks.search import build_search
from wirehose.web.params import API, PAGE, Link, ParamError, parse_search


def test_every_parameter_lands_in_its_field() -> None:
    request = parse_search(
        [
            ("q", " ceasefire talks "), ("person", "Sergei Lavrov"), ("person", "Antony Blinken"),
            ("org", "Hamas"), ("place", "Gaza"), ("entity", "Putin"), ("entity_type", "person"),
            ("publisher", "Daily Ledger"), ("agency", "Reuters"), ("language", "FR"),
            ("story", "3f9a"), ("since", "2023-10-01"), ("until", "2023-10-31"),
            ("sort", "date"), ("limit", "50"), ("offset", "100"), ("facets", "5"),
            ("timeline", "hour"), ("duplicates", "1"), ("collapse", "0"),
        ]
    )  # fmt: skip
    assert request == SearchRequest(
        query="ceasefire talks", people=("Sergei Lavrov", "Antony Blinken"),
        organizations=("Hamas",), places=("Gaza",), entities=("Putin",),
        entity_types=("PERSON",), publishers=("Daily Ledger",), agencies=("Reuters",),
        languages=("fr",), stories=("3f9a",), since="2023-10-01", until="2023-10-31",
        include_duplicates=True, collapse=False, sort="date", size=50, offset=100,
        facet_size=5, timeline="hour",
    )  # fmt: skip


def test_defaults_differ_between_page_and_api() -> None:
    assert parse_search([], API) == SearchRequest(size=10, timeline=None)
    assert parse_search([], PAGE) == SearchRequest(size=20, timeline="day")
    assert parse_search([("timeline", "none")], PAGE).timeline is None


def test_blank_values_and_the_token_are_not_parameters() -> None:
    request = parse_search([("q", ""), ("person", "  "), ("token", "secret"), ("since", "")])
    assert request == SearchRequest()


def test_query_syntax_stays_words_in_a_match_query() -> None:
    # Lucene syntax typed into the box is text for multi_match, which has no syntax of its own.
    typed = 'title:x OR body:/.*/ AND _exists_:secret {"script": 1}'
    body = build_search(parse_search([("q", typed)]))
    (clause,) = body["query"]["bool"]["must"]
    assert clause["multi_match"]["query"] == typed
    assert "query_string" not in str(body)
    assert "simple_query_string" not in str(body)


@pytest.mark.parametrize(
    ("pairs", "param", "says"),
    [
        ([("persn", "x")], "persn", "unknown parameter"),
        ([("q", "a"), ("q", "b")], "q", "more than once"),
        ([("limit", "0")], "limit", "from 1 to 1000"),
        ([("limit", "ten")], "limit", "whole number"),
        ([("offset", "9995"), ("limit", "10")], "offset", "10000"),
        ([("sort", "random")], "sort", "relevance or date"),
        ([("since", "last tuesday")], "since", "is not a date"),
        ([("until", "99999-01-01")], "until", "not a date"),
        ([("timeline", "week")], "timeline", "day, hour or none"),
        ([("duplicates", "maybe")], "duplicates", "1 or 0"),
        ([("language", "english")], "language", "not a language code"),
        ([("entity_type", "PER SON")], "entity_type", "not an entity type"),
        ([("q", "x" * 1001)], "q", "longer than"),
        ([("person", "x" * 201)], "person", "longer than"),
        ([("place", str(n)) for n in range(21)], "place", "at most 20"),
    ],
)
def test_a_bad_parameter_is_named(pairs: list[tuple[str, str]], param: str, says: str) -> None:
    with pytest.raises(ParamError) as caught:
        parse_search(pairs)
    assert caught.value.param == param
    assert says in str(caught.value)


def test_the_page_caps_rows_lower_than_the_api() -> None:
    assert parse_search([("limit", "1000")], API).size == 1000
    with pytest.raises(ParamError, match="from 1 to 100"):
        parse_search([("limit", "1000")], PAGE)


def _pairs(href: str) -> list[tuple[str, str]]:
    return parse_qsl(urlsplit(href).query)


def test_links_add_and_remove_one_filter_and_go_back_to_the_first_page() -> None:
    link = Link([("q", "truce"), ("place", "Gaza"), ("offset", "20")])
    assert _pairs(link.adding("person", "Sergei Lavrov")) == [
        ("q", "truce"), ("place", "Gaza"), ("person", "Sergei Lavrov"),
    ]  # fmt: skip
    assert _pairs(link.adding("place", "Gaza")) == [("q", "truce"), ("place", "Gaza")]
    assert _pairs(link.removing("place", "Gaza")) == [("q", "truce")]
    assert Link([("place", "Gaza")]).removing("place") == "/"
    assert _pairs(link.setting(timeline="hour", since="2023-10-16")) == [
        ("q", "truce"), ("place", "Gaza"), ("timeline", "hour"), ("since", "2023-10-16"),
    ]  # fmt: skip
    assert _pairs(link.page(40))[-1] == ("offset", "40")


def test_active_filters_each_have_a_removing_link() -> None:
    link = Link([("q", "truce"), ("person", "A & B"), ("sort", "date"), ("duplicates", "1")])
    chips = link.active()
    assert [(label, value) for label, value, _ in chips] == [
        ("Words", "truce"), ("Person", "A & B"), ("Wire copies", "included"),
    ]  # fmt: skip
    assert _pairs(chips[1][2]) == [("q", "truce"), ("sort", "date"), ("duplicates", "1")]
