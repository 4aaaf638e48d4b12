"""Turn article text pasted from a news site into an ``Article``.

A pasted article is a headline (sometimes under a section label or a date line, sometimes
followed by a sub-headline), the story, and trailers: syndication notes, copyright lines,
agency credits, calls to action, the headline repeated. ``parse_article_text`` peels the
debris from both ends with the rules in ``wirehose.core.textrules`` and keeps what it learns from
it (publisher, agencies, date). The original text is kept in ``raw`` so a better parser can
reprocess it later.

Text with no headline-shaped first paragraph (it ends like a sentence) gets an empty title
rather than an invented one: the first sentence is the lede and stays in the body. Copying
it into the title would double its weight in search and entity counts and pass off prose as
a headline. Downstream code already treats ``title == ""`` as "no headline".
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import wirehose
from wirehose.core import textrules as rules
from wirehose.core.article import Article
from wirehose.core.deadletter import Reason
from wirehose.core.errors import ExtractionError
from wirehose.core.text import has_surrogates

log = logging.getLogger(__name__)

PRODUCER = "replay"


@dataclass
class _Parsed:
    """What the rules learned while peeling one article."""

    title: str = ""
    subtitle: str | None = None
    publisher: str | None = None
    byline: str | None = None
    agencies: list[str] = field(default_factory=list)
    published_at: datetime | None = None

    def add_agencies(self, found: tuple[str, ...]) -> None:
        self.agencies.extend(a for a in found if a not in self.agencies)


def paragraphs(text: str) -> list[str]:
    """Non-empty lines, stripped (including the non-breaking spaces sites leave behind)."""
    return [line.strip() for line in text.replace("\r\n", "\n").split("\n") if line.strip()]


def _consume_header(paras: deque[str], parsed: _Parsed) -> None:
    """Drop section labels, share buttons and bylines at the top; read a date line."""
    while len(paras) > 1:
        head = paras[0]
        when = rules.parse_date_header(head)
        author = rules.byline(head)
        if when is not None:
            parsed.published_at = parsed.published_at or when
        elif author is not None:
            parsed.byline = parsed.byline or author
        elif not (rules.is_boilerplate(head) or _is_section(head, paras, parsed)):
            return
        paras.popleft()


def _is_section(head: str, paras: deque[str], parsed: _Parsed) -> bool:
    # A section label sits above the headline: only before the title, and only when a
    # headline-shaped paragraph follows it (a one-word headline over prose stays a headline).
    return (
        not parsed.title
        and rules.is_section_label(head)
        and len(paras) > 2
        and rules.looks_like_headline(paras[1])
    )


def _consume_headlines(paras: deque[str], parsed: _Parsed) -> None:
    """Take the headline and an optional sub-headline: headline-shaped paragraphs on top."""
    if len(paras) > 1 and rules.looks_like_headline(paras[0]):
        parsed.title = paras.popleft()
        _consume_header(paras, parsed)
        if len(paras) > 1 and rules.looks_like_headline(paras[0]):
            parsed.subtitle = paras.popleft()
            _consume_header(paras, parsed)


def _consume_trailer(paras: deque[str], parsed: _Parsed) -> None:
    """Peel trailers from the bottom until a paragraph of the story is reached."""
    headlines = {rules.folded(h) for h in (parsed.title, parsed.subtitle or "") if h}
    while len(paras) > 1:
        tail = paras[-1]
        publisher = rules.trailer_publisher(tail)
        credited = rules.credited_agencies(tail)
        if publisher is not None:
            parsed.publisher = parsed.publisher or publisher
            parsed.byline = parsed.byline or rules.staff_byline(tail)
        elif credited is not None:
            parsed.add_agencies(credited)
        elif not (rules.is_boilerplate(tail) or rules.folded(tail) in headlines):
            return
        paras.pop()


def _consume_dateline(paras: deque[str], parsed: _Parsed) -> None:
    """Strip ``(Reuters) -`` or ``(Site.com) –`` from the first story paragraph."""
    agency, publisher, rest = rules.split_dateline(paras[0])
    if agency and agency not in parsed.agencies:
        parsed.agencies.insert(0, agency)  # the dateline comes first in the text
    if publisher:
        parsed.publisher = parsed.publisher or publisher
    if rest:
        paras[0] = rest
    else:
        paras.popleft()


def parse_article_text(
    text: str, *, source: str | None = None, url: str | None = None, producer: str = PRODUCER
) -> Article:
    """Parse one pasted article; raise ``ExtractionError`` when no story text remains."""
    if has_surrogates(text):
        raise ExtractionError(
            Reason.NOT_UTF8, f"{source or 'the input'} holds a surrogate code point"
        )
    # Widget text is never prose, wherever it sits; dropping it first keeps the other rules simple.
    # A deque: the header rules take paragraphs off the top one by one, and a list would move
    # all the others each time, quadratic in a paste of thousands of byline-like lines.
    paras = deque(p for p in paragraphs(text) if not rules.is_boilerplate(p))
    parsed = _Parsed()
    _consume_header(paras, parsed)
    _consume_headlines(paras, parsed)
    _consume_trailer(paras, parsed)
    if paras:
        _consume_dateline(paras, parsed)
    body = "\n\n".join(paras)
    if not body.strip():
        raise ExtractionError(Reason.NO_BODY, f"no story text left in {source or 'the input'}")
    return Article.create(
        title=parsed.title,
        body=body,
        url=url,
        producer=producer,
        subtitle=parsed.subtitle,
        publisher=parsed.publisher,
        byline=parsed.byline,
        agencies=tuple(parsed.agencies),
        published_at=parsed.published_at,
        source=source,
        raw=text,
    )


def parse_seed_file(path: Path, *, producer: str = PRODUCER) -> Article:
    """Parse one seed text file (UTF-8); ``source`` is the file name."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ExtractionError(
            Reason.NOT_UTF8, f"{path.name} is not UTF-8 (byte {exc.start}: {exc.reason})"
        ) from exc
    return parse_article_text(text, source=path.name, producer=producer)


def iter_seed_articles(directory: Path, *, producer: str = PRODUCER) -> Iterator[Article]:
    """Every ``*.txt`` under ``directory``, in name order so replays are reproducible."""
    if not directory.is_dir():
        raise FileNotFoundError(
            f"seed directory {directory} does not exist; pass a directory of .txt articles"
        )
    for path in sorted(directory.glob("*.txt")):
        article = parse_seed_file(path, producer=producer)
        log.debug("parsed seed file=%s id=%s", path.name, article.article_id)
        yield article


def default_seeds_dir() -> Path:
    """The seeds shipped with wirehose: ``wirehose/_seeds`` in a wheel, ``seeds/`` in a checkout."""

    packaged = Path(wirehose.__file__).parent / "_seeds"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / "seeds"
