"""Text out of HTML: feed entry fragments (a small tokenizer) and whole pages (trafilatura).

A feed entry's ``content`` or ``summary`` is a small HTML fragment the feed author wrote for
us: turning tags into paragraph breaks is enough. A linked article page is a whole site
template (navigation, share buttons, comments, related links): trafilatura finds the story in
it. Both run on bytes that were already size-capped by ``producers.fetch``.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from wirehose.core import textrules as rules
from wirehose.core.deadletter import Reason
from wirehose.core.errors import ExtractionError

_BLOCK_TAGS = frozenset(
    {"p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote",
     "section", "article", "tr", "table", "figure", "figcaption", "pre", "hr"}
)  # fmt: skip
_SKIP_TAGS = frozenset({"script", "style", "noscript", "iframe", "svg", "template"})
_SPACES = re.compile(r"[ \t\r\f\v\u00a0]+")

# The markup that starts at a "<", read as an HTML5 tokenizer reads it, closely enough to find
# the text: a comment; a start or end tag (a quoted attribute value may hold ">"); any other
# "<!", "<?" or "</" (a doctype, a processing instruction, a bogus comment). A comment or tag
# that is not closed runs to the end of the fragment, the HTML5 rule at end of input. Nothing is
# scanned twice, so this is linear in the fragment; the stdlib's HTMLParser (Python 3.11.7)
# rescans the rest of the input from every "<" of unclosed markup, and raises AssertionError on
# "<![" junk.
_MARKUP = re.compile(
    r"""<!--(?:-?>|.*?(?:--!?>|\Z))
      | <(?P<slash>/?)(?P<name>[a-zA-Z][^\t\n\r\f />\x00]*+)
        (?P<attrs>(?:[^>"'=]|=\s*+"[^"]*+"|=\s*+'[^']*+'|[="'])*+)(?P<close>>)?
      | <[!?/][^>]*+>?""",
    re.DOTALL | re.VERBOSE,
)
# Elements whose content is raw text up to their end tag, not markup (HTMLParser's list).
_RAW_TEXT_END = {
    "script": re.compile(r"</\s*+script\s*+>", re.IGNORECASE),
    "style": re.compile(r"</\s*+style\s*+>", re.IGNORECASE),
}


class _TextCollector:
    """Text and paragraph breaks of an HTML fragment: block tags break, skipped tags hide."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self._skipping = 0

    def feed(self, fragment: str) -> None:
        at = 0
        while at < len(fragment):
            lt = fragment.find("<", at)
            stop = len(fragment) if lt < 0 else lt
            if stop > at:
                self._data(html.unescape(fragment[at:stop]))
            if lt < 0:
                return
            markup = _MARKUP.match(fragment, lt)
            if markup is None:  # "<" before a space, a digit or the end is text
                self._data("<")
                at = lt + 1
                continue
            at = markup.end()
            if markup["name"] is None:  # a comment, doctype or processing instruction
                continue
            if markup["close"] is None:  # a tag cut off by the end of the fragment
                return
            tag = markup["name"].lower()
            if markup["slash"]:
                self._end(tag)
                continue
            self._start(tag)
            if markup["attrs"].rstrip().endswith("/"):  # <br/>, <svg ... />
                self._end(tag)
            elif tag in _RAW_TEXT_END:
                close = _RAW_TEXT_END[tag].search(fragment, at)
                if close is None:  # an unclosed <script> hides the rest
                    return
                self._data(fragment[at : close.start()])
                self._end(tag)
                at = close.end()

    def _start(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self._skipping += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def _end(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self._skipping = max(0, self._skipping - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def _data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def html_to_text(fragment: str) -> str:
    """Paragraphs of a small HTML fragment, separated by blank lines; plain text passes through."""
    if "<" not in fragment:
        text = html.unescape(fragment)
    else:
        collector = _TextCollector()
        collector.feed(fragment)
        text = "".join(collector.parts)
    lines = (_SPACES.sub(" ", line).strip() for line in text.split("\n"))
    return "\n\n".join(line for line in lines if line)


@dataclass(frozen=True)
class PageText:
    """The story found in a web page, with what the page says about itself."""

    text: str
    title: str | None = None
    author: str | None = None
    sitename: str | None = None
    language: str | None = None


def extract_page(content: bytes | str, *, url: str, min_chars: int = 200) -> PageText:
    """The main text of an article page; ``ExtractionError`` when there is no real story."""
    import trafilatura

    doc = trafilatura.bare_extraction(
        content,
        url=url,
        favor_precision=True,  # a short clean story beats one with the comment section
        include_comments=False,
        include_tables=False,
        with_metadata=True,
    )
    text = (getattr(doc, "text", None) or "").strip() if doc is not None else ""
    if len(text) < min_chars:
        raise ExtractionError(
            Reason.NO_ARTICLE_TEXT, f"{url}: {len(text)} characters of text found"
        )
    paragraphs = [line.strip() for line in text.split("\n") if line.strip()]
    title = getattr(doc, "title", None)
    if title and paragraphs and rules.folded(paragraphs[0]) == rules.folded(title):
        paragraphs = paragraphs[1:]  # trafilatura keeps the page's <h1>; the title has it
    return PageText(
        text="\n\n".join(paragraphs),
        title=title,
        author=getattr(doc, "author", None),
        sitename=getattr(doc, "sitename", None),
        language=getattr(doc, "language", None),
    )


def tidy_body(body: str) -> tuple[str, tuple[str, ...]]:
    """Strip a leading agency dateline and trailing credits/trailers; return the agencies.

    Same rules as pasted seed text, so a Reuters story reads the same from a feed or a file.
    """
    paragraphs = [p for p in body.split("\n\n") if p.strip()]
    found: list[str] = []
    if paragraphs:
        agency, site, rest = rules.split_dateline(paragraphs[0])
        if (agency or site) and rest:
            found.extend([agency] if agency else [])
            paragraphs[0] = rest
    while len(paragraphs) > 1:
        tail = paragraphs[-1]
        credited = rules.credited_agencies(tail)
        if credited is not None:
            found.extend(credited)
        elif rules.trailer_publisher(tail) is None and not rules.is_boilerplate(tail):
            break
        paragraphs.pop()
    return "\n\n".join(paragraphs), tuple(dict.fromkeys(found))
