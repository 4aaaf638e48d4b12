"""The Article record: deterministic ids, validation reasons, wire round trip."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from tests.factories import make_article
from wirehose.core.article import Article, canonical_url, content_hash, make_article_id
from wirehose.core.errors import InvalidArticle


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("https://www.example.com/news/1/", "http://example.com/news/1"),
        ("https://example.com/a?utm_source=x&id=3", "https://example.com/a?id=3"),
        ("https://Example.com:443/a#comments", "https://example.com/a"),
        ("https://example.com/a?b=2&a=1", "https://example.com/a?a=1&b=2"),
    ],
)
def test_canonical_url_folds_variants_of_one_page(a: str, b: str) -> None:
    assert canonical_url(a) == canonical_url(b)


def test_canonical_url_keeps_what_names_the_page() -> None:
    assert canonical_url("https://example.com/a?id=3") != canonical_url(
        "https://example.com/a?id=4"
    )
    assert canonical_url("https://example.com:8443/a") == "https://example.com:8443/a"


def test_article_id_prefers_the_url_over_the_text() -> None:
    by_url = make_article_id(url="https://example.com/a", title="T", body="one")
    assert by_url == make_article_id(
        url="https://example.com/a/?utm_medium=rss", title="T2", body="two"
    )


def test_article_id_from_text_ignores_typography() -> None:
    curly = make_article_id(url=None, title="“Hot” call", body="Netanyahu’s  office —\nsaid")
    straight = make_article_id(url=None, title='"hot" call', body="Netanyahu's office - said")
    assert curly == straight
    assert curly != make_article_id(url=None, title='"hot" call', body="another body")


def test_content_hash_matches_copies_differing_in_quotes_and_space() -> None:
    assert content_hash("It’s  here") == content_hash("it's here")


def test_round_trip_through_bytes_is_lossless() -> None:
    article = make_article(
        url="https://example.com/x",
        agencies=("Reuters",),
        published_at=datetime(2023, 10, 16, tzinfo=UTC),
    )
    assert Article.from_bytes(article.to_bytes()) == article


def test_naive_and_offset_datetimes_become_utc() -> None:
    naive = make_article(published_at=datetime(2023, 12, 10, 16, 15))
    assert naive.published_at == datetime(2023, 12, 10, 16, 15, tzinfo=UTC)
    jerusalem = timezone(timedelta(hours=2))
    shifted = make_article(published_at=datetime(2023, 12, 10, 16, 15, tzinfo=jerusalem))
    assert shifted.published_at == datetime(2023, 12, 10, 14, 15, tzinfo=UTC)


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"", "empty-message"),
        (None, "empty-message"),
        (b"{oops", "invalid-json"),
        (b"\xff\xfe\x00garbage", "invalid-json"),
        (b"[1, 2]", "wrong-schema"),
        (json.dumps({"schema_version": 2, "body": "x"}).encode(), "unknown-schema-version"),
        (json.dumps({"schema_version": 1, "body": " \n "}).encode(), "empty-body"),
        (json.dumps({"schema_version": 1, "body": "text"}).encode(), "wrong-schema"),
        (
            json.dumps(
                {
                    "schema_version": 1,
                    "article_id": "a" * 32,
                    "body": "x",
                    "producer": "t",
                    "surprise": 1,
                }
            ).encode(),
            "wrong-schema",
        ),
    ],
)
def test_invalid_bytes_raise_with_a_reason(payload: bytes | None, reason: str) -> None:
    with pytest.raises(InvalidArticle) as caught:
        Article.from_bytes(payload)
    assert caught.value.reason == reason


def test_oversized_body_is_rejected_by_the_limit() -> None:
    article = make_article(body="word " * 100)
    with pytest.raises(InvalidArticle) as caught:
        Article.from_bytes(article.to_bytes(), max_body_chars=50)
    assert caught.value.reason == "oversized-body"
    assert Article.from_bytes(article.to_bytes(), max_body_chars=10_000) == article
