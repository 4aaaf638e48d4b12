"""The enrichment pipeline as plain objects: raw Kafka records in, enriched articles or dead letters out.

The Faust agents in ``processors.worker.app`` are thin shells around this: they hand over a batch of
records and publish what comes back. Everything here runs, and is unit-tested, without a broker.

A step is anything with a ``step_id`` and ``process(article) -> Article`` that raises
``DropArticle`` to reject one article; a step that is cheaper in bulk (spaCy's ``nlp.pipe``)
also offers ``process_batch``. Steps run in order; a rejected article leaves the batch as a
dead letter naming the step, and the rest of the batch goes on.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol, runtime_checkable

from wirehose.core.article import Article
from wirehose.core.deadletter import DeadLetter
from wirehose.core.errors import DropArticle

log = logging.getLogger(__name__)


@runtime_checkable
class Step(Protocol):
    step_id: str

    def process(self, article: Article) -> Article: ...


@runtime_checkable
class BatchStep(Step, Protocol):
    def process_batch(self, articles: Sequence[Article]) -> list[Article]: ...


# The Kafka header that marks a record as a dedup re-mark (``processors.dedup.messages.Remark``)
# rather than an article: the stages after dedup pass it along untouched, the sink applies it.
REMARK_HEADER = ("wirehose-kind", b"remark")
# The header validate stamps on each article: how far its raw partition has come in event time,
# counting only records processed without a hole before them (``processors.progress``).
WATERMARK_HEADER = "wirehose-watermark"


@dataclass(frozen=True)
class RawRecord:
    """A Kafka record as the pipeline sees it: bytes plus where they came from."""

    value: bytes | None
    key: bytes | None = None
    topic: str | None = None
    partition: int | None = None
    offset: int | None = None
    remark: bool = False  # carries REMARK_HEADER
    generation: int | None = None  # the consumer generation it was read in


def header(headers: object, name: str) -> bytes | None:
    """The value of header ``name`` in Kafka ``headers`` (pairs or a mapping), if present."""
    if not headers:
        return None
    pairs = headers.items() if isinstance(headers, dict) else headers
    for key, value in pairs:  # type: ignore[attr-defined]
        if key == name:
            return bytes(value)
    return None


def is_remark(headers: object) -> bool:
    """Whether Kafka ``headers`` (pairs or a mapping, as Faust hands them over) mark a remark."""
    name, value = REMARK_HEADER
    return header(headers, name) == value


@dataclass
class BatchResult:
    articles: list[Article]
    dead_letters: list[DeadLetter]
    # The record each article came from (same order), when a caller needs to know its partition.
    records: list[RawRecord] = field(default_factory=list)
    # What the steps counted in this batch (a step with a ``counts`` Counter reports into it).
    counts: dict[str, int] = field(default_factory=dict)
    # Seconds the steps worked on this batch, in whichever process ran them: the tag stage's
    # busy share (``wirehose_stage_busy_seconds_total``) is how a backlog shows NER starving.
    busy_seconds: float = 0.0


class Validate:
    """Parse wire bytes into an ``Article``; anything else is a dead letter with the reason.

    ``internal``: the records come from a topic the worker itself wrote (``Article.from_internal``:
    the same checks, parsed faster); from outside, they are read with ``Article.from_bytes``.
    """

    step_id = "validate"

    def __init__(self, max_body_chars: int, *, internal: bool = False) -> None:
        self.max_body_chars = max_body_chars
        self._parse = Article.from_internal if internal else Article.from_bytes

    def parse(self, record: RawRecord) -> Article:
        return self._parse(record.value, max_body_chars=self.max_body_chars)


class Stamp:
    """The last step: when this article was processed."""

    step_id = "stamp"

    def process(self, article: Article) -> Article:
        return article.model_copy(update={"processed_at": datetime.now(UTC)})


class EnrichmentPipeline:
    """Validate, then run each step over the batch, collecting dead letters as they fall out."""

    def __init__(self, validate: Validate, steps: Sequence[Step]) -> None:
        self.validate = validate
        self.steps = list(steps)

    def run(self, records: Sequence[RawRecord]) -> BatchResult:
        started = time.perf_counter()
        dead: list[DeadLetter] = []
        # Keep each article paired with its record so a later rejection still names the offset.
        live: list[tuple[RawRecord, Article]] = []
        for record in records:
            try:
                live.append((record, self.validate.parse(record)))
            except DropArticle as drop:
                dead.append(self._dead(drop, self.validate.step_id, record, None))
        before = self._counts()
        for step in self.steps:
            if not live:
                break
            live = self._run_step(step, live, dead)
        return BatchResult(
            articles=[article for _, article in live],
            dead_letters=dead,
            records=[record for record, _ in live],
            counts=dict(self._counts() - before),
            busy_seconds=time.perf_counter() - started,
        )

    def _counts(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for step in self.steps:
            total.update(getattr(step, "counts", None) or {})
        return total

    def _run_step(
        self, step: Step, live: list[tuple[RawRecord, Article]], dead: list[DeadLetter]
    ) -> list[tuple[RawRecord, Article]]:
        if isinstance(step, BatchStep) and len(live) > 1:
            try:
                done = step.process_batch([article for _, article in live])
                return [(record, article) for (record, _), article in zip(live, done, strict=True)]
            except DropArticle:
                # One bad article spoiled the batch: fall back to one at a time to find it.
                log.info("batch step rejected an article, retrying singly step=%s", step.step_id)
        survivors: list[tuple[RawRecord, Article]] = []
        for record, article in live:
            try:
                survivors.append((record, step.process(article)))
            except DropArticle as drop:
                dead.append(self._dead(drop, step.step_id, record, article.article_id))
        return survivors

    @staticmethod
    def _dead(
        drop: DropArticle, step: str, record: RawRecord, article_id: str | None
    ) -> DeadLetter:
        letter = DeadLetter.from_drop(
            drop,
            step=step,
            original=record.value,
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            key=record.key,
            article_id=article_id,
        )
        letter.log()
        return letter
