"""Search query building, result shaping and rendering, without Elasticsearch."""

from __future__ import annotations

from typing import Any

import pytest
from rich.console import Console

from sinks.render import highlight_markup, render
from sinks.results import add_coverage, parse_response
from sinks.search import SearchRequest, build_coverage, build_search, parse_when, text_query


def filters_of(body: dict[str, Any]) -> list[dict[str, Any]]:
    return body["query"]["bool"]["filter"]


def test_a_plain_query_searches_title_boosted_and_body_canonical_only_one_per_story() -> None:
    body = build_search(SearchRequest(query="Hamas ceasefire"))
    assert body["query"]["bool"]["must"] == [
        {
            "multi_match": {
                "query": "Hamas ceasefire",
                "fields": ["title^2", "body", "localized.*.title^2", "localized.*.body"],
                "type": "best_fields",
                "operator": "and",
                "tie_breaker": 0.3,
            }
        }
    ]
    assert filters_of(body) == [{"term": {"is_canonical": True}}]
    assert body["collapse"]["field"] == "story_key"
    assert body["collapse"]["inner_hits"]["name"] == "story"
    assert body["sort"][0] == "_score"
    assert body["track_total_hits"] is True
    assert set(body["aggs"]) == {
        "people", "organizations", "places", "publishers", "agencies", "languages", "stories",
        "story_count",
    }  # fmt: skip
    assert body["aggs"]["publishers"] == {"terms": {"field": "publisher", "size": 10}}
    assert body["aggs"]["story_count"] == {"cardinality": {"field": "story_key"}}
    assert "body" not in body["_source"]
    assert body["highlight"]["fields"]["body"]["number_of_fragments"] == 2


def test_quotes_make_a_phrase() -> None:
    assert text_query('"humanitarian catastrophe"') == {
        "multi_match": {
            "query": "humanitarian catastrophe",
            "fields": ["title^2", "body", "localized.*.title^2", "localized.*.body"],
            "type": "phrase",
        }
    }


def test_no_query_matches_everything_newest_first() -> None:
    body = build_search(SearchRequest(sort="relevance"))
    assert body["query"]["bool"]["must"] == []
    assert body["sort"][0] == {"date": {"order": "desc"}}


def test_include_duplicates_and_no_collapse() -> None:
    body = build_search(SearchRequest(query="x", include_duplicates=True, collapse=False))
    assert filters_of(body) == []
    assert "collapse" not in body


def test_entity_filters_are_case_insensitive_and_all_must_match() -> None:
    request = SearchRequest(
        people=("sergei lavrov", "Vladimir Putin"), organizations=("Hamas",), places=("Gaza",)
    )
    assert filters_of(build_search(request))[1:] == [
        {"term": {"people.folded": "sergei lavrov"}},
        {"term": {"people.folded": "Vladimir Putin"}},
        {"term": {"organizations.folded": "Hamas"}},
        {"term": {"places.folded": "Gaza"}},
    ]


def test_entity_with_type_is_one_nested_condition() -> None:
    request = SearchRequest(entities=("Lavrov",), entity_types=("person",))
    assert filters_of(build_search(request))[1:] == [
        {
            "nested": {
                "path": "entities",
                "query": {
                    "bool": {
                        "filter": [
                            {"term": {"entities.canonical.folded": "Lavrov"}},
                            {"terms": {"entities.label": ["PERSON"]}},
                        ]
                    }
                },
            }
        }
    ]


def test_entity_type_alone_needs_some_entity_of_that_type() -> None:
    clauses = filters_of(build_search(SearchRequest(entity_types=("NORP", "event"))))
    assert clauses[1:] == [{"terms": {"entity_labels": ["NORP", "EVENT"]}}]


def test_publishers_agencies_and_stories_are_alternatives() -> None:
    request = SearchRequest(
        publishers=("Daily Ledger", "Metro Wire"), agencies=("reuters",), stories=("s1", "s2")
    )
    assert filters_of(build_search(request))[1:] == [
        {"terms": {"publisher.folded": ["Daily Ledger", "Metro Wire"]}},
        {"terms": {"agencies.folded": ["reuters"]}},
        {"terms": {"story_id": ["s1", "s2"]}},
    ]


def test_languages_are_alternatives_and_a_facet() -> None:
    body = build_search(SearchRequest(languages=("fr", "EN", "und")))
    assert filters_of(body)[1:] == [{"terms": {"language": ["fr", "en", "und"]}}]
    assert body["aggs"]["languages"] == {"terms": {"field": "language", "size": 10}}


def test_date_range_and_date_sort() -> None:
    body = build_search(
        SearchRequest(query="x", since="2023-12-01", until="2023-12-10", sort="date")
    )
    assert filters_of(body)[1] == {
        "range": {"date": {"gte": "2023-12-01", "lte": "2023-12-10||/d"}}
    }
    assert body["sort"] == [{"date": {"order": "desc"}}, "_score"]


@pytest.mark.parametrize(
    ("text", "end", "expected"),
    [
        ("7d", False, "now-7d"),
        ("12h", False, "now-12h"),
        ("now-1w/d", False, "now-1w/d"),
        ("2023-12-10", False, "2023-12-10"),
        ("2023-12-10", True, "2023-12-10||/d"),
        ("2023-12-10T16:15:00Z", True, "2023-12-10T16:15:00+00:00"),
    ],
)
def test_parse_when(text: str, end: bool, expected: str) -> None:
    assert parse_when(text, end=end) == expected


def test_parse_when_says_what_it_accepts() -> None:
    with pytest.raises(ValueError, match="use 2023-12-10"):
        parse_when("last tuesday")


def test_coverage_query_counts_copies_of_the_stories_on_the_page() -> None:
    body = build_coverage(SearchRequest(query="Hamas"), ["s1", "article:ab"])
    assert {"term": {"is_canonical": True}} not in filters_of(body)
    assert filters_of(body)[-1] == {"terms": {"story_key": ["s1", "article:ab"]}}
    assert body["size"] == 0
    by_story = body["aggs"]["by_story"]
    assert by_story["terms"] == {"field": "story_key", "size": 2}
    assert set(by_story["aggs"]) == {"outlets", "outlet_count", "copies"}


SEARCH_RESPONSE: dict[str, Any] = {
    "took": 12,
    "hits": {
        "total": {"value": 3, "relation": "eq"},
        "hits": [
            {
                "_id": "a1",
                "_score": 2.5,
                "_source": {
                    "article_id": "a1",
                    "title": "Netanyahu [told] Putin",
                    "publisher": "Daily Ledger",
                    "agencies": ["Reuters"],
                    "date": "2023-10-16T18:45:00+00:00",
                    "story_id": "s1",
                    "story_key": "s1",
                    "is_canonical": True,
                    "people": ["Benjamin Netanyahu"],
                    "places": ["Gaza"],
                },
                "highlight": {
                    "title": ["Netanyahu [told] <em>Putin</em>"],
                    "body": ["eliminate the <em>Hamas</em> terrorist group"],
                },
                "inner_hits": {
                    "story": {
                        "hits": {
                            "total": {"value": 2},
                            "hits": [
                                {"_id": "a1", "_source": {"article_id": "a1", "title": "t"}},
                                {
                                    "_id": "a2",
                                    "_source": {
                                        "article_id": "a2",
                                        "title": "Putin and Netanyahu speak",
                                        "publisher": "Coastal Times",
                                        "is_canonical": True,
                                    },
                                },
                            ],
                        }
                    }
                },
            }
        ],
    },
    "aggregations": {
        "people": {"buckets": [{"key": "Benjamin Netanyahu", "doc_count": 2}]},
        "publishers": {"buckets": [{"key": "Daily Ledger", "doc_count": 1}]},
        "stories": {
            "buckets": [
                {
                    "key": "s1",
                    "doc_count": 2,
                    "headline": {"hits": {"hits": [{"_source": {"title": "First report"}}]}},
                }
            ]
        },
        "story_count": {"value": 1},
    },
}
COVERAGE_RESPONSE: dict[str, Any] = {
    "aggregations": {
        "by_story": {
            "buckets": [
                {
                    "key": "s1",
                    "doc_count": 5,
                    "copies": {"doc_count": 3},
                    "outlet_count": {"value": 4},
                    "outlets": {"buckets": [{"key": "Daily Ledger"}, {"key": "Metro Wire"}]},
                }
            ]
        }
    }
}


def test_parse_response_and_coverage() -> None:
    result = parse_response(SEARCH_RESPONSE, SearchRequest(query="Putin"))
    add_coverage(result, COVERAGE_RESPONSE)
    assert (result.total, result.stories, result.took_ms) == (3, 1, 12)
    (hit,) = result.hits
    assert hit.article_id == "a1"
    assert hit.title_highlight == "Netanyahu [told] <em>Putin</em>"
    assert hit.snippets == ["eliminate the <em>Hamas</em> terrorist group"]
    assert hit.story_matches == 2
    assert [r.article_id for r in hit.related] == ["a2"]  # the hit itself is not repeated
    assert hit.coverage is not None
    assert (hit.coverage.articles, hit.coverage.copies, hit.coverage.outlet_count) == (5, 3, 4)
    assert result.facets["people"][0].value == "Benjamin Netanyahu"
    assert result.facets["people"][0].count == 2
    assert result.facets["stories"][0].label == "First report"
    assert "story_count" not in result.facets
    as_json = result.to_dict()
    assert as_json["hits"][0]["coverage"]["outlets"] == ["Daily Ledger", "Metro Wire"]


def test_render_shows_hits_highlights_coverage_and_facets() -> None:
    result = parse_response(SEARCH_RESPONSE, SearchRequest(query="Putin"))
    add_coverage(result, COVERAGE_RESPONSE)
    console = Console(record=True, width=160, color_system=None)
    render(result, console)
    text = console.export_text()
    assert "3 articles in 1 story" in text
    assert "Netanyahu [told] Putin" in text  # brackets kept literally, tags gone
    assert "<em>" not in text
    assert "5 articles" in text
    assert "4 outlets" in text
    assert "First report" in text
    assert "Benjamin Netanyahu" in text


def test_highlight_markup_escapes_before_styling() -> None:
    assert highlight_markup("a [b] <em>c</em>") == "a \\[b] [bold yellow]c[/bold yellow]"


def test_story_label_skips_articles_pasted_without_a_headline() -> None:
    from sinks.results import _headline

    bucket = {
        "headline": {
            "hits": {
                "hits": [
                    {"_source": {"title": ""}},
                    {"_source": {"title": "Netanyahu tells Putin"}},
                ]
            }
        }
    }
    assert _headline(bucket) == "Netanyahu tells Putin"
    assert _headline({"headline": {"hits": {"hits": [{"_source": {"title": ""}}]}}}) is None
