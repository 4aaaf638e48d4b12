"""One bulk request and its response, item by item: what is done, what to retry, what to reject.

Every document is written with ``version_type=external`` and a version that grows with each
revision of an article (see ``ElasticsearchSink.add``). So:

- **201/200**: indexed.
- **409** ``version_conflict_engine_exception``: the index already holds this revision or a newer
  one, i.e. a Kafka redelivery or a replay of something already written. Done, not an error.
- **429, 5xx**, and the few 4xx that describe the *index* rather than the document (closed,
  write-blocked, alias missing, shards unavailable): transient; the item is retried with
  exponential backoff until it goes through. An outage makes the sink wait, never drop.
- **any other error** (mapping conflicts, unparsable values, ...): the document itself is bad and
  will never index; it is dead-lettered with Elasticsearch's reason and the batch moves on.

A failure of the whole request (connection refused, timeout, 429/5xx on ``_bulk`` itself) retries
the whole chunk; external versions make a partially applied request safe to resend, since the
already-applied items come back as 409 the second time.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any, Protocol

from elastic_transport import ConnectionError as TransportConnectionError
from elastic_transport import ConnectionTimeout
from elasticsearch import ApiError

from wirehose.core.clients import certificate_problem
from wirehose.core.errors import ServiceError

if TYPE_CHECKING:
    from wirehose.core.article import Article

log = logging.getLogger(__name__)

# Item errors that say "the index cannot take writes right now", whatever their HTTP status.
# index_closed_exception is a 400 and index_not_found_exception a 404, yet both are cured by an
# operator (or `wirehose index create`), not by changing the document.
TRANSIENT_ERROR_TYPES = frozenset(
    {
        "index_closed_exception",
        "index_not_found_exception",
        "cluster_block_exception",
        "unavailable_shards_exception",
        "no_shard_available_action_exception",
        "primary_missing_action_exception",
        "node_not_connected_exception",
        "node_closed_exception",
        "es_rejected_execution_exception",
        "circuit_breaking_exception",
    }
)


class Outcome(Enum):
    INDEXED = "indexed"
    CONFLICT = "conflict"  # already indexed at this or a newer version: done
    RETRY = "retry"
    REJECTED = "rejected"


@dataclass(frozen=True)
class ItemResult:
    outcome: Outcome
    status: int
    error_type: str = ""
    reason: str = ""


def classify(item: dict[str, Any]) -> ItemResult:
    """Classify one entry of a bulk response's ``items`` (``{"index": {...}}``)."""
    (body,) = item.values()
    status = int(body.get("status", 0))
    error = body.get("error")
    if error is None and 200 <= status < 300:
        return ItemResult(Outcome.INDEXED, status)
    error_type, reason = describe_error(error)
    if status == 409 or error_type == "version_conflict_engine_exception":
        return ItemResult(Outcome.CONFLICT, status, error_type, reason)
    if status == 429 or status >= 500 or error_type in TRANSIENT_ERROR_TYPES:
        return ItemResult(Outcome.RETRY, status, error_type, reason)
    return ItemResult(Outcome.REJECTED, status, error_type or "unknown", reason)


def describe_error(error: Any) -> tuple[str, str]:
    """``(type, reason)`` of a bulk item error, with the root cause appended when it says more."""
    if not isinstance(error, dict):
        return ("", str(error or ""))
    error_type = str(error.get("type", ""))
    reason = str(error.get("reason", ""))
    cause = error.get("caused_by")
    while isinstance(cause, dict):
        cause_reason = cause.get("reason")
        if cause_reason and cause_reason not in reason:
            reason = f"{reason} (caused by {cause.get('type')}: {cause_reason})"
        cause = cause.get("caused_by")
    return error_type, reason


class BulkClient(Protocol):
    """The one method of ``elasticsearch.Elasticsearch`` the writer uses (fakes implement it)."""

    def bulk(self, *, operations: Sequence[dict[str, Any]], **params: Any) -> Any: ...


@dataclass
class Backoff:
    """Exponential backoff without jitter: one writer per partition gains nothing from jitter,
    and a deterministic schedule keeps tests exact."""

    initial: float = 0.5
    maximum: float = 30.0
    multiplier: float = 2.0

    def delay(self, attempt: int) -> float:
        return float(min(self.maximum, self.initial * self.multiplier**attempt))


@dataclass
class Doc:
    """A document waiting to be written, with what a dead letter needs if it is rejected."""

    article_id: str
    version: int
    source: dict[str, Any]
    size: int
    article: Article | None = None
    offset: int | None = None
    partition: int | None = None
    # "index" writes the whole document at ``version``; "create" writes it only where there is
    # none yet (a late dedup decision: 409 when the document exists, counted as done);
    # "update" changes the fields in ``source`` of a document already written (a dedup
    # re-mark), whatever its version.
    op: str = "index"


@dataclass
class ChunkReport:
    indexed: int = 0
    updated: int = 0
    conflicts: int = 0
    retries: int = 0
    rejected: list[tuple[Doc, ItemResult]] = field(default_factory=list)


def is_transient(exc: BaseException) -> bool:
    """True for a failure of the whole request that waiting can cure."""
    if certificate_problem(exc) is not None:
        return False  # a rejected certificate is a setting to fix; waiting would hang the worker
    if isinstance(exc, TransportConnectionError | ConnectionTimeout):
        return True
    if isinstance(exc, ApiError):
        return exc.status_code == 429 or exc.status_code >= 500
    return False


def write_chunk(
    client: BulkClient,
    index: str,
    docs: Sequence[Doc],
    *,
    wait: Callable[[float], None],
    backoff: Backoff,
    on_missing_index: Callable[[], None] | None = None,
    refresh: bool | str = False,
) -> ChunkReport:
    """Write ``docs`` until each one is indexed, a conflict, or rejected; retry the rest.

    ``wait(seconds)`` sleeps between attempts and raises ``SinkClosed`` to abandon the chunk.
    Request-level errors that are not transient (401, 403, a malformed request) raise
    ``ServiceError``: they are configuration problems, and dead-lettering every document
    because of a wrong password would lose the batch.
    """
    report = ChunkReport()
    pending = list(docs)
    attempt = 0
    while pending:
        try:
            # require_alias: with the alias gone, a write must fail (and be retried after
            # setup) instead of auto-creating a concrete index with a guessed mapping.
            response = client.bulk(
                operations=_operations(index, pending), refresh=refresh, require_alias=True
            )
        except Exception as exc:
            if not is_transient(exc):
                raise _request_error(exc) from exc
            delay = backoff.delay(attempt)
            log.warning(
                "bulk request failed, retrying docs=%d attempt=%d in_seconds=%.1f error=%s",
                len(pending),
                attempt + 1,
                delay,
                _short(exc),
            )
            report.retries += 1
            wait(delay)
            attempt += 1
            continue
        retry: list[Doc] = []
        first_retry: ItemResult | None = None
        missing_index = False
        for doc, item in zip(pending, response["items"], strict=True):
            result = classify(item)
            if doc.op == "update" and result.error_type == "document_missing_exception":
                if any(d.op != "update" and d.article_id == doc.article_id for d in retry):
                    retry.append(doc)  # its document is being retried: update it after that
                else:
                    # The article never reached the index (it was dead-lettered): nothing to mark.
                    log.info("re-mark of an unindexed article skipped id=%s", doc.article_id)
                    report.conflicts += 1
                continue
            if result.outcome is Outcome.INDEXED:
                if doc.op == "update":
                    report.updated += 1
                else:
                    report.indexed += 1
            elif result.outcome is Outcome.CONFLICT:
                report.conflicts += 1
            elif result.outcome is Outcome.RETRY:
                retry.append(doc)
                first_retry = first_retry or result
                missing_index |= result.error_type == "index_not_found_exception"
            else:
                report.rejected.append((doc, result))
        if first_retry is not None:
            delay = backoff.delay(attempt)
            log.warning(
                "bulk items not written, retrying docs=%d attempt=%d in_seconds=%.1f "
                "status=%d error=%s reason=%s",
                len(retry),
                attempt + 1,
                delay,
                first_retry.status,
                first_retry.error_type,
                first_retry.reason[:200],
            )
            report.retries += 1
            wait(delay)
            if missing_index and on_missing_index is not None:
                on_missing_index()
            attempt += 1
        pending = retry
    return report


def _operations(index: str, docs: Sequence[Doc]) -> list[dict[str, Any]]:
    operations: list[dict[str, Any]] = []
    for doc in docs:
        if doc.op == "update":
            operations.append({"update": {"_index": index, "_id": doc.article_id}})
            operations.append({"doc": doc.source})
            continue
        if doc.op == "create":
            operations.append({"create": {"_index": index, "_id": doc.article_id}})
            operations.append(doc.source)
            continue
        operations.append(
            {
                "index": {
                    "_index": index,
                    "_id": doc.article_id,
                    "version": doc.version,
                    "version_type": "external",
                }
            }
        )
        operations.append(doc.source)
    return operations


def _request_error(exc: Exception) -> ServiceError:
    status = getattr(exc, "status_code", None)
    hint = {
        401: "check WIREHOSE_ES_USERNAME / WIREHOSE_ES_PASSWORD or WIREHOSE_ES_API_KEY",
        403: "the Elasticsearch user needs the index and write privileges on the alias",
    }.get(status or 0, "see the Elasticsearch log; the batch was not acknowledged")
    if certificate_problem(exc) is not None:
        hint = "the server's certificate was rejected: set WIREHOSE_ES_CA_CERTS to its CA (PEM)"
    return ServiceError(f"Elasticsearch refused the bulk request ({status}): {_short(exc)}; {hint}")


def _short(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {str(exc)[:300]}"
