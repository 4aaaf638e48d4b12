"""Which saved alerts (``sinks.alerts``) each of a batch of article documents matches.

Two ways, one answer; the alerts index says which its cluster allows (``_meta.matcher``):

- ``PercolateMatcher``: one ``percolate`` request for the whole batch. Elasticsearch indexes the
  stored queries by their terms and tries only the queries a document could match, so the cost
  grows slowly with the number of alerts.
- ``SearchMatcher``, for a cluster without the percolator module (the slim node ``wirehose
  services`` runs): the batch is written to the alerts index as short-lived *probe* documents
  tagged with the batch, every alert's query is run against that tag in ``_msearch``, and the
  probes are deleted. The same query on the same mapping finds the same articles; the cost is
  one search per alert per batch, fine for hundreds of alerts, not for a hundred thousand.
  Alerts are re-read every ``WIREHOSE_ALERTS_RELOAD_SECONDS``. Probes left behind by a worker
  that died mid-batch match nothing (every search names its own batch) and ``sweep_probes``
  deletes them.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from elasticsearch import Elasticsearch

from sinks.alerts import MAX_ALERTS, Matcher

log = logging.getLogger(__name__)

PAGE = 1000  # alerts per page of a percolate response
MSEARCH_CHUNK = 200  # alert searches per _msearch request
_REF_SOURCE = ["alert.name", "alert.updates", "alert.webhook"]


@dataclass(frozen=True)
class AlertRef:
    """What a match needs to know of its alert."""

    name: str
    updates: bool = False
    webhook: str | None = None

    @classmethod
    def from_source(cls, source: dict[str, Any]) -> AlertRef:
        alert = source["alert"]
        return cls(alert["name"], bool(alert.get("updates")), alert.get("webhook"))


class AlertMatcher(Protocol):
    def match(self, documents: Sequence[dict[str, Any]]) -> list[list[AlertRef]]:
        """For each document, in order, the alerts it matches (sorted by name)."""
        ...


class PercolateMatcher:
    """Match with the percolator: stored queries against the batch in one request."""

    def __init__(self, client: Elasticsearch, index: str) -> None:
        self.client = client
        self.index = index

    def match(self, documents: Sequence[dict[str, Any]]) -> list[list[AlertRef]]:
        found: list[list[AlertRef]] = [[] for _ in documents]
        if not documents:
            return found
        after: list[Any] | None = None
        while True:
            extra: dict[str, Any] = {"search_after": after} if after else {}
            response = self.client.search(
                index=self.index,
                query={"percolate": {"field": "query", "documents": list(documents)}},
                sort=[{"alert.name": "asc"}],
                size=PAGE,
                source_includes=_REF_SOURCE,
                track_total_hits=False,
                **extra,
            )
            hits = response["hits"]["hits"]
            for hit in hits:
                ref = AlertRef.from_source(hit["_source"])
                for slot in hit.get("fields", {}).get("_percolator_document_slot", [0]):
                    found[int(slot)].append(ref)
            if len(hits) < PAGE:
                return found
            after = hits[-1]["sort"]


class SearchMatcher:
    """Match by search: the batch as probe documents, each alert's query run against them."""

    def __init__(
        self,
        client: Elasticsearch,
        index: str,
        *,
        reload_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.index = index
        self.reload_seconds = reload_seconds
        self.clock = clock
        self._alerts: list[tuple[AlertRef, dict[str, Any]]] = []
        self._loaded_at: float | None = None

    def alerts(self) -> list[tuple[AlertRef, dict[str, Any]]]:
        """The saved alerts and their queries, re-read when older than ``reload_seconds``."""
        now = self.clock()
        if self._loaded_at is None or now - self._loaded_at >= self.reload_seconds:
            response = self.client.search(
                index=self.index,
                query={"exists": {"field": "alert.name"}},
                sort=[{"alert.name": "asc"}],
                size=MAX_ALERTS,
                source_includes=[*_REF_SOURCE, "query"],
            )
            self._alerts = [
                (AlertRef.from_source(hit["_source"]), hit["_source"]["query"])
                for hit in response["hits"]["hits"]
            ]
            self._loaded_at = now
        return self._alerts

    def match(self, documents: Sequence[dict[str, Any]]) -> list[list[AlertRef]]:
        found: list[list[AlertRef]] = [[] for _ in documents]
        alerts = self.alerts()
        if not documents or not alerts:
            return found
        tag = uuid.uuid4().hex
        slots = {f"probe-{tag}-{n}": n for n in range(len(documents))}
        operations: list[dict[str, Any]] = []
        for probe_id, document in zip(slots, documents, strict=True):
            operations += [
                {"index": {"_index": self.index, "_id": probe_id}},
                {**document, "probe": tag},
            ]
        written = self.client.bulk(operations=operations, refresh=True)
        if written.get("errors"):
            for item in written["items"]:
                error = item["index"].get("error")
                if error:  # the articles index refuses it too, and dead-letters it there
                    log.warning(
                        "alert probe refused, article not matched probe=%s error=%s",
                        item["index"]["_id"],
                        error.get("type"),
                    )
        try:
            for start in range(0, len(alerts), MSEARCH_CHUNK):
                chunk = alerts[start : start + MSEARCH_CHUNK]
                self._search(chunk, tag, len(documents), slots, found)
        finally:
            self.client.bulk(
                operations=[{"delete": {"_index": self.index, "_id": i}} for i in slots]
            )
        return found

    def _search(
        self,
        chunk: Sequence[tuple[AlertRef, dict[str, Any]]],
        tag: str,
        size: int,
        slots: dict[str, int],
        found: list[list[AlertRef]],
    ) -> None:
        searches: list[dict[str, Any]] = []
        for _, query in chunk:
            searches += [
                {"index": self.index},
                {
                    "query": {"bool": {"must": [query], "filter": [{"term": {"probe": tag}}]}},
                    "size": size,
                    "_source": False,
                    "track_total_hits": False,
                },
            ]
        response = self.client.msearch(searches=searches)
        for (ref, _), answer in zip(chunk, response["responses"], strict=True):
            if "error" in answer:
                # One broken saved query must not stop the others: said loudly, every batch.
                log.error(
                    "alert query failed alert=%s error=%s", ref.name, answer["error"].get("type")
                )
                continue
            for hit in answer["hits"]["hits"]:
                found[slots[hit["_id"]]].append(ref)


def open_matcher(
    client: Elasticsearch, index: str, matcher: Matcher, *, reload_seconds: float
) -> AlertMatcher:
    """The matcher for an alerts index created with ``matcher`` (``AlertStore.ensure``)."""
    if matcher == "percolator":
        return PercolateMatcher(client, index)
    return SearchMatcher(client, index, reload_seconds=reload_seconds)


def sweep_probes(client: Elasticsearch, index: str, *, older_than: timedelta) -> int:
    """Delete probe documents a dead worker left behind; how many were deleted."""
    before = (datetime.now(UTC) - older_than).isoformat()
    deleted = 0
    while True:
        hits = client.search(
            index=index,
            query={
                "bool": {
                    "filter": [
                        {"exists": {"field": "probe"}},
                        {"range": {"indexed_at": {"lt": before}}},
                    ]
                }
            },
            size=1000,
            source=False,
        )["hits"]["hits"]
        if not hits:
            return deleted
        client.bulk(
            operations=[{"delete": {"_index": index, "_id": hit["_id"]}} for hit in hits],
            refresh=True,
        )
        deleted += len(hits)
