"""Helpers for tests against the real Elasticsearch: enriched-article builders, index cleanup,
and a client wrapper that injects bulk failures before letting requests through."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from elasticsearch import Elasticsearch

from sinks.mapping import template_name
from tests.factories import make_article
from wirehose.core.article import Article, DedupMark, Entity

LABELS = {"p": "PERSON", "o": "ORG", "g": "GPE", "l": "LOC", "n": "NORP"}


def entities(spec: str) -> tuple[Entity, ...]:
    """``"p:Sergei Lavrov, g:Gaza"`` -> entities with those labels and canonical forms."""
    found = []
    for part in filter(None, (p.strip() for p in spec.split(","))):
        code, name = part.split(":", 1)
        found.append(Entity(label=LABELS[code], text=name, canonical=name, start=0, end=len(name)))
    return tuple(found)


def enriched(
    *,
    title: str,
    body: str,
    publisher: str,
    story: str | None = None,
    copy_of: Article | None = None,
    ents: str = "",
    day: int = 16,
    month: int = 10,
    **fields: Any,
) -> Article:
    """An article as the processors would emit it: dated, deduped, clustered, tagged."""
    dedup = (
        DedupMark(
            is_canonical=False, duplicate_of=copy_of.article_id, similarity=0.9, method="minhash"
        )
        if copy_of is not None
        else DedupMark(is_canonical=True, method="none")
    )
    published = datetime(2023, month, day, 12, 0, tzinfo=UTC)
    return make_article(
        title=title,
        body=body,
        publisher=publisher,
        story_id=story,
        dedup=dedup,
        entities=entities(ents),
        published_at=published,
        processed_at=fields.pop("processed_at", datetime(2024, 1, 1, tzinfo=UTC)),
        **fields,
    )


def drop_alias(es: Elasticsearch, alias: str) -> None:
    """Delete every index generation, a concrete index named like the alias, the alerts index
    the worker creates beside it, and the template."""
    es.options(ignore_status=404).indices.delete(index=f"{alias}-v*", expand_wildcards="all")
    es.options(ignore_status=404).indices.delete(index=alias)
    es.options(ignore_status=404).indices.delete(index=f"{alias}-alerts")
    es.options(ignore_status=404).indices.delete_index_template(name=template_name(alias))


@contextmanager
def alias_cleanup(es: Elasticsearch, alias: str) -> Iterator[str]:
    drop_alias(es, alias)
    try:
        yield alias
    finally:
        drop_alias(es, alias)


class FlakyBulk:
    """The real client, except that the first ``bulk`` calls fail as scripted: each entry is an
    exception to raise or an HTTP status every item of the response gets (``429``, ``503``)."""

    def __init__(self, client: Elasticsearch, *failures: BaseException | int) -> None:
        self.client = client
        self.failures = list(failures)
        self.bulk_calls = 0

    def bulk(self, *, operations: list[dict[str, Any]], **params: Any) -> Any:
        self.bulk_calls += 1
        if self.failures:
            failure = self.failures.pop(0)
            if isinstance(failure, BaseException):
                raise failure
            items = [
                {"index": {"_id": op["index"]["_id"], "status": failure,
                           "error": {"type": "injected", "reason": f"injected {failure}"}}}
                for op in operations[0::2]
            ]  # fmt: skip
            return {"errors": True, "items": items}
        return self.client.bulk(operations=operations, **params)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)
