"""Read articles from JSON Lines: one object per line.

A line is either a full ``Article`` (it has ``schema_version`` and ``article_id``, e.g. a dump
of a topic) or a looser object from a scraper or a notebook::

    {"title": "...", "body": "...", "url": "...", "publisher": "...", "published_at": "..."}

A loose object with ``text`` instead of ``body`` is pasted text and goes through the same rules
as the seed files. Loose objects get their ``article_id`` from ``Article.create``, so the same
line replayed twice gets the same key.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from producers.seeds import PRODUCER, parse_article_text
from wirehose.core.article import Article, reject_surrogates
from wirehose.core.deadletter import Reason
from wirehose.core.errors import DropArticle, InvalidArticle
from wirehose.core.text import has_surrogates

# Fields a loose object may carry besides title/body/url; anything else is an error, so a typo
# ("pubisher") is reported instead of silently dropped.
_LOOSE_FIELDS = frozenset(
    {"subtitle", "publisher", "byline", "agencies", "language", "published_at", "source", "raw"}
)


# Fields read before pydantic validates anything (the id is derived from them), so their type
# is checked here; the others are left to the model.
_STRING_FIELDS = ("title", "body", "text", "url", "producer", "source")


def article_from_object(
    obj: Any, *, producer: str = PRODUCER, source: str | None = None
) -> Article:
    """One decoded JSON object -> ``Article``; raise ``InvalidArticle`` saying what is wrong."""
    if not isinstance(obj, dict):
        raise InvalidArticle(
            Reason.WRONG_SCHEMA, f"expected a JSON object, got {type(obj).__name__}"
        )
    if "schema_version" in obj and "article_id" in obj:
        return Article.from_object(obj)
    reject_surrogates(obj)
    for name in _STRING_FIELDS:
        value = obj.get(name)
        if value is not None and not isinstance(value, str):
            raise InvalidArticle(
                Reason.WRONG_SCHEMA, f"{name!r} must be a string, got {type(value).__name__}"
            )
    try:
        if "body" not in obj and isinstance(obj.get("text"), str):
            return parse_article_text(
                obj["text"],
                source=obj.get("source") or source,
                url=obj.get("url"),
                producer=producer,
            )
        return _loose_article(obj, producer=producer, source=source)
    except ValueError as exc:  # pydantic's ValidationError, or a URL urllib cannot split
        message = str(exc).splitlines() or [type(exc).__name__]
        raise InvalidArticle(Reason.WRONG_SCHEMA, message[0]) from exc


def _loose_article(obj: dict[str, Any], *, producer: str, source: str | None) -> Article:
    unknown = set(obj) - _LOOSE_FIELDS - {"title", "body", "url", "producer"}
    if unknown:
        raise InvalidArticle(
            Reason.WRONG_SCHEMA,
            f"unknown field(s) {sorted(unknown)}; allowed: title, body, url, text, "
            + ", ".join(sorted(_LOOSE_FIELDS)),
        )
    body = obj.get("body")
    if not isinstance(body, str) or not body.strip():
        raise InvalidArticle(
            Reason.EMPTY_BODY, "a loose object needs a non-empty 'body' (or 'text')"
        )
    fields = {k: v for k, v in obj.items() if k in _LOOSE_FIELDS and v is not None}
    fields.setdefault("source", source)
    if isinstance(fields.get("agencies"), list):
        fields["agencies"] = tuple(fields["agencies"])
    return Article.create(
        title=obj.get("title") or "",
        body=body,
        url=obj.get("url"),
        producer=obj.get("producer") or producer,
        **fields,
    )


def iter_jsonl_articles(path: Path, *, producer: str = PRODUCER) -> Iterator[Article]:
    """Yield one ``Article`` per non-blank line; a bad line raises ``InvalidArticle``.

    The error names ``file:line`` so the user can fix the input: replaying half a file and
    silently skipping the rest would make the topic disagree with the file.
    """
    # surrogateescape: a byte that is not UTF-8 becomes a surrogate the line check below
    # reports with its line number, instead of a decode error from somewhere in the file.
    with path.open(encoding="utf-8", errors="surrogateescape") as handle:
        for lineno, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            where = f"{path.name}:{lineno}"
            if has_surrogates(line):
                raise InvalidArticle(Reason.INVALID_JSON, f"{where}: the line is not UTF-8")
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InvalidArticle(
                    Reason.INVALID_JSON, f"{where}: {exc.msg} (column {exc.colno})"
                ) from exc
            except ValueError as exc:  # an integer too long to convert
                raise InvalidArticle(Reason.INVALID_JSON, f"{where}: {exc}") from exc
            except RecursionError as exc:
                raise InvalidArticle(Reason.INVALID_JSON, f"{where}: nested too deeply") from exc
            try:
                article = article_from_object(obj, producer=producer, source=where)
            except DropArticle as exc:
                raise type(exc)(exc.reason, f"{where}: {exc.detail}") from exc
            yield article
