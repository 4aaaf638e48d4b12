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
from wirehose.core.article import Article
from wirehose.core.deadletter import Reason
from wirehose.core.errors import DropArticle, InvalidArticle

# Fields a loose object may carry besides title/body/url; anything else is an error, so a typo
# ("pubisher") is reported instead of silently dropped.
_LOOSE_FIELDS = frozenset(
    {"subtitle", "publisher", "byline", "agencies", "language", "published_at", "source", "raw"}
)


def article_from_object(
    obj: Any, *, producer: str = PRODUCER, source: str | None = None
) -> Article:
    """One decoded JSON object -> ``Article``; raise ``InvalidArticle`` saying what is wrong."""
    if not isinstance(obj, dict):
        raise InvalidArticle(
            Reason.WRONG_SCHEMA, f"expected a JSON object, got {type(obj).__name__}"
        )
    if "schema_version" in obj and "article_id" in obj:
        return Article.from_bytes(json.dumps(obj))
    if "body" not in obj and isinstance(obj.get("text"), str):
        return parse_article_text(
            obj["text"], source=obj.get("source") or source, url=obj.get("url"), producer=producer
        )
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
    try:
        return Article.create(
            title=obj.get("title") or "",
            body=body,
            url=obj.get("url"),
            producer=obj.get("producer") or producer,
            **fields,
        )
    except ValueError as exc:  # pydantic's ValidationError
        raise InvalidArticle(Reason.WRONG_SCHEMA, str(exc).splitlines()[0]) from exc


def iter_jsonl_articles(path: Path, *, producer: str = PRODUCER) -> Iterator[Article]:
    """Yield one ``Article`` per non-blank line; a bad line raises ``InvalidArticle``.

    The error names ``file:line`` so the user can fix the input: replaying half a file and
    silently skipping the rest would make the topic disagree with the file.
    """
    with path.open(encoding="utf-8") as handle:
        for lineno, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            where = f"{path.name}:{lineno}"
            try:
                yield article_from_object(json.loads(line), producer=producer, source=where)
            except json.JSONDecodeError as exc:
                raise InvalidArticle(
                    Reason.INVALID_JSON, f"{where}: {exc.msg} (column {exc.colno})"
                ) from exc
            except DropArticle as exc:
                raise type(exc)(exc.reason, f"{where}: {exc.detail}") from exc
