"""The dedup contract on the plain objects: the worker's final marks equal the reference's.

The reference is ``WireCopyDetector`` run in one process over the archive in event-time order.
The partitioned stages (sign -> bands -> decide) run here as queues per topic partition, drained
by a seeded random scheduler: partitions and stages move at uneven speeds, as they do in a
backlog, and the archive arrives with partitions days of event time apart and originals after
their copies. Each queue is a log read as Faust reads Kafka: at times messages are dropped unread
(a hole, as at a rebalance), and at times the reader goes back to the committed offset, which
never passes an unprocessed message, and reads everything from there again. The final mark of each article is its decided mark with every later re-mark
applied, as the sink applies them. tests/integration runs the same contract on Kafka and
Elasticsearch.
"""

from __future__ import annotations

import random
from collections import deque
from datetime import timedelta
from typing import Any

import pytest

from processors.dedup.bands import BandWorker
from processors.dedup.decider import Decider
from processors.dedup.detector import WireCopyDetector
from processors.dedup.messages import Probe, Remark, article_message, probes
from processors.dedup.sign import Signer
from processors.progress import Progress
from tests.corpus.archive import archive, arrival, reference_order
from wirehose.core.article import Article, DedupMark, event_time

WINDOW = timedelta(hours=72)
LATENESS = timedelta(hours=72)


def reference_marks(articles: list[Article]) -> dict[str, DedupMark]:
    detector = WireCopyDetector(window=WINDOW, lateness=LATENESS)
    out = {}
    for article in articles:
        marked = detector.process(article)
        assert marked.dedup is not None
        out[article.article_id] = marked.dedup
    return out


class Simulated:
    """P partitions per topic, tables as dicts, topics as queues, a random scheduler."""

    def __init__(self, partitions: int, seed: int) -> None:
        self.partitions = partitions
        self.rng = random.Random(seed)
        self.signer = Signer()
        self.entries: dict[bytes, bytes] = {}
        self.state: dict[bytes, bytes] = {}
        self.bands = BandWorker(
            self.entries, threshold=0.8, window=WINDOW, lateness=LATENESS, origins=partitions
        )
        self.decider = Decider(self.state, window=WINDOW, lateness=LATENESS, origins=partitions)
        self.logs: dict[tuple[str, int], list[Any]] = {}
        self.position: dict[tuple[str, int], int] = {}
        self.committed: dict[tuple[str, int], int] = {}
        self.processed: dict[tuple[str, int], set[int]] = {}
        self.progress: dict[tuple[str, int], Progress] = {}
        self.marks: dict[str, DedupMark] = {}
        self.remarks = 0

    def put(self, topic: str, partition: int, item: Any) -> None:
        self.logs.setdefault((topic, partition), []).append(item)

    def verdict_partition(self, article_id: str) -> int:
        return int(article_id[:8], 16) % self.partitions

    def front(self, key: tuple[str, int]) -> int:
        """The first offset of ``key``'s log not processed yet (what Faust may commit)."""
        processed = self.processed.setdefault(key, set())
        front = self.committed.get(key, 0)
        while front in processed:
            front += 1
        return front

    def ready(self) -> list[tuple[str, int]]:
        """Queues with something to read, or a hole to heal (read again from the commit)."""
        return [
            k
            for k, log in self.logs.items()
            if self.position.get(k, 0) < len(log) or self.front(k) < len(log)
        ]

    def take(self, key: tuple[str, int]) -> tuple[int, Any]:
        log, at = self.logs[key], self.position.get(key, 0)
        if at >= len(log):  # read to the end with a hole behind: the re-read heals it
            self.committed[key] = self.front(key)
            at = self.front(key)
        roll = self.rng.random()
        if roll < 0.03 and at + 3 < len(log):
            at += self.rng.randint(1, 3)  # dropped unread: a hole the commit cannot pass
        elif roll < 0.05 and self.committed.get(key, 0) < at:
            at = self.committed.get(key, 0)  # read again from the committed offset
        if self.rng.random() < 0.3:
            self.committed[key] = self.front(key)  # Faust commits up to the first unacked
        self.position[key] = at + 1
        return at, log[at]

    def step(self, topic: str, partition: int, offset: int, item: Any) -> None:
        self.processed.setdefault((topic, partition), set()).add(offset)
        progress = self.progress.setdefault((topic, partition), Progress(None))
        progress.commit(self.committed.get((topic, partition), 0))
        if topic == "source":
            if progress.done(offset):
                return
            article: Article = item
            progress.see(offset, partition, event_time(article))
            routed = probes(
                article,
                self.signer.sign(article),
                self.partitions,
                partition,
                progress.get(partition),
            )
            self.put(
                "verdicts",
                self.verdict_partition(article.article_id),
                article_message(article, len(routed)),
            )
            for p, probe in routed.items():
                self.put("bands", p, probe.to_bytes())
        elif topic == "bands":
            found = self.bands.handle(
                partition, Probe.from_bytes(item), offset=offset, progress=progress
            )
            for article_id, message in found:
                self.put("verdicts", self.verdict_partition(article_id), message)
        else:
            out = self.decider.handle(
                partition,
                item,
                offset=offset,
                progress=progress,
                committed=self.committed.get(("verdicts", partition), 0),
            )
            if isinstance(out, Remark):
                assert out.article_id in self.marks, "a re-mark never overtakes its article"
                self.marks[out.article_id] = out.mark
                self.remarks += 1
            elif out is not None:
                assert out.dedup is not None
                self.marks[out.article_id] = out.dedup
            if out is not None:
                self.decider.settle(out.article_id)

    def run(self, deliveries: list[tuple[int, Article]], *, backlog: bool) -> None:
        pending = deque(deliveries)
        if backlog:  # everything is in the source topic before the worker starts
            while pending:
                self.put("source", *pending.popleft())
        while True:
            if pending and (not self.logs or self.rng.random() < 0.3):
                self.put("source", *pending.popleft())
            ready = self.ready()
            if not ready:
                if not pending:
                    return
                continue
            # Uneven speeds: some queues are picked far more often than others.
            topic, partition = max(ready, key=lambda k: self.rng.random() ** (1 + k[1]))
            self.step(topic, partition, *self.take((topic, partition)))


ARCHIVE = archive(originals=90, days=64)


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("partitions", [1, 4, 8])
@pytest.mark.parametrize("backlog", [True, False], ids=["backlog", "paced"])
def test_partitioned_final_marks_equal_the_reference_in_event_time_order(
    partitions: int, backlog: bool, seed: int
) -> None:
    expected = reference_marks(reference_order(ARCHIVE))
    cluster = Simulated(partitions, seed=100 * seed + partitions)
    cluster.run(arrival(ARCHIVE, partitions), backlog=backlog)
    differing = {
        article_id: (cluster.marks.get(article_id), mark)
        for article_id, mark in expected.items()
        if cluster.marks.get(article_id) != mark
    }
    assert not differing, f"{len(differing)} of {len(expected)} marks differ: {differing}"
    assert sum(not m.is_canonical for m in expected.values()) > len(expected) // 5


def test_the_archive_has_what_the_contract_asks_for() -> None:
    kinds = {item.kind for item in ARCHIVE}
    assert {"twin", "first-half", "copy-of-copy", "reissue", "robot"} <= kinds
    times = sorted(item.article.published_at for item in ARCHIVE if item.article.published_at)
    assert times[-1] - times[0] >= timedelta(days=60)
    assert any(item.late for item in ARCHIVE)
    delivered = arrival(ARCHIVE, 4)
    newest: dict[int, Any] = {}
    spread = timedelta(0)
    for partition, article in delivered:
        newest[partition] = max(newest.get(partition, article.published_at), article.published_at)
        if len(newest) == 4:
            spread = max(spread, max(newest.values()) - min(newest.values()))
    assert spread >= timedelta(days=6)  # partitions days of event time apart
