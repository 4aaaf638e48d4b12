"""RSS 2.0 / Atom documents to ``Article``s: a hostile-XML guard, feedparser, entry mapping.

feedparser is lenient on purpose (real feeds carry ``&nbsp;`` and unescaped ``&``), which is
what we want for sloppy feeds but not for hostile ones. So the bytes first go through
defusedxml, which refuses entity declarations and external references outright (the
"billion laughs" expansion bomb, external-entity file reads): a feed never needs them.
Merely malformed XML is left to feedparser, and rejected only when nothing can be recovered.
"""

from __future__ import annotations

import calendar
import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from xml.etree.ElementTree import ParseError

import defusedxml.ElementTree as SafeET
import feedparser
from defusedxml import DefusedXmlException

from producers.extract import PageText, html_to_text, tidy_body
from producers.fetch import FetchError, check_url
from wirehose.core.article import Article
from wirehose.core.errors import ExtractionError, FeedError

log = logging.getLogger(__name__)

PRODUCER = "rss"
# Feed text shorter than this is a teaser: fetch the linked page for the full story.
FULL_TEXT_CHARS = 500
# ``raw`` keeps the entry's HTML, bounded so one entry cannot exceed the Kafka request cap.
RAW_CAP = 200_000


@dataclass(frozen=True)
class ParsedFeed:
    url: str
    title: str | None = None
    language: str | None = None
    entries: list[Any] = field(default_factory=list)
    warning: str | None = None  # a recoverable problem feedparser worked around


def guard_xml(content: bytes, *, url: str) -> None:
    """Refuse XML with entity declarations or external references; tolerate mere breakage."""
    try:
        try:
            SafeET.fromstring(content)
        except (LookupError, ValueError):
            # expat cannot use the declared encoding (unknown, multi-byte, not a text codec).
            # Parsed as a str the declaration is ignored, and the markup the guard looks for
            # is ASCII in any encoding feedparser will fall back to.
            SafeET.fromstring(content.decode("latin-1"))
    except DefusedXmlException as exc:
        raise FeedError(
            f"{url} refused: the XML uses {type(exc).__name__} features (entity declarations "
            "or external references) that no feed needs and expansion attacks rely on"
        ) from exc
    except (ParseError, ValueError, LookupError):
        pass  # malformed: feedparser may still recover it, judged in parse_feed


def parse_feed(content: bytes, *, url: str, content_type: str = "") -> ParsedFeed:
    """Parse RSS or Atom bytes; raise ``FeedError`` when they are hostile or not a feed."""
    guard_xml(content, url=url)
    try:
        parsed = feedparser.parse(
            content,
            response_headers={  # resolves relative links and picks the declared charset
                "content-location": url,
                "content-type": content_type or "application/xml",
            },
            sanitize_html=True,
            resolve_relative_uris=True,
        )
    except (LookupError, ValueError) as exc:
        # feedparser's recovery raises on a few inputs: a charset whose codec fails outright
        # ("undefined"), a reference to a character UTF-8 cannot encode ("&#xd800;").
        raise FeedError(f"{url} is not a readable RSS or Atom feed: {exc}") from exc
    problem = str(parsed.get("bozo_exception", "")) if parsed.get("bozo") else None
    if not parsed.entries and (problem or not parsed.get("version")):
        raise FeedError(f"{url} is not a readable RSS or Atom feed: {problem or 'no feed found'}")
    meta = parsed.get("feed", {})
    return ParsedFeed(
        url=url,
        title=html_to_text(meta.get("title", "")) or None,
        language=meta.get("language"),
        entries=list(parsed.entries),
        warning=problem,
    )


def entry_key(entry: Any) -> str:
    """What identifies an entry across polls: its id/guid, else its link, else its text."""
    for name in ("id", "link"):
        value = entry.get(name)
        if value:
            return str(value)
    text = f"{entry.get('title', '')}\n{entry.get('summary', '')}"
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def _entry_html(entry: Any) -> tuple[str, str]:
    """``(content_html, summary_html)`` of an entry (either may be empty)."""
    contents = entry.get("content") or []
    content = next((c.get("value", "") for c in contents if c.get("value")), "")
    return content, entry.get("summary", "") or ""


def _published(entry: Any) -> datetime | None:
    parsed = entry.get("published_parsed") or entry.get("updated_parsed")
    if not parsed:
        return None
    # feedparser normalises every date format to a UTC struct_time, but not into datetime's
    # range: "0000-00-00" comes out as year -1.
    try:
        return datetime.fromtimestamp(calendar.timegm(parsed), tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _language(*candidates: str | None) -> str | None:
    for value in candidates:
        if value:
            return value.split("-")[0].split("_")[0].lower()
    return None


def entry_to_article(
    entry: Any, feed: ParsedFeed, *, fetch_page: Callable[[str], PageText] | None = None
) -> Article | None:
    """One feed entry as an ``Article``; ``None`` when it carries no text at all.

    When the feed gives only a teaser, ``fetch_page`` (if given) fetches the linked page and
    its extracted text is used if it is longer. A failed page fetch falls back to the teaser.
    """
    url = entry.get("link") or None
    try:
        url = check_url(url) if url else None
    except FetchError:
        url = None  # a mailto: or relative junk link identifies nothing
    content_html, summary_html = _entry_html(entry)
    body = html_to_text(content_html) if content_html else ""
    page: PageText | None = None
    if len(body) < FULL_TEXT_CHARS and url and fetch_page is not None:
        try:
            page = fetch_page(url)
        except (FetchError, ExtractionError) as exc:
            log.info("page not used url=%s reason=%s", url, exc)
    if page is not None and len(page.text) > len(body):
        body = page.text
    if not body:
        body = html_to_text(summary_html)
    body, agencies = tidy_body(body)
    if not body.strip():
        return None
    raw = (content_html or summary_html)[:RAW_CAP] or None
    return Article.create(
        title=html_to_text(entry.get("title", "")) or (page.title if page else "") or "",
        body=body,
        url=url,
        producer=PRODUCER,
        publisher=feed.title or (page.sitename if page else None),
        byline=entry.get("author") or (page.author if page else None) or None,
        agencies=agencies,
        language=_language(feed.language, page.language if page else None),
        published_at=_published(entry),
        source=feed.url,
        raw=raw,
    )
