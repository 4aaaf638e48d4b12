"""Counting what the worker's agents do, without putting metric code inside them.

The agents stay thin shells (see ``processors.worker.app``): the enrich agent reports each batch with
one call to ``wirehose.core.metrics.observe_enrich``, and the index agent talks to an
``ObservedSink`` - the Elasticsearch sink wrapped so that every ``add`` and ``flush`` is
counted and timed. Duplicates are counted here, where every article arrives whichever agent
marked it, so the count stays right however the dedup stage is wired.
"""

from __future__ import annotations

import time
from typing import Any

from wirehose.core import metrics
from wirehose.core.article import Article
from wirehose.core.deadletter import DeadLetter


class ObservedSink:
    """An Elasticsearch sink (or anything with its ``add``/``flush``/``stats``) with metrics."""

    def __init__(self, sink: Any) -> None:
        self.sink = sink
        self.step_id: str = sink.step_id
        self._records = metrics.SINK_RECORDS.labels(step=self.step_id)
        self._indexed = metrics.SINK_INDEXED.labels(step=self.step_id)
        self._conflicts = metrics.SINK_CONFLICTS.labels(step=self.step_id)
        self._duplicates = metrics.DEDUP_DUPLICATES.labels(step=metrics.STEP_DEDUP)
        self._batch = metrics.SINK_BATCH.labels(step=self.step_id)
        self._latency = metrics.SINK_BULK_LATENCY.labels(step=self.step_id)

    def setup(self) -> None:
        self.sink.setup()

    def add(self, article: Article, offset: int | None = None, **kwargs: Any) -> None:
        self._records.inc()
        if article.dedup is not None and not article.dedup.is_canonical:
            self._duplicates.inc()
        self.sink.add(article, offset, **kwargs)

    def flush(self) -> list[DeadLetter]:
        """Flush the wrapped sink; count the batch, its latency and what Elasticsearch took."""
        size = len(self.sink)
        if not size:
            letters: list[DeadLetter] = self.sink.flush()
            return letters
        indexed, conflicts = self.sink.stats.indexed, self.sink.stats.conflicts
        started = time.perf_counter()
        letters = self.sink.flush()
        self._latency.observe(time.perf_counter() - started)
        self._batch.observe(size)
        self._indexed.inc(self.sink.stats.indexed - indexed)
        self._conflicts.inc(self.sink.stats.conflicts - conflicts)
        return letters

    def __len__(self) -> int:
        return len(self.sink)

    def __getattr__(self, name: str) -> Any:
        # Everything not counted (close, full, due, stats...) is the wrapped sink's own.
        return getattr(self.sink, name)
