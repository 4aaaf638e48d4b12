"""How many bytes of table state the worker's dedup keeps per article in its window.

The worker's dedup state is two Faust tables (``processors.topology.TABLES``): ``dedup-entries``
on the bands partitions and ``dedup-decisions`` on the verdicts partitions. What a table costs
is its keys and values as the worker serialises them (the compact binary records of
``processors.dedup.wire``): that is what its changelog topic holds once compacted, and what a
store on disk keeps. This module drives the same plain
classes the agents drive (``BandWorker``, ``Decider``) over articles in event-time order, on
``partitions`` partitions with dicts for tables, and weighs the tables at the end.

Resident memory is a different question (Python objects cost several times their bytes) and is
what ``dedup_scaling`` reports for the single-process detector.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from processors.dedup.bands import BandWorker
from processors.dedup.decider import Decider
from processors.dedup.messages import article_message, probes, route_partition
from processors.dedup.sign import Signer
from wirehose.core.article import Article, event_time
from wirehose.core.settings import Settings


@dataclass(frozen=True)
class StateSize:
    articles: int
    partitions: int
    entries_bytes: int
    decisions_bytes: int

    @property
    def per_article(self) -> float:
        return (self.entries_bytes + self.decisions_bytes) / max(1, self.articles)

    def as_dict(self) -> dict[str, Any]:
        return {
            "articles": self.articles,
            "partitions": self.partitions,
            "entries_bytes_per_article": round(self.entries_bytes / max(1, self.articles)),
            "decisions_bytes_per_article": round(self.decisions_bytes / max(1, self.articles)),
            "state_bytes_per_article": round(self.per_article),
        }


def _size(value: Any) -> int:
    return len(value) if isinstance(value, bytes) else len(json.dumps(value))


def table_bytes(table: Mapping[Any, Any]) -> int:
    """Keys and values as the Faust table stores them: bytes as they are (a binary table),
    anything else as JSON."""
    return sum(_size(key) + _size(value) for key, value in table.items())


def measure(settings: Settings, articles: Sequence[Article], partitions: int) -> StateSize:
    """Run ``articles`` (in event-time order) through ``partitions`` bands and verdicts
    partitions, every message delivered at once, and weigh both tables."""
    window = timedelta(hours=settings.dedup_window_hours)
    lateness = timedelta(hours=settings.dedup_lateness_hours)
    entries: dict[bytes, bytes] = {}
    decisions: dict[bytes, bytes] = {}
    bands = BandWorker(
        entries, threshold=settings.dedup_threshold, window=window, lateness=lateness
    )
    decider = Decider(decisions, window=window, lateness=lateness)
    signer = Signer()
    ordered = sorted(articles, key=lambda a: (event_time(a), a.article_id))
    for article in ordered:
        routed = probes(article, signer.sign(article), partitions, 0, event_time(article))
        home = route_partition(article.article_id, partitions)
        _decide(decider, home, [article_message(article, len(routed))])
        for partition, probe in routed.items():
            _decide(decider, home, (message for _, message in bands.handle(partition, probe)))
    return StateSize(len(ordered), partitions, table_bytes(entries), table_bytes(decisions))


def _decide(decider: Decider, partition: int, messages: Iterable[bytes]) -> None:
    for message in messages:
        out = decider.handle(partition, message)
        if out is not None:
            decider.settle(out.article_id)
