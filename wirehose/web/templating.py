"""The Jinja2 environment of the page: autoescape on for every template, and the few filters
that turn article fields into safe HTML.

Article text comes from strangers. It is escaped wherever it is shown; highlights keep only the
``<em>`` Elasticsearch puts around matched words (everything between them escaped); a URL
becomes a link only with an http or https scheme and a host.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup, escape
from starlette.templating import Jinja2Templates

from sinks.search import HIGHLIGHT_TAGS
from sinks.story_render import elapsed, format_time

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"


def highlight(fragment: str | None) -> Markup:
    """An Elasticsearch highlight as HTML: the text escaped, the matched words in ``<mark>``."""
    if not fragment:
        return Markup("")
    opening, closing = HIGHLIGHT_TAGS
    parts: list[str] = []
    for number, piece in enumerate(fragment.replace("\n", " ").split(opening)):
        if number == 0:
            parts.append(str(escape(piece)))
            continue
        marked, found, rest = piece.partition(closing)
        if not found:  # an opening tag without its end: the text, as it is
            parts.append(str(escape(opening + piece)))
            continue
        parts.append(f"<mark>{escape(marked)}</mark>{escape(rest)}")
    return Markup("".join(parts))  # noqa: S704 - every piece above is escaped


def http_url(url: str | None) -> str | None:
    """``url`` when it may be a link (http or https, with a host); otherwise None."""
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    if parts.scheme.lower() not in {"http", "https"} or not parts.netloc:
        return None
    return url.strip()


def redact_webhook(url: str | None) -> str | None:
    """A webhook as the page shows it: scheme and host only, since the path of a chat or
    automation webhook is often its secret."""
    if not url:
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return "(hidden)"
    if not parts.scheme or not parts.hostname:
        return "(hidden)"
    rest = "/…" if parts.path.strip("/") or parts.query else ""
    return f"{parts.scheme}://{parts.hostname}{rest}"


def plural(count: int, one: str, many: str | None = None) -> str:
    return f"{count:,} {one if count == 1 else many or one + 's'}"


def templates() -> Jinja2Templates:
    """The page's templates, autoescaped, with undefined names an error rather than blank."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    filters: dict[str, Any] = {
        "highlight": highlight,
        "http_url": http_url,
        "when": format_time,
        "webhook": redact_webhook,
        "plural": plural,
        "short": lambda value: (value or "")[:12],
    }
    env.filters.update(filters)
    env.globals["elapsed"] = elapsed
    return Jinja2Templates(env=env)
