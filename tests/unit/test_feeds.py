"""Feed parsing, hostile-XML refusal, entry mapping and text extraction."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from producers.extract import PageText, extract_page, html_to_text, tidy_body
from producers.feeds import FeedError, entry_key, entry_to_article, parse_feed
from producers.fetch import FetchError
from tests.factories import BILLION_LAUGHS, article_page, atom_feed, rss_feed
from wirehose.core.article import make_article_id

LONG = " ".join(["Officials confirmed the figures at a briefing on Monday."] * 12)
PARAS = [
    "GENEVA (Reuters) - Negotiators agreed on a draft text after three days of talks, "
    "officials said on Monday, ending a deadlock that had lasted for weeks.",
    "The draft still needs the approval of all member states, which meet again next month "
    "to vote on the final wording and on the timetable for putting it into force.",
    "Reuters contributed to this report.",
]


def test_billion_laughs_is_refused_before_feedparser_expands_it() -> None:
    with pytest.raises(FeedError, match="EntitiesForbidden"):
        parse_feed(BILLION_LAUGHS, url="https://evil.example/rss")


def test_unrecoverable_garbage_is_not_a_feed() -> None:
    with pytest.raises(FeedError, match="not a readable RSS or Atom feed"):
        parse_feed(b"<html><body>404 not found", url="https://x.example/rss")


def test_sloppy_but_recoverable_feed_is_read_with_a_warning() -> None:
    sloppy = rss_feed([{"title": "Tom &nbsp; Jerry", "link": "https://x.example/a"}])
    sloppy = sloppy.replace(b"<![CDATA[Tom &nbsp; Jerry]]>", b"Tom &nbsp; Jerry")
    feed = parse_feed(sloppy, url="https://x.example/rss")
    assert len(feed.entries) == 1
    assert feed.warning is not None


def test_rss_entry_with_full_content_becomes_an_article() -> None:
    xml = rss_feed(
        [
            {
                "title": "Draft deal agreed",
                "link": "https://wire.example/deal?utm_source=rss",
                "guid": "wire-123",
                "description": "Short teaser.",
                "content": "".join(f"<p>{p}</p>" for p in PARAS),
                "pubDate": "Mon, 04 Mar 2024 12:30:00 +0200",
                "author": "desk@wire.example (World Desk)",
            }
        ]
    )
    feed = parse_feed(xml, url="https://wire.example/rss")
    (entry,) = feed.entries
    article = entry_to_article(entry, feed, fetch_page=None)
    assert article is not None
    assert article.title == "Draft deal agreed"
    assert article.article_id == make_article_id(url="https://wire.example/deal", title="", body="")
    assert article.publisher == "Example Wire"
    assert article.language == "en"
    assert article.agencies == ("Reuters",)
    assert article.published_at == datetime(2024, 3, 4, 10, 30, tzinfo=UTC)
    assert article.body.startswith("Negotiators agreed on a draft text")
    assert article.body.endswith("putting it into force.")
    assert article.producer == "rss"
    assert article.source == "https://wire.example/rss"
    assert article.raw is not None
    assert "<p>" in article.raw
    assert entry_key(entry) == "https://wire.example/wire-123"  # guid, resolved by feedparser


def test_teaser_entry_uses_the_linked_page_text() -> None:
    feed = parse_feed(
        atom_feed(
            [{"title": "Dam opens", "link": "https://site.example/dam", "summary": "Teaser."}]
        ),
        url="https://site.example/atom",
    )
    fetched: list[str] = []

    def fetch_page(url: str) -> PageText:
        fetched.append(url)
        return PageText(text=LONG, author="Jane Reporter", sitename="Example Site")

    article = entry_to_article(feed.entries[0], feed, fetch_page=fetch_page)
    assert fetched == ["https://site.example/dam"]
    assert article is not None
    assert article.body == LONG
    assert article.byline == "Jane Reporter"
    assert article.publisher == "Example Atom"  # the feed's own title wins


def test_teaser_is_kept_when_the_page_cannot_be_fetched() -> None:
    feed = parse_feed(
        atom_feed([{"title": "T", "link": "https://site.example/t", "summary": "Only a teaser."}]),
        url="https://site.example/atom",
    )

    def broken(url: str) -> PageText:
        raise FetchError("HTTP 500 from " + url)

    article = entry_to_article(feed.entries[0], feed, fetch_page=broken)
    assert article is not None
    assert article.body == "Only a teaser."


def test_entry_without_any_text_is_skipped() -> None:
    feed = parse_feed(atom_feed([{"title": "Photo", "id": "urn:photo"}]), url="https://s.example/a")
    assert entry_to_article(feed.entries[0], feed) is None


def test_extract_page_finds_the_story_not_the_template() -> None:
    page = article_page("Dam opens", [LONG, "A second paragraph about the dam and its water."])
    text = extract_page(page, url="https://site.example/dam")
    assert text.text.startswith("Officials confirmed the figures")
    assert text.text.endswith("the dam and its water.")
    for debris in ("Home", "Share:", "Copyright", "Dam opens"):
        assert debris not in text.text
    assert text.sitename == "Example Site"
    assert text.author == "Jane Reporter"


def test_extract_page_without_a_story_is_an_extraction_error() -> None:
    from wirehose.core.errors import ExtractionError

    with pytest.raises(ExtractionError) as err:
        extract_page(b"<html><body><nav>Home</nav></body></html>", url="https://s.example/")
    assert err.value.reason == "no-article-text"


def test_html_to_text_and_tidy_body() -> None:
    html = "<p>One &amp; two.</p><script>evil()</script><ul><li>Three</li></ul>Four<br>Five"
    assert html_to_text(html) == "One & two.\n\nThree\n\nFour\n\nFive"
    body, agencies = tidy_body("(AP) — Story starts.\n\nMore.\n\nThis article first appeared on X")
    assert (body, agencies) == ("Story starts.\n\nMore.", ("AP",))
