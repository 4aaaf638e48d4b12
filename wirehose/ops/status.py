"""``wirehose status`` as data: a typed snapshot of the whole pipeline, gathered part by part.

Gathering is separate from rendering (``wirehose.ops.status_render``) so the same snapshot feeds the
terminal table, ``--json`` for scripts, and tests. Each part is gathered on its own and a part
that fails becomes a ``problem`` with what to do about it, never a traceback: status is what an
operator runs when something is wrong, so it must work best when things are broken.

The sources (Kafka offsets, the dead-letter scan, Elasticsearch, the worker's ``/metrics``) are
passed in as small protocols, so unit tests build snapshots from fakes.
"""

from __future__ import annotations

import dataclasses
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from wirehose.core.offsets import OffsetSource, PartitionLag, TopicOffsets, group_lag
from wirehose.core.settings import Settings
from wirehose.ops.deadletters import Scan

log = logging.getLogger(__name__)

KAFKA_HINT = "run `wirehose services up`, or point WIREHOSE_KAFKA_BOOTSTRAP at a running broker"
ES_HINT = "run `wirehose services up`, or point WIREHOSE_ES_URL at a running cluster"
WORKER_HINT = "start one with `wirehose worker` (or check WIREHOSE_WORKER_WEB_PORT)"
TOP_REASONS = 5


@dataclass(frozen=True)
class ServiceStatus:
    name: str
    address: str
    up: bool
    managed: bool
    detail: str = ""


@dataclass(frozen=True)
class LagRow:
    topic: str
    partition: int
    end_offset: int
    committed: int | None
    lag: int


@dataclass(frozen=True)
class StageStatus:
    """One agent: what reached its input topic, what it wrote, and its group's lag."""

    name: str
    topic_in: str
    topic_out: str
    messages_in: int | None
    messages_out: int | None
    lag: int | None
    worker: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class DeadLetterStatus:
    topic: str
    total: int
    scanned: int
    complete: bool
    reasons: list[tuple[str, int]]
    steps: list[tuple[str, int]]
    unreadable: int = 0


@dataclass(frozen=True)
class IndexStatus:
    alias: str
    indices: list[str]
    documents: int
    canonical: int
    duplicates: int


@dataclass(frozen=True)
class WorkerStatus:
    url: str
    reachable: bool
    ready: bool | None = None
    ready_reason: str | None = None


@dataclass(frozen=True)
class Snapshot:
    taken_at: str
    group: str
    services: list[ServiceStatus]
    stages: list[StageStatus]
    lag: list[LagRow]
    dead_letters: DeadLetterStatus | None
    index: IndexStatus | None
    worker: WorkerStatus | None
    problems: list[str]

    @property
    def total_lag(self) -> int:
        return sum(row.lag for row in self.lag)

    @property
    def healthy(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["total_lag"] = self.total_lag
        data["healthy"] = self.healthy
        return data


class IndexSource(Protocol):
    def index_status(self, alias: str) -> IndexStatus | None: ...


@dataclass
class Sources:
    """Where each part of the snapshot comes from; None means unreachable (with a problem)."""

    services: list[ServiceStatus]
    offsets: OffsetSource | None
    scan_dead_letters: Callable[[], Scan] | None
    index: IndexSource | None
    worker_metrics: Callable[[], dict[str, float] | None]
    worker_ready: Callable[[], tuple[bool, str | None] | None]
    problems: list[str] = field(default_factory=list)
    worker_url: str | None = None


# Worker counters shown per stage: sample name -> short label.
STAGE_COUNTERS: dict[str, dict[str, str]] = {
    "enrich": {
        'wirehose_enrich_records_total{step="validate"}': "records_in",
        'wirehose_enrich_articles_total{step="validate"}': "valid",
        'wirehose_enrich_articles_total{step="entities"}': "tagged",
        "wirehose_entities_tagged_total": "entity_mentions",
    },
    "index": {
        "wirehose_sink_records_total": "records_in",
        "wirehose_sink_documents_indexed_total": "documents_indexed",
        "wirehose_sink_version_conflicts_total": "version_conflicts",
        "wirehose_dedup_duplicates_total": "duplicates",
    },
}


def gather(settings: Settings, sources: Sources) -> Snapshot:
    """Build the snapshot; every failure is recorded as a problem and the rest still gathered."""
    problems = list(sources.problems)
    offsets: dict[str, TopicOffsets | None] = {}
    lag: list[LagRow] = []
    topics = (settings.topic_raw, settings.topic_enriched, settings.topic_dead_letter)
    if sources.offsets is not None:
        try:
            for topic in topics:
                offsets[topic] = sources.offsets.topic_offsets(topic)
            committed = sources.offsets.group_offsets(settings.app_id)
            # The worker's internal topics (dedup, stories...) lag too: show every topic the
            # group has committed on, so a stage stuck in the middle is visible.
            internal = sorted({topic for topic, _ in committed} - set(topics))
            for topic in internal:
                offsets[topic] = sources.offsets.topic_offsets(topic)
            for topic in [*topics[:2], *internal]:
                found = offsets[topic]
                if found is not None:
                    lag.extend(_row(r) for r in group_lag(found, committed))
        except Exception as exc:  # one broken call must not hide the rest of the snapshot
            problems.append(f"Kafka offsets unavailable ({_brief(exc)}): {KAFKA_HINT}")
        for topic in topics[:2]:
            if topic in offsets and offsets[topic] is None:
                problems.append(f"topic {topic} does not exist yet: start `wirehose worker`")

    metrics = _call(sources.worker_metrics)
    ready = _call(sources.worker_ready)
    url = sources.worker_url or worker_url(settings)
    worker = WorkerStatus(url=url, reachable=metrics is not None)
    if ready is not None:
        worker = dataclasses.replace(worker, ready=ready[0], ready_reason=ready[1])
    if metrics is None:
        problems.append(f"no worker answers at {url}: {WORKER_HINT}")
    elif ready is not None and not ready[0]:
        problems.append(f"the worker at {url} is not ready: {ready[1]}")

    stages = [
        # Every topic but the index's input belongs to the enrich stage (raw and internal ones).
        _stage(
            "enrich",
            settings.topic_raw,
            settings.topic_enriched,
            offsets,
            [row for row in lag if row.topic != settings.topic_enriched],
            metrics,
        ),
        _stage(
            "index",
            settings.topic_enriched,
            "elasticsearch",
            offsets,
            [row for row in lag if row.topic == settings.topic_enriched],
            metrics,
        ),
    ]
    dead = _dead_letters(settings, sources, offsets, problems)
    index = None
    if sources.index is not None:
        try:
            index = sources.index.index_status(settings.index_alias)
            if index is None:
                problems.append(
                    f"alias {settings.index_alias} does not exist yet: the worker creates it"
                )
        except Exception as exc:  # report, do not crash: see module docstring
            problems.append(f"Elasticsearch index status unavailable ({_brief(exc)}): {ES_HINT}")
    if index is not None:
        # What the index stage "wrote" is what Elasticsearch holds.
        stages[1] = dataclasses.replace(stages[1], messages_out=index.documents)
    return Snapshot(
        taken_at=datetime.now(UTC).isoformat(timespec="seconds"),
        group=settings.app_id,
        services=sources.services,
        stages=stages,
        lag=lag,
        dead_letters=dead,
        index=index,
        worker=worker,
        problems=problems,
    )


def _row(lag: PartitionLag) -> LagRow:
    return LagRow(lag.topic, lag.partition, lag.end_offset, lag.committed, lag.lag)


def _stage(
    name: str,
    topic_in: str,
    topic_out: str,
    offsets: dict[str, TopicOffsets | None],
    lag: list[LagRow],
    metrics: dict[str, float] | None,
) -> StageStatus:
    found_in, found_out = offsets.get(topic_in), offsets.get(topic_out)
    counters = {
        label: metrics.get(sample, 0.0)
        for sample, label in STAGE_COUNTERS[name].items()
        if metrics is not None
    }
    return StageStatus(
        name=name,
        topic_in=topic_in,
        topic_out=topic_out,
        messages_in=found_in.written if found_in else None,
        messages_out=found_out.written if found_out else None,
        lag=sum(row.lag for row in lag) if lag else None,
        worker=counters,
    )


def _dead_letters(
    settings: Settings,
    sources: Sources,
    offsets: dict[str, TopicOffsets | None],
    problems: list[str],
) -> DeadLetterStatus | None:
    if sources.scan_dead_letters is None:
        return None
    try:
        scan = sources.scan_dead_letters()
    except Exception as exc:  # report, do not crash
        problems.append(f"dead-letter topic unreadable ({_brief(exc)}): {KAFKA_HINT}")
        return None
    found = scan.offsets or offsets.get(settings.topic_dead_letter)
    reasons: Counter[str] = Counter()
    steps: Counter[str] = Counter()
    unreadable = 0
    for entry in scan.entries:
        if entry.letter is None:
            unreadable += 1
            continue
        reasons[entry.letter.reason] += 1
        steps[entry.letter.step] += 1
    return DeadLetterStatus(
        topic=settings.topic_dead_letter,
        total=found.written if found else 0,
        scanned=len(scan.entries),
        complete=scan.complete,
        reasons=reasons.most_common(TOP_REASONS),
        steps=steps.most_common(),
        unreadable=unreadable,
    )


def _call(fetch: Callable[[], Any]) -> Any:
    try:
        return fetch()
    except Exception:  # the worker being away is a normal state, reported by the caller
        log.debug("worker probe failed", exc_info=True)
        return None


def _brief(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text[:200]}" if text else type(exc).__name__


def worker_url(settings: Settings) -> str:
    """Where this machine reaches the worker's web server."""
    host = settings.worker_web_host
    # A worker bound to every interface is reached on loopback from the same machine.
    if host in {"0.0.0.0", "::", ""}:  # noqa: S104 - a comparison, not a bind
        host = "127.0.0.1"
    return f"http://{host}:{settings.worker_web_port}"
