"""Every seed file parses into the article a reader sees, with the site debris gone."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from producers.seeds import (
    default_seeds_dir,
    iter_seed_articles,
    parse_article_text,
    parse_seed_file,
)
from wirehose.core import textrules as rules
from wirehose.core.article import Article, make_article_id
from wirehose.core.errors import ExtractionError

SEEDS = Path(__file__).resolve().parents[2] / "seeds"

# Debris that must never survive into a title, subtitle or body.
DEBRIS = (
    "Pinterest",
    "LinkedIn",
    "Tumblr",
    "This post appeared first",
    "Copyright",
    "(LibertySociety.com)",
    "team of journalists",
    "Share your opinion",
    "contributed to this report",
    "Jerusalem Time",
)


def seed(prefix: str) -> Article:
    (path,) = SEEDS.glob(f"{prefix}_*.txt")
    return parse_seed_file(path)


def assert_clean(article: Article) -> None:
    for text in (article.title, article.subtitle or "", article.body):
        for debris in DEBRIS:
            assert debris not in text, f"{debris!r} left in {article.source}"
    assert "\u00a0" not in article.body
    assert "\n\n\n" not in article.body


def test_seed_000_has_no_headline_so_title_is_empty_and_body_is_whole() -> None:
    article = seed("000")
    assert article.title == ""
    assert article.subtitle is None
    assert article.publisher is None
    assert article.agencies == ()
    assert article.published_at is None
    assert article.body.startswith(
        "Israeli Prime Minister Benjamin Netanyahu told Russian President Vladimir Putin on Monday"
    )
    assert article.body.endswith("explaining why the United States had rejected the resolution.")
    assert len(article.body.split("\n\n")) == 11
    assert_clean(article)


def test_seed_001_headline_subheadline_and_staff_trailer() -> None:
    article = seed("001")
    assert article.title == (
        "'Israel won’t stop until Hamas is destroyed,' Netanyahu tells Putin in 1st phone "
        "since war began"
    )
    assert article.subtitle == (
        "Putin condemns Israeli actions against Hamas, calling them 'cruel methods' and "
        "proposing 'humanitarian ceasefire'"
    )
    assert article.publisher == "All Israel News"
    assert article.byline == "All Israel News Staff"
    assert article.agencies == ()
    assert article.published_at is None
    assert article.body.startswith(
        "Israeli Prime Minister Benjamin Netanyahu spoke with Russian President Vladimir Putin"
    )
    assert article.body.endswith(
        "He added that the current tragic situation resulted from the American failed policy "
        "regarding the Middle East."
    )
    assert_clean(article)


def test_seed_002_section_share_buttons_syndication_and_reuters_credit() -> None:
    article = seed("002")
    assert article.title == (
        "Putin, Netanyahu speak by phone on Israel’s neighbors’ reaction to war after Hamas attack"
    )
    assert article.subtitle is None
    assert article.publisher == "FOX NEWS"
    assert article.agencies == ("Reuters",)
    assert article.published_at is None
    assert article.body.startswith("Russian President Vladimir Putin called Israeli Prime Minister")
    assert article.body.endswith("Raisi said, according to Iranian state media.")
    assert not article.body.startswith("Politics")
    # "Reuters reported that ..." is story text that mentions the agency: it stays.
    assert "Reuters reported that according to the Kremlin" in article.body
    assert "Mahmoud Abbas.\n\n" in article.body  # trailing non-breaking space stripped
    assert_clean(article)


def test_seed_003_site_prefix_and_copyright() -> None:
    article = seed("003")
    assert article.title == "Putin Phoned Israeli Counterpart To Discuss Hamas Attack Remedies"
    assert article.publisher == "LibertySociety.com"
    assert article.agencies == ()
    assert article.published_at is None
    assert article.body.startswith(
        "Russian President Vladimir Putin offered support to Israeli Prime Minister"
    )
    assert article.body.endswith("other types of financial assistance to Hamas.")
    assert_clean(article)


def test_seed_004_date_header_call_to_action_and_repeated_headline() -> None:
    article = seed("004")
    assert article.title == "“A hot call.” This is what Netanyahu said to Putin"
    assert article.publisher is None
    assert article.agencies == ()
    # 4:15 pm in Jerusalem in December (UTC+2) is 14:15 UTC.
    assert article.published_at == datetime(2023, 12, 10, 14, 15, tzinfo=UTC)
    assert article.body.startswith(
        "Israeli Prime Minister Benjamin Netanyahu, during a lengthy telephone conversation"
    )
    assert article.body.endswith(
        "accused the United States of wanting to spread chaos in the Middle East."
    )
    assert "A hot call" not in article.body
    assert_clean(article)


@pytest.mark.parametrize("path", sorted(SEEDS.glob("*.txt")), ids=lambda p: p.name[:3])
def test_every_seed_keeps_raw_text_source_and_content_id(path: Path) -> None:
    article = parse_seed_file(path)
    assert article.raw == path.read_text(encoding="utf-8")
    assert article.source == path.name
    assert article.producer == "replay"
    assert article.url is None
    assert article.article_id == make_article_id(url=None, title=article.title, body=article.body)
    assert Article.from_bytes(article.to_bytes()) == article


def test_iter_seed_articles_is_ordered_and_deterministic() -> None:
    first = list(iter_seed_articles(SEEDS))
    second = list(iter_seed_articles(SEEDS))
    assert [a.source for a in first] == sorted(p.name for p in SEEDS.glob("*.txt"))
    assert len(first) == 5
    assert [a.article_id for a in first] == [a.article_id for a in second]
    assert len({a.article_id for a in first}) == 5


def test_iter_seed_articles_names_a_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        list(iter_seed_articles(tmp_path / "nope"))


def test_default_seeds_dir_finds_the_checkout_seeds() -> None:
    assert default_seeds_dir().resolve() == SEEDS


def test_agency_datelines_and_credit_lines() -> None:
    text = (
        "Ceasefire talks resume in Cairo\n\n"
        "CAIRO, Oct 16 (Reuters) - Negotiators met again on Monday.\n\n"
        "Talks continue.\n\n"
        "The Associated Press and AFP contributed to this report."
    )
    article = parse_article_text(text)
    assert article.title == "Ceasefire talks resume in Cairo"
    assert article.agencies == ("Reuters", "AP", "AFP")
    assert article.body == "Negotiators met again on Monday.\n\nTalks continue."


def test_byline_and_copyright_with_all_rights_reserved() -> None:
    text = (
        "Markets rally\nBy Jane Doe and John Roe\nStocks rose.\n"
        "Copyright 2024 Reuters. All rights reserved."
    )
    article = parse_article_text(text)
    assert article.byline == "Jane Doe and John Roe"
    assert article.publisher == "Reuters"
    assert article.body == "Stocks rose."


def test_text_that_is_only_debris_is_an_extraction_error() -> None:
    with pytest.raises(ExtractionError) as err:
        parse_article_text("Share your opinion\n\nPinterest LinkedIn Tumblr\n")
    assert err.value.reason == "no-body"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("Sun 10 Dec 2023 4:15 pm - Jerusalem Time", datetime(2023, 12, 10, 14, 15, tzinfo=UTC)),
        ("Mon 10 Jul 2023 4:15 pm - Jerusalem Time", datetime(2023, 7, 10, 13, 15, tzinfo=UTC)),
        ("December 10, 2023 9:00 a.m. ET", datetime(2023, 12, 10, 14, 0, tzinfo=UTC)),
        ("2023-12-10 16:15", datetime(2023, 12, 10, 16, 15, tzinfo=UTC)),
        ("Netanyahu left his cabinet meeting at 4:15 pm.", None),
    ],
)
def test_parse_date_header(line: str, expected: datetime | None) -> None:
    assert rules.parse_date_header(line) == expected


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("Pinterest LinkedIn Tumblr", True),
        ("Facebook | Twitter | Email", True),
        ("Share your opinion", True),
        ("Twitter said on Monday it would share data.", False),
    ],
)
def test_boilerplate(line: str, expected: bool) -> None:
    assert rules.is_boilerplate(line) is expected
