"""Bad input, fuzzed: wire bytes, JSON Lines, pasted text and seed files.

Articles come from strangers. Whatever they send, ``Article.from_bytes``, the JSONL reader
(``producers.jsonl``) and the pasted-text parser (``producers.seeds`` with the rules of
``wirehose.core.textrules``) either return a valid article (one that survives
``to_bytes``/``from_bytes`` unchanged) or raise ``DropArticle`` with a ``Reason``. Any other
exception is a bug. Hypothesis generates the input (tests/strategies.py); the "ci" profile in
tests/conftest.py makes the examples the same on every run. Feeds and HTML are fuzzed in
test_fuzz_feeds.py; that no input takes more than linear time is tested in test_linear_time.py.

Below the properties, one example per bug the fuzzing found, so each stays fixed.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TypeVar

import pytest
from hypothesis import given
from hypothesis import strategies as st

from processors.dedup.text import shingle_hashes, story_paragraphs
from producers.jsonl import article_from_object, iter_jsonl_articles
from producers.seeds import parse_article_text, parse_seed_file
from tests.strategies import (
    NEWS_TOKENS,
    deep_json,
    encodings_of,
    hostile_text,
    json_bytes,
    json_scalars,
    json_values,
    long_number,
    mutated,
    pasted_article,
)
from wirehose.core import textrules as rules
from wirehose.core.article import Article
from wirehose.core.deadletter import DeadLetter, Reason
from wirehose.core.errors import DropArticle, ExtractionError, InvalidArticle

VALID = Article.create(
    title="Quake hits coast",
    body="A strong earthquake struck on Monday.",
    url="https://example.com/quake",
    producer="rss",
    agencies=("Reuters",),
    published_at=datetime.fromisoformat("2024-01-02T03:04:05+02:00"),
)
T = TypeVar("T")
E = TypeVar("E", bound=BaseException)
ARTICLE_FIELDS = tuple(Article.model_fields)
LOOSE_FIELDS = ("title", "body", "text", "url", "producer", "publisher", "byline", "agencies")
LOOSE_FIELDS += ("language", "published_at", "source", "raw", "subtitle", "pubisher")


def assert_valid(article: Article) -> None:
    """A valid result: it goes on the wire and comes back the same."""
    assert article.body.strip()
    assert Article.from_bytes(article.to_bytes()) == article


def outcome(call: Callable[[], T], error: type[E]) -> T | E:
    """What ``call()`` returns, or the ``error`` it raises; anything else propagates."""
    try:
        return call()
    except error as exc:
        return exc


def assert_rejected_with_a_reason(exc: DropArticle, original: bytes = b"") -> None:
    """A rejection names a known reason, and its dead letter can be written."""
    assert isinstance(exc.reason, Reason)
    assert isinstance(exc.detail, str)
    DeadLetter.from_drop(exc, step="validate", original=original).to_bytes()


# --- Article.from_bytes ---------------------------------------------------------------------
article_objects = st.fixed_dictionaries(
    {
        "schema_version": st.sampled_from((1, 1.0, True, "1", 2, 0, None)),
        "article_id": st.one_of(
            st.just(VALID.article_id), st.text("0123456789abcdef", max_size=70), hostile_text(3)
        ),
        "body": st.one_of(hostile_text(), json_scalars),
        "producer": st.one_of(st.just("rss"), json_scalars),
    },
    optional={
        name: json_values(st.sampled_from((*ARTICLE_FIELDS, "x")))
        for name in ARTICLE_FIELDS
        if name not in {"schema_version", "article_id", "body", "producer"}
    },
)
wire_bytes = st.one_of(
    st.binary(max_size=300),
    mutated(VALID.to_bytes()),
    article_objects.map(json_bytes),
    article_objects.map(lambda obj: json.dumps(obj, ensure_ascii=False)).flatmap(
        lambda text: encodings_of(st.just(text))
    ),
    json_values(st.sampled_from(ARTICLE_FIELDS)).map(json_bytes),
    deep_json(),
    long_number(),
)


@given(data=wire_bytes, limit=st.one_of(st.none(), st.integers(min_value=0, max_value=50)))
def test_wire_bytes_give_an_article_or_a_reason(data: bytes, limit: int | None) -> None:
    result = outcome(lambda: Article.from_bytes(data, max_body_chars=limit), InvalidArticle)
    if isinstance(result, InvalidArticle):
        assert_rejected_with_a_reason(result, data)
    else:
        assert_valid(result)


@given(data=wire_bytes, limit=st.one_of(st.none(), st.integers(min_value=0, max_value=50)))
def test_internal_reading_agrees_with_the_door(data: bytes, limit: int | None) -> None:
    """``from_internal`` (the stages after the door) accepts exactly what ``from_bytes`` does,
    the same article, and refuses the rest with the same reason."""
    door = outcome(lambda: Article.from_bytes(data, max_body_chars=limit), InvalidArticle)
    inside = outcome(lambda: Article.from_internal(data, max_body_chars=limit), InvalidArticle)
    if isinstance(door, InvalidArticle):
        assert isinstance(inside, InvalidArticle)
        assert inside.reason is door.reason
    else:
        assert isinstance(inside, Article)
        # fetched_at, when the record has none, is the moment of each reading.
        assert inside.model_copy(update={"fetched_at": door.fetched_at}) == door
        assert (inside.fetched_at == door.fetched_at) or b'"fetched_at"' not in data


# --- JSON Lines -----------------------------------------------------------------------------
loose_objects = st.one_of(
    st.dictionaries(
        st.one_of(st.sampled_from(LOOSE_FIELDS), hostile_text(2)),
        st.one_of(hostile_text(), pasted_article(), json_values(st.sampled_from(LOOSE_FIELDS))),
        max_size=8,
    ),
    article_objects,
    json_values(st.sampled_from(LOOSE_FIELDS)),
)


@given(obj=loose_objects)
def test_decoded_objects_give_an_article_or_a_reason(obj: object) -> None:
    result = outcome(lambda: article_from_object(obj, source="api"), DropArticle)
    if isinstance(result, DropArticle):
        assert_rejected_with_a_reason(result)
    else:
        assert_valid(result)


jsonl_lines = st.one_of(
    loose_objects.map(json_bytes),
    loose_objects.map(lambda obj: json.dumps(obj, ensure_ascii=False)).flatmap(
        lambda text: encodings_of(st.just(text))
    ),
    st.binary(max_size=60),
    deep_json(3000),
    st.sampled_from((b"", b"   ", b"\x00", b"\xef\xbb\xbf{}", b'{"body": "x"}' * 3)),
)


@given(
    lines=st.lists(jsonl_lines, max_size=6),
    newline=st.sampled_from((b"\n", b"\r\n", b"\r")),
)
def test_jsonl_files_give_articles_or_a_reason_at_file_and_line(
    lines: list[bytes], newline: bytes
) -> None:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "in.jsonl"
        path.write_bytes(newline.join(lines))
        result = outcome(lambda: list(iter_jsonl_articles(path)), DropArticle)
    if isinstance(result, DropArticle):
        assert_rejected_with_a_reason(result)
        assert result.detail.startswith("in.jsonl:")
    else:
        for article in result:
            assert_valid(article)


# --- pasted text and seed files -------------------------------------------------------------
pasted = st.one_of(pasted_article(), hostile_text(), st.text(st.characters(exclude_categories=())))


@given(text=pasted)
def test_pasted_text_gives_an_article_or_a_reason(text: str) -> None:
    result = outcome(lambda: parse_article_text(text, source="paste"), ExtractionError)
    if isinstance(result, ExtractionError):
        assert_rejected_with_a_reason(result)
        assert result.reason in {Reason.NO_BODY, Reason.NOT_UTF8}
    else:
        assert_valid(result)
        assert result.raw == text


@given(data=st.one_of(encodings_of(pasted_article()), st.binary(max_size=200)))
def test_seed_files_give_an_article_or_a_reason(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "seed.txt"
        path.write_bytes(data)
        result = outcome(lambda: parse_seed_file(path), ExtractionError)
    if isinstance(result, ExtractionError):
        assert_rejected_with_a_reason(result)
    else:
        assert_valid(result)


@given(paragraph=st.one_of(hostile_text(), st.sampled_from(NEWS_TOKENS)))
def test_every_text_rule_answers_any_paragraph(paragraph: str) -> None:
    assert isinstance(rules.folded(paragraph), str)
    assert isinstance(rules.looks_like_headline(paragraph), bool)
    assert isinstance(rules.is_section_label(paragraph), bool)
    assert isinstance(rules.is_boilerplate(paragraph), bool)
    assert rules.canonical_agency(paragraph) in {None, *rules.AGENCIES.values()}
    credited = rules.credited_agencies(paragraph)
    assert credited is None or set(credited) <= set(rules.AGENCIES.values())
    for answer in (
        rules.trailer_publisher(paragraph),
        rules.staff_byline(paragraph),
        rules.byline(paragraph),
    ):
        assert answer is None or isinstance(answer, str)
    _agency, _publisher, rest = rules.split_dateline(paragraph)
    assert rest in paragraph
    when = rules.parse_date_header(paragraph)
    assert when is None or when.utcoffset() is not None


@given(text=pasted)
def test_dedup_reads_any_text(text: str) -> None:
    assert all(paragraph.strip() for paragraph in story_paragraphs(text))
    assert all(0 <= value < 2**32 for value in shingle_hashes(text))


# --- regressions: one input per bug the fuzzing found ---------------------------------------
def valid_json(**changes: object) -> dict[str, object]:
    return {**json.loads(VALID.to_bytes()), **changes}


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        pytest.param(b"[" * 100_000, Reason.INVALID_JSON, id="nesting-past-recursion-limit"),
        pytest.param(b'{"a":' * 100_000, Reason.INVALID_JSON, id="objects-past-recursion-limit"),
        pytest.param(b'{"n": ' + b"1" * 5000 + b"}", Reason.INVALID_JSON, id="5000-digit-int"),
        pytest.param(
            json_bytes(valid_json(body="text \ud800")), Reason.INVALID_JSON, id="surrogate-escape"
        ),
        pytest.param(
            json.dumps(valid_json(title="\udcff")).encode().replace(b"\\udcff", b"\xed\xb3\xbf"),
            Reason.INVALID_JSON,
            id="surrogate-in-utf8-bytes",
        ),
        pytest.param(
            json_bytes(valid_json(fetched_at="0001-01-01T00:00:00+01:00")),
            Reason.WRONG_SCHEMA,
            id="date-before-year-1-in-utc",
        ),
    ],
)
def test_wire_bytes_that_once_escaped_as_other_errors(data: bytes, reason: Reason) -> None:
    # Before: RecursionError, ValueError, an Article that to_bytes() could not write, and
    # OverflowError from the UTC conversion.
    with pytest.raises(InvalidArticle) as err:
        Article.from_bytes(data)
    assert err.value.reason is reason
    with pytest.raises(InvalidArticle) as err:
        Article.from_internal(data)
    assert err.value.reason is reason


@pytest.mark.parametrize(
    ("obj", "reason", "detail"),
    [
        ({"body": "x", "url": 5}, Reason.WRONG_SCHEMA, "'url' must be a string, got int"),
        ({"body": "x", "title": [1]}, Reason.WRONG_SCHEMA, "'title' must be a string, got list"),
        ({"text": "Head\n\nStory.", "source": 5}, Reason.WRONG_SCHEMA, "'source' must be"),
        ({"text": "Story.", "url": "http://[::1"}, Reason.WRONG_SCHEMA, "Invalid IPv6 URL"),
        ({"text": "Head\n\nStory \ud800"}, Reason.INVALID_JSON, "unpaired surrogate"),
    ],
)
def test_loose_objects_that_once_escaped_as_other_errors(
    obj: dict[str, object], reason: Reason, detail: str
) -> None:
    # Before: AttributeError, TypeError, pydantic's ValidationError, ValueError and
    # UnicodeEncodeError, all from the same loose objects.
    with pytest.raises(InvalidArticle) as err:
        article_from_object(obj)
    assert err.value.reason is reason
    assert detail in err.value.detail


def test_a_jsonl_line_that_is_not_utf8_is_named_by_its_line(tmp_path: Path) -> None:
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(b'{"body": "fine"}\n{"body": "caf\xe9"}\n')
    articles = iter_jsonl_articles(path)
    assert next(articles).body == "fine"
    with pytest.raises(InvalidArticle) as err:  # before: UnicodeDecodeError, no line
        next(articles)
    assert err.value.reason is Reason.INVALID_JSON
    assert err.value.detail.startswith("mixed.jsonl:2:")


def test_a_seed_file_that_is_not_utf8_is_an_extraction_error(tmp_path: Path) -> None:
    path = tmp_path / "latin1.txt"
    path.write_bytes("Headline\n\nLe café a fermé.".encode("latin-1"))
    with pytest.raises(ExtractionError) as err:  # before: UnicodeDecodeError
        parse_seed_file(path)
    assert err.value.reason is Reason.NOT_UTF8
    assert "latin1.txt" in err.value.detail


def test_pasted_text_with_a_surrogate_is_an_extraction_error() -> None:
    with pytest.raises(ExtractionError) as err:  # before: UnicodeEncodeError from the hash
        parse_article_text("Headline\n\nThe story \udcff goes on.")
    assert err.value.reason is Reason.NOT_UTF8


def test_a_date_line_outside_utc_range_is_not_a_date() -> None:
    # Before: OverflowError converting year 1 in Tokyo to UTC, from parse_article_text too.
    assert rules.parse_date_header("01 Jan 0001 00:30 Tokyo") is None
    article = parse_article_text("01 Jan 0001 00:30 Tokyo\nHeadline\nThe story.")
    assert article.published_at is None
