"""The one text normaliser and the one event time, and that every stage uses them."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime, timedelta

import pytest

from processors.dedup.detector import new_entry
from processors.dedup.sign import Signer
from processors.dedup.text import similarity_text
from processors.entities.canonical import clean_surface, fold_name
from processors.stories.features import content_words, extract
from sinks.document import to_document
from tests.factories import make_article
from wirehose.core.article import content_hash, event_time
from wirehose.core.text import (
    TYPOGRAPHY,
    ZERO_WIDTH_MARKS,
    fold_typography,
    fold_unicode,
    normalize_text,
)

T0 = datetime(2023, 10, 16, 15, tzinfo=UTC)


@pytest.mark.parametrize("char", sorted(TYPOGRAPHY))
def test_every_variant_in_the_table_folds(char: str) -> None:
    # NFKC runs first, so a double prime arrives as two primes.
    expected = "".join(TYPOGRAPHY.get(c, c) for c in unicodedata.normalize("NFKC", char))
    assert fold_typography(f"a{char}b") == f"a{expected}b"
    assert not set(fold_typography(char)) & set(TYPOGRAPHY)


def test_typographic_variants_compare_equal() -> None:
    curly = "«Hamas’s» leader — said „no“\u00a0…"
    straight = '"hamas\'s" leader - said "no" ...'
    assert normalize_text(curly) == normalize_text(straight)
    assert fold_name("Thomas–Greenfield") == fold_name("Thomas-Greenfield")
    assert clean_surface("«Hamas»") == clean_surface('"Hamas"') == "Hamas"
    assert content_words("Netanyahu’s office") == content_words("Netanyahu's office")


def test_content_hash_is_what_it_always_was() -> None:
    """Stored ids and hashes were made without folding zero-width marks: they stay in."""
    assert content_hash("«Hamas’s» leader — said „no“\u200b…") == (
        "2d76cd0e65b08b588d744fe5ecbff1f149d22179a1de1f0e951df596d6ee5393"
    )
    assert {"\u200b", "\u200c", "\u200d", "\ufeff"} == ZERO_WIDTH_MARKS
    assert normalize_text("zero\u200bwidth") == "zero\u200bwidth"
    assert content_hash("zero\u200bwidth") != content_hash("zerowidth")
    # Dedup drops them before normalising, so its shingles see the whole table.
    assert similarity_text("zero\u200bwidth") == similarity_text("zerowidth") == "zerowidth"


def test_fold_unicode_keeps_quotes_and_dashes_as_written() -> None:
    assert fold_unicode("By Jane O’Neil\u200b — \ufb01ne…") == "By Jane O’Neil — fine..."


@pytest.mark.parametrize(
    ("published", "fetched", "expected"),
    [
        (T0, T0 + timedelta(hours=1), T0),  # published before the fetch: published
        (T0 + timedelta(hours=5), T0, T0),  # "published" after the fetch: capped at the fetch
        (None, T0, T0),  # undated: fetched
    ],
)
def test_event_time_is_published_never_later_than_fetched(
    published: datetime | None, fetched: datetime, expected: datetime
) -> None:
    assert event_time(make_article(published_at=published, fetched_at=fetched)) == expected


def test_dedup_stories_and_search_agree_on_event_time() -> None:
    ahead = make_article(published_at=T0 + timedelta(hours=5), fetched_at=T0)
    assert new_entry(ahead, Signer().sign(ahead)).when == T0
    assert extract(ahead, ahead.article_id).when == T0
    assert to_document(ahead)["date"] == T0.isoformat()
