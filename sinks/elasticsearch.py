"""The Elasticsearch sink: buffered bulk writes keyed by ``article_id``, nothing dropped.

``add()`` only buffers (it runs on the Faust event loop and must not block); ``flush()`` writes
the buffer in chunks of at most ``WIREHOSE_SINK_BATCH_SIZE`` documents and
``WIREHOSE_SINK_BATCH_BYTES`` bytes and returns only when every document is indexed, already
there (409), or rejected for good, the rejects as dead letters for the caller to publish. The
agent acks Kafka offsets after that, so a crash replays the batch instead of losing it. Time-based
flushing (``WIREHOSE_SINK_FLUSH_SECONDS``) is the caller's loop (``noack_take(within=...)``);
``due`` tells other callers when it is time.

Versioning. Each document is written with ``version_type=external`` and, by default, the
article's ``processed_at`` in microseconds as its version (``fetched_at`` for articles that never
went through the processors). A redelivered enriched record carries the same ``processed_at``, so
Elasticsearch answers 409 and the sink counts it as done; a reprocessed article has a later one and
wins; an older revision arriving late loses. We chose this over the Kafka offset of the enriched
record, which also grows per article, because offsets restart when the topic is recreated, are not
comparable across partitions after a partition-count change, nor across two topics feeding one
index (a backfill), and each of those would silently freeze documents at their old revision. The
cost: workers' clocks must not disagree by more than the time between two revisions of one
article. Callers with a better number pass ``version=``.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from elasticsearch import Elasticsearch

from sinks.bulk import (
    Backoff,
    BulkClient,
    ChunkReport,
    Doc,
    ItemResult,
    is_transient,
    write_chunk,
)
from sinks.document import dedup_fields, to_document
from sinks.indices import IndexManager
from wirehose.core.article import Article, DedupMark
from wirehose.core.clients import es_client, es_failure
from wirehose.core.deadletter import DeadLetter, Reason
from wirehose.core.errors import DropArticle, SinkClosed
from wirehose.core.settings import Settings

log = logging.getLogger(__name__)

__all__ = ["ElasticsearchSink", "article_version"]


@dataclass
class SinkStats:
    """Running totals since the sink was built (for logs, status and tests)."""

    indexed: int = 0
    updated: int = 0  # dedup re-marks applied to documents already indexed
    conflicts: int = 0
    rejected: int = 0
    retries: int = 0


def es_reason(error_type: str) -> Reason:
    """The dead-letter reason of a document Elasticsearch refused with ``error_type``:
    ``es-<error type>`` for the types ``Reason`` lists, ``es-unknown`` for any other."""
    return Reason.parse(f"es-{error_type}") or Reason.ES_UNKNOWN


def article_version(article: Article) -> int:
    """The external version of an article's document: ``processed_at`` (else ``fetched_at``) in
    microseconds since the epoch."""
    stamp = article.processed_at or article.fetched_at
    return int(stamp.timestamp() * 1_000_000)


class ElasticsearchSink:
    """``setup()`` once, then ``add()`` articles and ``flush()`` them; ``close()`` on shutdown."""

    step_id = "sink.elasticsearch"

    def __init__(
        self,
        settings: Settings,
        client: Elasticsearch | BulkClient | None = None,
        *,
        backoff: Backoff | None = None,
        sleep: Callable[[float], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        refresh: bool | str = False,
    ) -> None:
        self.settings = settings
        self.client: Any = client if client is not None else es_client(settings)
        self.backoff = backoff or Backoff()
        self.refresh = refresh
        self._sleep = sleep
        self._clock = clock
        self._closed = threading.Event()
        self._buffer: list[Doc] = []
        self._bytes = 0
        self._first_added: float | None = None
        self.stats = SinkStats()

    # --- lifecycle ------------------------------------------------------------------------
    def setup(self) -> None:
        """Create the index template, the first index and the alias if they do not exist.

        Waits out an unreachable or overloaded cluster like ``flush`` does: a worker started
        before Elasticsearch is up should start consuming when it is, not crash-loop.
        """
        attempt = 0
        while True:
            try:
                IndexManager(self.client, self.settings.index_alias).ensure()
                return
            except Exception as exc:
                if not is_transient(exc):
                    failure = es_failure(exc, self.settings)  # a login or certificate to fix
                    if failure is None:
                        raise
                    raise failure from exc
                delay = self.backoff.delay(attempt)
                log.warning(
                    "index setup failed, retrying attempt=%d in_seconds=%.1f error=%s",
                    attempt + 1,
                    delay,
                    exc,
                )
                self._wait(delay)
                attempt += 1

    def close(self) -> None:
        """Stop waiting: a flush stuck retrying an outage raises ``SinkClosed`` (unacked)."""
        self._closed.set()

    # --- buffering --------------------------------------------------------------------------
    def add(
        self,
        article: Article,
        offset: int | None = None,
        *,
        partition: int | None = None,
        version: int | None = None,
    ) -> None:
        """Buffer one article; never does I/O. ``offset``/``partition`` only label dead letters."""
        source = to_document(article)
        size = len(json.dumps(source, ensure_ascii=False).encode("utf-8"))
        if size > self.settings.sink_batch_bytes:
            # One document larger than a whole batch cannot be sent without breaking the limit
            # the operator set; it is rejected here rather than stalling the partition.
            raise DropArticle(
                Reason.DOCUMENT_TOO_LARGE,
                f"document is {size} bytes, WIREHOSE_SINK_BATCH_BYTES is "
                f"{self.settings.sink_batch_bytes}",
            )
        doc = Doc(
            article=article,
            article_id=article.article_id,
            version=version if version is not None else article_version(article),
            source=source,
            size=size,
            offset=offset,
            partition=partition,
            # A late dedup decision only fills a gap: the document decided in time stays.
            op="create" if article.dedup is not None and article.dedup.late else "index",
        )
        if self._first_added is None:
            self._first_added = self._clock()
        self._buffer.append(doc)
        self._bytes += size

    def remark(
        self,
        article_id: str,
        mark: DedupMark,
        offset: int | None = None,
        *,
        partition: int | None = None,
    ) -> None:
        """Buffer a change of an indexed article's dedup marks (a late original re-points it).

        Written in buffer order, so after the article's own document when both are here; an
        article that never reached the index has nothing to re-mark and is skipped.
        """
        fields = dedup_fields(mark)
        doc = Doc(
            article_id=article_id,
            version=0,
            source=fields,
            size=len(json.dumps(fields)),
            offset=offset,
            partition=partition,
            op="update",
        )
        if self._first_added is None:
            self._first_added = self._clock()
        self._buffer.append(doc)
        self._bytes += doc.size

    def __len__(self) -> int:
        return len(self._buffer)

    @property
    def full(self) -> bool:
        """The buffer holds a batch's worth of documents or bytes."""
        return (
            len(self._buffer) >= self.settings.sink_batch_size
            or self._bytes >= self.settings.sink_batch_bytes
        )

    @property
    def due(self) -> bool:
        """Something is buffered and has waited ``WIREHOSE_SINK_FLUSH_SECONDS`` or more."""
        return (
            self._first_added is not None
            and self._clock() - self._first_added >= self.settings.sink_flush_seconds
        )

    # --- writing ----------------------------------------------------------------------------
    def flush(self) -> list[DeadLetter]:
        """Write everything buffered; return the documents Elasticsearch rejected for good.

        Blocks through an Elasticsearch outage (retrying with backoff) until every document is
        handled, or raises ``SinkClosed`` after ``close()``; the buffer is then kept, unacked.
        """
        letters: list[DeadLetter] = []
        while self._buffer:
            chunk = self._next_chunk()
            report = write_chunk(
                self.client,
                self.settings.index_alias,
                chunk,
                wait=self._wait,
                backoff=self.backoff,
                on_missing_index=self.setup,
                refresh=self.refresh,
            )
            # Only now, with the chunk fully handled, does it leave the buffer.
            del self._buffer[: len(chunk)]
            self._bytes -= sum(doc.size for doc in chunk)
            self._record(report)
            letters.extend(self._dead_letter(doc, result) for doc, result in report.rejected)
        self._first_added = None
        return letters

    def _next_chunk(self) -> list[Doc]:
        chunk: list[Doc] = []
        size = 0
        for doc in self._buffer:
            if chunk and (
                len(chunk) >= self.settings.sink_batch_size
                or size + doc.size > self.settings.sink_batch_bytes
            ):
                break
            chunk.append(doc)
            size += doc.size
        return chunk

    def _wait(self, seconds: float) -> None:
        # Counted here, live, so a watcher sees the sink waiting out an outage as it happens.
        self.stats.retries += 1
        if self._closed.is_set():
            raise SinkClosed("the sink was closed with documents still unwritten")
        if self._sleep is not None:
            self._sleep(seconds)
        elif self._closed.wait(seconds):
            raise SinkClosed("the sink was closed with documents still unwritten")

    def _record(self, report: ChunkReport) -> None:
        self.stats.indexed += report.indexed
        self.stats.updated += report.updated
        self.stats.conflicts += report.conflicts
        self.stats.rejected += len(report.rejected)
        log.debug(
            "bulk chunk written indexed=%d conflicts=%d rejected=%d retries=%d",
            report.indexed,
            report.conflicts,
            len(report.rejected),
            report.retries,
        )

    def _dead_letter(self, doc: Doc, result: ItemResult) -> DeadLetter:
        reason = es_reason(result.error_type)
        detail = f"status {result.status}: {result.reason}"
        if reason is Reason.ES_UNKNOWN:
            detail = f"{result.error_type} {detail}"  # the type is the first thing to look up
        drop = DropArticle(reason, detail)
        letter = DeadLetter.from_drop(
            drop,
            step=self.step_id,
            # The article, not the document: `replay --dead-letters` resends it as a record once
            # the mapping is fixed.
            original=doc.article.to_bytes() if doc.article is not None else None,
            topic=self.settings.topic_enriched,
            partition=doc.partition,
            offset=doc.offset,
            key=doc.article_id,
            article_id=doc.article_id,
        )
        letter.log()
        return letter
