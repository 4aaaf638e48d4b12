"""The partitioned dedup (sign -> band partitions -> decide) gives the single-process marks.

These drive the same plain objects the Faust agents drive, with dicts for tables and lists for
topics, so that the distributed design is checked without a broker; tests/integration runs it
on Kafka with several workers.
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import timedelta
from pathlib import Path

from processors.dedup.bands import BandWorker
from processors.dedup.decider import Decider
from processors.dedup.detector import CANONICAL, WireCopyDetector
from processors.dedup.messages import Probe, Remark, article_message, probes, route, route_partition
from processors.dedup.sign import Signer, bucket_partition
from processors.dedup.wire import unpack_id
from wirehose.bench.dedup_quality import load_corpus
from wirehose.core.article import Article, event_time

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "wirecopy.jsonl"
WINDOW = timedelta(hours=72)


class Cluster:
    """P bands partitions and P decider partitions, with tables as dicts."""

    def __init__(self, partitions: int, *, lateness: timedelta = timedelta(0)) -> None:
        self.partitions = partitions
        self.signer = Signer()
        self.entries: dict[bytes, bytes] = {}
        self.table: dict[bytes, bytes] = {}  # the decisions table, as its changelog has it
        self.generation = 0
        self.bands = BandWorker(self.entries, threshold=0.8, window=WINDOW, lateness=lateness)
        self.decider = Decider(self.table, window=WINDOW, lateness=lateness)
        self.state = self.decider.state  # the same table, decoded

    def bucket_members(self) -> dict[str, set[str]]:
        """partition:bucket -> members, as the band indexes hold them (rebuilt if needed)."""
        return {
            f"{p}:{key}": set(ids)
            for p in range(self.partitions)
            for key, ids in self.bands.index(p, self.generation).store.bucket_members().items()  # type: ignore[attr-defined]
        }

    def decide(self, partition: int, message: bytes) -> Article | Remark | None:
        """The decide agent's step: handle, and settle once the output would be in Kafka."""
        out = self.decider.handle(partition, message)
        if out is not None:
            self.decider.settle(out.article_id)
        return out

    def band(self, partition: int, probe: Probe) -> list[bytes]:
        """The band agent's step: the partial and any backfills it sends."""
        return [message for _, message in self.bands.handle(partition, probe, self.generation)]

    def sign(self, article: Article) -> tuple[bytes, dict[int, Probe]]:
        # One source read in order: how far it has come is the article's own event time.
        routed = probes(article, self.signer.sign(article), self.partitions, 0, event_time(article))
        return article_message(article, len(routed)), routed

    def run(self, article: Article) -> Article:
        """One article through all three stages, in order (the common, quiet case)."""
        message, routed = self.sign(article)
        partition = hash(article.article_id) % self.partitions
        assert self.decide(partition, message) is None
        out = None
        for p, probe in routed.items():
            for sent in self.band(p, Probe.from_bytes(probe.to_bytes())):
                decided = self.decide(partition, sent)
                if isinstance(decided, Article):
                    out = decided
        assert out is not None
        return out


def test_routing_sends_each_bucket_to_one_partition_and_counts_the_parts() -> None:
    article = load_corpus(CORPUS)[0].article
    signature = Signer().sign(article)
    routed = route(signature, 4)
    assert sorted(k for keys in routed.values() for k in keys) == sorted(signature.bucket_keys)
    for partition, keys in routed.items():
        assert {bucket_partition(k, 4) for k in keys} == {partition}
    sent = probes(article, signature, 4)
    assert {p.parts for p in sent.values()} == {len(routed)} == {len(sent)}


def test_partitioned_marks_equal_single_process_marks_on_the_corpus() -> None:
    docs = load_corpus(CORPUS)
    single = WireCopyDetector(lateness=timedelta(0))
    expected = [single.process(d.article).dedup for d in docs]
    for partitions in (1, 4, 7):
        cluster = Cluster(partitions)
        assert [cluster.run(d.article).dedup for d in docs] == expected, partitions


def test_bucket_index_rebuilt_from_the_entries_after_a_rebalance_gives_the_same_marks() -> None:
    docs = load_corpus(CORPUS)
    single = WireCopyDetector(lateness=timedelta(0))
    expected = [single.process(d.article).dedup for d in docs]
    cluster = Cluster(3)
    marks = []
    for n, doc in enumerate(docs):
        if n % 40 == 39:
            before = cluster.bucket_members()
            cluster.generation += 1  # a rebalance: indexes are rebuilt from the table
            assert cluster.bucket_members() == before
        marks.append(cluster.run(doc.article).dedup)
    assert marks == expected


def test_messages_in_any_order_and_redelivered_give_one_decision() -> None:
    docs = load_corpus(CORPUS)
    original = next(d.article for d in docs if d.doc_id == "storm")
    copy = next(d.article for d in docs if d.doc_id == "storm-v02")
    cluster = Cluster(4)
    first = cluster.run(original)
    message, routed = cluster.sign(copy)
    partials = [m for p, probe in routed.items() for m in cluster.band(p, probe)]
    partials += [m for p, probe in routed.items() for m in cluster.band(p, probe)]  # redelivered
    inbox = [message, *partials]
    random.Random(3).shuffle(inbox)
    decided = [out for m in inbox if (out := cluster.decide(0, m)) is not None]
    assert len(decided) == 1
    assert isinstance(decided[0], Article)
    mark = decided[0].dedup
    assert mark is not None
    assert mark.duplicate_of == first.article_id
    assert not [
        k for k in cluster.state if k.endswith(Decider.ARTICLE_SUFFIX)
    ]  # let go once decided
    again = cluster.decide(0, message)  # the article itself redelivered after deciding
    assert isinstance(again, Article)
    assert again.dedup == mark


def test_a_crash_before_the_marked_article_is_out_does_not_lose_it() -> None:
    # The worker dies after deciding but before Kafka has the marked article: the mark must not
    # be recorded yet, or the redelivered last partial is ignored as late and nothing goes out.
    docs = load_corpus(CORPUS)
    cluster = Cluster(3)
    message, routed = cluster.sign(docs[0].article)
    partials = [m for p, probe in routed.items() for m in cluster.band(p, probe)]
    cluster.decide(0, message)
    for partial in partials[:-1]:
        assert cluster.decide(0, partial) is None
    decided = cluster.decider.handle(0, partials[-1])  # decided, never settled: then the crash
    assert isinstance(decided, Article)
    restarted = Decider(cluster.table, window=WINDOW)  # state as the changelog has it
    again = restarted.handle(0, partials[-1])  # the uncommitted last partial comes again
    assert isinstance(again, Article)
    assert again.dedup == decided.dedup
    assert docs[0].article.article_id + Decider.ARTICLE_SUFFIX in cluster.state
    restarted.settle(again.article_id)
    assert "mark" in cluster.state[again.article_id]
    assert docs[0].article.article_id + Decider.ARTICLE_SUFFIX not in cluster.state
    assert restarted.handle(0, partials[-1]) is None  # settled: now a late partial


def test_band_and_decider_state_expire_with_the_window() -> None:
    docs = load_corpus(CORPUS)
    cluster = Cluster(3)
    for doc in docs:
        cluster.run(doc.article)
    newest = max(d.article.published_at for d in docs if d.article.published_at)
    live = sum(
        1 for d in docs if d.article.published_at and newest - d.article.published_at <= WINDOW
    )
    ids_per_partition: dict[str, set[str]] = defaultdict(set)
    for packed in cluster.entries:  # partition (2 bytes), then the packed article id
        ids_per_partition[str(int.from_bytes(packed[:2], "big"))].add(unpack_id(packed[2:]))
    # Expiry sweeps in 1/24-window steps, so a little more than the window may be kept.
    assert all(len(ids) < len(docs) for ids in ids_per_partition.values())
    assert live <= len(cluster.state) < len(docs)
    for key, members in cluster.bucket_members().items():
        assert set(members) <= ids_per_partition[key.split(":", 1)[0]]


def test_a_late_original_re_marks_the_copies_decided_before_it() -> None:
    docs = load_corpus(CORPUS)
    original = next(d.article for d in docs if d.doc_id == "storm")
    assert original.published_at is not None
    copies = [
        original.model_copy(
            update={
                "article_id": f"c0c0c{n:03d}",
                "published_at": original.published_at + timedelta(hours=1 + n),
            }
        )
        for n in range(3)
    ]
    cluster = Cluster(2)
    marks = [cluster.run(copy).dedup for copy in copies]
    assert marks[0] == CANONICAL
    message, routed = cluster.sign(original)  # published first, delivered last
    assert cluster.decide(0, message) is None
    outputs = [cluster.decide(0, m) for p, probe in routed.items() for m in cluster.band(p, probe)]
    remarks = [out for out in outputs if isinstance(out, Remark)]
    late = [out for out in outputs if isinstance(out, Article)]
    assert [a.dedup for a in late] == [CANONICAL]
    # Each copy is re-pointed at the original, whichever partitions found it: found by a band
    # first, it is re-marked once more when its exact bucket's backfill comes (as the
    # reference marks it: an exact copy).
    final = {r.article_id: r.mark for r in remarks}
    assert sorted(final) == sorted(c.article_id for c in copies)
    assert len(remarks) <= 2 * len(copies)
    assert {m.duplicate_of for m in final.values()} == {original.article_id}
    assert {m.method for m in final.values()} == {"exact"}
    # Redelivered, the backfills change nothing more.
    again = [cluster.decide(0, m) for p, probe in routed.items() for m in cluster.band(p, probe)]
    assert not [out for out in again if out is not None]


def test_expiry_passes_over_articles_still_waiting_for_their_partials() -> None:
    docs = load_corpus(CORPUS)
    cluster = Cluster(2)
    waiting, _ = cluster.sign(docs[0].article)
    assert cluster.decide(0, waiting) is None  # held: its partials have not come yet
    late = docs[-1].article.model_copy(
        update={"published_at": docs[-1].article.published_at + 2 * WINDOW}  # type: ignore[operator]
    )
    for article in [*(d.article for d in docs[1:5]), late]:  # the late one moves the watermark
        message, routed = cluster.sign(article)
        cluster.decide(0, message)
        for p, probe in routed.items():
            for sent in cluster.band(p, probe):
                cluster.decide(0, sent)
    assert docs[0].article.article_id + Decider.ARTICLE_SUFFIX in cluster.state


def test_a_copy_goes_downstream_with_its_original_and_its_re_marks_follow_it() -> None:
    docs = load_corpus(CORPUS)
    original = next(d.article for d in docs if d.doc_id == "storm")
    assert original.published_at is not None
    copy = original.model_copy(
        update={"article_id": "c0c0c100", "published_at": original.published_at + WINDOW / 4}
    )
    cluster = Cluster(4)
    first = cluster.run(original)
    assert cluster.decider.route(first.article_id) == first.article_id
    marked = cluster.run(copy)
    assert marked.dedup is not None
    assert cluster.decider.route(copy.article_id) == original.article_id
    assert route_partition(original.article_id, 8) == route_partition(
        cluster.decider.route(copy.article_id), 8
    )
    # A still earlier original arrives late: the copy is re-marked, and the re-mark takes the
    # route its article took, not its new original's.
    earlier = original.model_copy(
        update={"article_id": "e0e0e000", "published_at": original.published_at - WINDOW / 8}
    )
    message, routed = cluster.sign(earlier)
    cluster.decide(0, message)
    outputs = [cluster.decide(0, m) for p, probe in routed.items() for m in cluster.band(p, probe)]
    remarks = {out.article_id: out for out in outputs if isinstance(out, Remark)}
    assert remarks[copy.article_id].mark.duplicate_of == earlier.article_id
    assert cluster.decider.route(copy.article_id) == original.article_id


def test_an_article_decided_again_after_its_mark_expired_is_marked_late() -> None:
    docs = sorted(load_corpus(CORPUS), key=lambda d: event_time(d.article))
    cluster = Cluster(2)
    first = [cluster.run(doc.article) for doc in docs]
    assert not any(out.dedup is not None and out.dedup.late for out in first)
    forgotten = [d.article for d in docs if d.article.article_id not in cluster.state]
    assert forgotten  # the window moved past the first articles
    again = cluster.run(forgotten[0])  # a redelivery, long after: decided against less state
    assert again.dedup is not None
    assert again.dedup.late
    assert cluster.decider.forgotten_before(0) is not None
    # The cutoff is in the table: a worker taking the partition over knows it too.
    successor = Decider(cluster.table, window=WINDOW)
    assert successor.forgotten_before(0) == cluster.decider.forgotten_before(0)


def test_a_batch_decided_at_once_writes_only_its_decisions() -> None:
    # The decide agent defers table changes to the end of its batch: an article decided within
    # the batch it arrived in reaches the changelog once, as its mark, never as held.
    docs = load_corpus(CORPUS)
    cluster = Cluster(3)
    message, routed = cluster.sign(docs[0].article)
    partials = [m for p, probe in routed.items() for m in cluster.band(p, probe)]
    written: list[bytes] = []

    class Logged(dict[bytes, bytes]):
        def __setitem__(self, key: bytes, value: bytes) -> None:
            written.append(key)
            super().__setitem__(key, value)

    table = Logged()
    decider = Decider(table, window=WINDOW)
    decider.state.defer()
    outputs = [decider.handle(0, m) for m in [message, *partials]]
    decided = [out for out in outputs if out is not None]
    assert len(decided) == 1
    assert not table
    decider.settle(decided[0].article_id)
    decider.state.flush()
    assert written == list(table)  # each key once
    assert not [key for key in written if key.startswith(b"#a")]  # never held
    assert "mark" in decider.state[decided[0].article_id]
    # Had the worker died before the flush, the table would be as it was: the batch is read
    # again and decided the same way.
    again = Decider({}, window=WINDOW)
    again.state.defer()
    redo = [again.handle(0, m) for m in [message, *partials]]
    assert [out.dedup for out in redo if isinstance(out, Article)] == [decided[0].dedup]  # type: ignore[union-attr]
