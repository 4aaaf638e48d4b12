"""JSONL input: full Article dumps, loose objects and pasted text, with errors naming file:line."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from producers.jsonl import article_from_object, iter_jsonl_articles
from wirehose.core.article import Article, make_article_id
from wirehose.core.errors import InvalidArticle


def write_lines(path: Path, *lines: str) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_loose_object_becomes_an_article_keyed_by_its_url(tmp_path: Path) -> None:
    loose = {
        "title": "Quake hits coast",
        "body": "A strong earthquake struck on Monday.",
        "url": "https://www.example.com/quake?utm_source=rss",
        "publisher": "Example News",
        "agencies": ["Reuters"],
        "published_at": "2024-01-02T03:04:05+02:00",
    }
    (article,) = iter_jsonl_articles(write_lines(tmp_path / "in.jsonl", json.dumps(loose)))
    assert article.title == "Quake hits coast"
    assert article.publisher == "Example News"
    assert article.agencies == ("Reuters",)
    assert article.published_at == datetime(2024, 1, 2, 1, 4, 5, tzinfo=UTC)
    assert article.source == "in.jsonl:1"
    assert article.producer == "replay"
    assert article.article_id == make_article_id(url="https://example.com/quake", title="", body="")


def test_full_article_line_round_trips_unchanged(tmp_path: Path) -> None:
    original = Article.create(title="T", body="Body text.", producer="rss", publisher="P")
    path = write_lines(tmp_path / "dump.jsonl", "", original.to_bytes().decode(), "")
    assert list(iter_jsonl_articles(path)) == [original]


def test_text_field_goes_through_the_seed_rules() -> None:
    article = article_from_object(
        {"text": "Headline here\n\nStory text.\n\nThis post appeared first on FOX NEWS"}
    )
    assert article.title == "Headline here"
    assert article.body == "Story text."
    assert article.publisher == "FOX NEWS"


def test_same_line_twice_gives_the_same_key(tmp_path: Path) -> None:
    line = json.dumps({"title": "A", "body": "Same words."})
    path = write_lines(tmp_path / "twice.jsonl", line, line)
    first, second = iter_jsonl_articles(path)
    assert first.article_id == second.article_id


@pytest.mark.parametrize(
    ("line", "reason", "message"),
    [
        ("{not json", "invalid-json", "bad.jsonl:2"),
        ('{"title": "x"}', "empty-body", "needs a non-empty 'body'"),
        ('{"body": "x", "pubisher": "typo"}', "wrong-schema", "unknown field(s) ['pubisher']"),
        ("[1, 2]", "wrong-schema", "expected a JSON object, got list"),
    ],
)
def test_bad_lines_name_file_line_and_fix(
    tmp_path: Path, line: str, reason: str, message: str
) -> None:
    good = json.dumps({"body": "fine"})
    path = write_lines(tmp_path / "bad.jsonl", good, line)
    articles = iter_jsonl_articles(path)
    assert next(articles).body == "fine"
    with pytest.raises(InvalidArticle) as err:
        next(articles)
    assert err.value.reason == reason
    assert "bad.jsonl:2" in str(err.value)
    assert message in str(err.value)
