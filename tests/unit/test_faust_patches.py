"""The strict commit-offset guard and its re-reads: never commit past an unprocessed message."""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import faust
import pytest
from aiokafka.errors import IllegalStateError
from faust.types import TP as FaustTP
from faust.types import Message
from intervaltree import IntervalTree

from processors.worker import base as faust_base
from processors.worker import patches as faust_patches
from processors.worker.patches import check_targets, install, strict_new_offset
from processors.worker.rereads import (
    apply_rereads,
    confirm_rereads,
    getmany_with_rereads,
    keep_uncommitted,
    request_reread,
    rereads,
)
from processors.worker.watchdog import CHECK_EVERY_SECONDS, STALLED_SECONDS, check_partitions
from wirehose.core.errors import IncompatibleDependency
from wirehose.core.settings import Settings

TP = FaustTP("raw", 2)


class FakeConsumer:
    def __init__(
        self, committed: int | None, acked: list[int], gap: tuple[int, int] | None = None
    ) -> None:
        self._acked: dict[Any, list[int]] = defaultdict(list, {TP: list(acked)})
        self._acked_index: dict[Any, set[int]] = defaultdict(set, {TP: set(acked)})
        self._committed_offset: dict[Any, int | None] = defaultdict(lambda: None, {TP: committed})
        self._gap: dict[Any, IntervalTree] = defaultdict(IntervalTree)
        if gap:
            self._gap[TP].addi(*gap)


def real_consumer(
    committed: int | None, acked: list[int], gap: tuple[int, int] | None = None
) -> Any:
    """Faust's own consumer (never started: no broker), its bookkeeping filled by its own
    ``ack`` and ``_add_gap``, and the patched ``_new_offset`` asked what to commit."""
    install()
    app = faust.App(f"patch-test-{uuid.uuid4().hex[:8]}", broker="kafka://127.0.0.1:1")
    # Acks count only for topics an agent subscribes to: subscribe as an agent's stream does.
    app.topics.add(app.topic(TP.topic))
    asyncio.run(app.topics._update_indices())
    consumer = app.consumer
    consumer._committed_offset[TP] = committed
    for offset in acked:
        message = Message(TP.topic, TP.partition, offset, 0.0, 0, None, None, None, None)
        assert consumer.ack(message)
    if gap:
        asyncio.run(consumer._add_gap(TP, gap[0], gap[1] - 1))
    return consumer


def test_a_hole_of_one_message_at_the_head_blocks_the_commit() -> None:
    # Faust's own guard lets this through (126 - 125 is not > 1) and commits 131, losing 125.
    assert real_consumer(125, [126, 127, 128, 129, 130])._new_offset(TP) is None


def test_consecutive_acks_from_the_committed_offset_commit_to_their_end() -> None:
    consumer = real_consumer(125, [125, 126, 127, 129])
    assert consumer._new_offset(TP) == 128
    assert consumer._acked[TP] == [129]  # the run after the hole waits


def test_a_gap_of_dropped_offsets_is_not_committed_past() -> None:
    # Faust counted 127..130 (messages dropped unread at a rebalance) as acked and committed 132.
    consumer = real_consumer(125, [125, 126, 131], gap=(127, 131))
    assert consumer._gap[TP]
    assert consumer._new_offset(TP) == 127
    assert not consumer._gap[TP]
    assert consumer._new_offset(TP) is None  # 127 is the new head and still missing


def test_no_blind_commit_while_rebalancing() -> None:
    # Faust forgets the committed offset of revoked partitions before it acks what is in flight.
    consumer = real_consumer(None, [140, 141])
    consumer.app.rebalancing = True
    assert consumer._new_offset(TP) is None
    consumer.app.rebalancing = False
    assert consumer._new_offset(TP) is None  # still unknown: 0..139 might be a hole
    consumer._committed_offset[TP] = 140  # Faust's seek to the committed offsets tells it
    assert consumer._new_offset(TP) == 142


def test_without_a_committed_offset_the_head_is_the_start_of_the_log() -> None:
    assert real_consumer(None, [0, 1, 2])._new_offset(TP) == 3
    assert real_consumer(None, [])._new_offset(TP) is None
    # Offsets 0 and 1 dropped at the group's first rebalance: Faust's own guard committed 4
    # here, and those two articles were lost.
    assert real_consumer(None, [2, 3])._new_offset(TP) is None


def test_the_installed_faust_is_the_one_the_patches_were_written_for() -> None:
    check_targets()  # raises if not


def test_a_changed_faust_method_stops_the_worker_from_starting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(faust_patches.FINGERPRINTS, "Consumer.ack", "0" * 16)
    with pytest.raises(IncompatibleDependency, match=r"Consumer\.ack is not the code"):
        check_targets()
    with pytest.raises(IncompatibleDependency):
        faust_base.new_app(Settings(app_id="never-started"))


def test_another_faust_release_is_refused_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(faust_patches.WRITTEN_FOR, "faust-streaming", "0.99.0")
    with pytest.raises(IncompatibleDependency, match=r"the patches fit 0\.99\.0"):
        check_targets()


def test_the_pins_in_pyproject_match_what_the_patches_were_written_for() -> None:
    text = (Path(__file__).resolve().parents[2] / "pyproject.toml").read_text()
    for package, version in faust_patches.WRITTEN_FOR.items():
        assert f'"{package}=={version}"' in text


def test_install_replaces_fausts_method_once() -> None:
    from faust.transport.consumer import Consumer

    install()
    install()
    assert Consumer._new_offset is strict_new_offset


def test_a_lasting_hole_asks_for_a_reread_from_the_committed_offset(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from processors.worker import rereads as faust_rereads

    consumer = FakeConsumer(125, [126, 127])
    clock = [1000.0]
    monkeypatch.setattr(faust_rereads.time, "monotonic", lambda: clock[0])
    assert strict_new_offset(consumer, TP) is None  # hole noticed, give it time
    assert rereads(consumer).pending == set()
    clock[0] += faust_rereads.HOLE_SEEK_SECONDS + 1
    assert strict_new_offset(consumer, TP) is None  # still there: re-read from 125
    assert rereads(consumer).pending == {TP}


class FakeKafkaClient:
    """aiokafka's consumer as the re-read sees it: ``seek`` refuses unassigned partitions."""

    def __init__(self, assigned: set[Any]) -> None:
        self.assigned = assigned
        self.positions: dict[Any, int] = {}
        self.rejoins = 0
        self._coordinator = SimpleNamespace(request_rejoin=self.request_rejoin)
        self.group_commits: dict[Any, int] = {}  # what the broker has for the group

    async def committed(self, tp: Any) -> int | None:
        return self.group_commits.get(tp)

    def request_rejoin(self) -> None:
        self.rejoins += 1

    def seek(self, tp: Any, offset: int) -> None:
        if tp not in self.assigned:
            raise IllegalStateError(f"Partition {tp} is not assigned")
        self.positions[tp] = offset


class FakeThreadLoop:
    def __init__(self) -> None:
        self.handed_over: list[Any] = []

    def call_soon_threadsafe(self, callback: Any) -> None:
        self.handed_over.append(callback)


class FakeConsumerThread:
    def __init__(self, consumer: Any, client: FakeKafkaClient) -> None:
        self.consumer, self.client = consumer, client
        self.hang = False
        self.thread_loop = FakeThreadLoop()

    def _ensure_consumer(self) -> FakeKafkaClient:
        return self.client

    async def call_thread(self, fun: Any, *args: Any) -> Any:
        if self.hang:  # a consumer thread busy elsewhere (e.g. mid-rebalance)
            await asyncio.Event().wait()
        return await fun(*args)


class RereadingConsumer(FakeConsumer):
    def __init__(self, committed: int | None, acked: list[int]) -> None:
        super().__init__(committed, acked)
        self.app = SimpleNamespace(consumer_generation_id=7, rebalancing=False)
        self._read_offset: dict[Any, int] = {TP: max(acked, default=committed or 0)}
        self.client = FakeKafkaClient({TP})
        self._thread = FakeConsumerThread(self, self.client)

    def assignment(self) -> set[Any]:
        return {TP}

    @property
    def sought(self) -> dict[Any, int]:
        return self.client.positions


def _record(offset: int) -> SimpleNamespace:
    return SimpleNamespace(offset=offset)


def test_a_reread_seeks_at_the_next_fetch_and_redelivery_heals_the_hole() -> None:
    consumer = RereadingConsumer(125, [126, 127])
    request_reread(consumer, TP)
    asyncio.run(apply_rereads(consumer))
    assert consumer.sought == {TP: 125}
    assert consumer._read_offset[TP] == 125  # or Faust drops 125..127 again as already read
    confirm_rereads(consumer, {TP: [_record(125), _record(126)]})
    assert consumer._acked[TP] == [126, 127]  # 125 exists: only its own ack may fill the hole
    assert strict_new_offset(consumer, TP) is None
    assert rereads(consumer).checking == {}


def test_offsets_a_reread_proves_absent_count_as_done() -> None:
    # e.g. deleted by retention: the fetch from 125 starts at 129.
    consumer = RereadingConsumer(125, [129, 130])
    request_reread(consumer, TP)
    asyncio.run(apply_rereads(consumer))
    confirm_rereads(consumer, {})  # nothing for the partition yet: no proof either way
    assert strict_new_offset(consumer, TP) is None
    confirm_rereads(consumer, {TP: [_record(129)]})
    assert strict_new_offset(consumer, TP) == 131


def test_a_rebalance_between_seek_and_fetch_voids_the_proof() -> None:
    consumer = RereadingConsumer(125, [129])
    request_reread(consumer, TP)
    asyncio.run(apply_rereads(consumer))
    consumer.app.consumer_generation_id = 8
    confirm_rereads(consumer, {TP: [_record(129)]})
    assert strict_new_offset(consumer, TP) is None


def test_a_partition_never_committed_is_read_again_from_the_start() -> None:
    consumer = RereadingConsumer(None, [2, 3])
    request_reread(consumer, TP)
    asyncio.run(apply_rereads(consumer))
    assert consumer.sought == {TP: 0}
    consumer._acked[TP][:0] = [0, 1]  # the dropped messages, delivered and handled at last
    consumer._acked_index[TP].update({0, 1})
    assert strict_new_offset(consumer, TP) == 4


def test_a_commit_faust_forgot_is_asked_of_the_broker_and_becomes_the_head() -> None:
    consumer = RereadingConsumer(None, [501, 502])
    consumer.client.group_commits[TP] = 500
    request_reread(consumer, TP)
    asyncio.run(apply_rereads(consumer))
    assert consumer.sought == {TP: 500}  # not 0: the partition is not read from the start
    assert consumer._committed_offset[TP] == 500
    consumer._acked[TP].insert(0, 500)
    consumer._acked_index[TP].add(500)
    assert strict_new_offset(consumer, TP) == 503


def test_a_partition_the_client_no_longer_holds_is_left_to_the_rebalance() -> None:
    consumer = RereadingConsumer(125, [126])
    consumer.client.assigned = set()  # revoked on the consumer thread before the seek ran
    request_reread(consumer, TP)
    asyncio.run(apply_rereads(consumer))
    assert consumer.sought == {}
    assert rereads(consumer).checking == {}  # nothing sought, so nothing to prove
    assert rereads(consumer).pending == set()


def test_a_seek_that_cannot_run_does_not_stall_the_fetch_and_is_retried(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from processors.worker import rereads as faust_rereads

    monkeypatch.setattr(faust_rereads, "SEEK_TIMEOUT_SECONDS", 0.01)
    consumer = RereadingConsumer(125, [126])
    consumer._thread.hang = True
    request_reread(consumer, TP)
    asyncio.run(apply_rereads(consumer))  # returns: the fetch loop goes on
    assert rereads(consumer).pending == {TP}
    consumer._thread.hang = False
    asyncio.run(apply_rereads(consumer))
    assert consumer.sought == {TP: 125}
    assert TP in rereads(consumer).checking


def test_a_reread_waiting_on_a_stalled_fetch_loop_is_reported(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from processors.worker import rereads as faust_rereads

    consumer = RereadingConsumer(125, [126])
    clock = [5000.0]
    monkeypatch.setattr(faust_rereads.time, "monotonic", lambda: clock[0])
    rereads(consumer).last_fetch = clock[0]
    request_reread(consumer, TP)
    assert "fetch loop is blocked" not in caplog.text
    clock[0] += faust_rereads.STALL_WARNING_SECONDS + 1
    request_reread(consumer, TP)
    assert "fetch loop is blocked" in caplog.text
    assert "raw/2" in caplog.text


def test_rereads_that_do_not_close_a_hole_end_in_a_group_rejoin(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from processors.worker import rereads as faust_rereads

    consumer = RereadingConsumer(125, [126])
    clock = [100.0]
    monkeypatch.setattr(faust_rereads.time, "monotonic", lambda: clock[0])
    rereads(consumer).last_fetch = clock[0]

    def hole_outlives_a_reread() -> None:
        strict_new_offset(consumer, TP)
        clock[0] += faust_rereads.HOLE_SEEK_SECONDS + 1
        rereads(consumer).last_fetch = clock[0]
        strict_new_offset(consumer, TP)
        asyncio.run(apply_rereads(consumer))

    for _ in range(faust_rereads.REJOIN_AFTER_REREADS - 1):
        hole_outlives_a_reread()
    assert consumer._thread.thread_loop.handed_over == []  # re-reads get their chance first
    hole_outlives_a_reread()
    for callback in consumer._thread.thread_loop.handed_over:  # as the consumer thread would
        callback()
    assert consumer.client.rejoins == 1
    hole_outlives_a_reread()  # the hole is still there right after: no rejoin storm
    assert len(consumer._thread.thread_loop.handed_over) == 1


def test_a_closed_hole_forgets_its_reread_attempts() -> None:
    consumer = RereadingConsumer(125, [126])
    request_reread(consumer, TP)
    request_reread(consumer, TP)
    assert strict_new_offset(consumer, TP) is None  # the hole is still open: its clock starts
    assert rereads(consumer).attempts == {TP: 2}
    assert TP in rereads(consumer).open_since
    consumer._acked[TP].insert(0, 125)  # the re-read message was processed at last
    consumer._acked_index[TP].add(125)
    assert strict_new_offset(consumer, TP) == 127
    assert rereads(consumer).attempts == {}
    assert rereads(consumer).open_since == {}


def test_install_routes_fetches_through_the_rereads() -> None:
    from faust.transport.consumer import ThreadDelegateConsumer

    install()
    assert ThreadDelegateConsumer._getmany is getmany_with_rereads


def test_an_uncommitted_partition_is_not_dropped_as_already_read() -> None:
    # Read up to 90 before a rebalance, never committed, assigned again and fetched from 0.
    consumer = RereadingConsumer(None, [])
    consumer._read_offset[TP] = 90
    keep_uncommitted(consumer, {TP: [_record(0), _record(1)]})
    assert consumer._read_offset[TP] is None  # Faust's drain loop now delivers 0, 1, ...


def test_messages_below_the_commit_or_with_acks_pending_are_left_to_faust() -> None:
    below = RereadingConsumer(50, [])
    below._read_offset[TP] = 90
    keep_uncommitted(below, {TP: [_record(40)]})
    assert below._read_offset[TP] == 90
    pending = RereadingConsumer(None, [5])
    pending._read_offset[TP] = 90
    keep_uncommitted(pending, {TP: [_record(0)]})
    assert pending._read_offset[TP] == 90  # a hole at the head: the re-read path handles it
    rebalancing = RereadingConsumer(None, [])
    rebalancing.app.rebalancing = True
    rebalancing._read_offset[TP] = 90
    keep_uncommitted(rebalancing, {TP: [_record(0)]})
    assert rebalancing._read_offset[TP] == 90


def watched(committed: int | None, *, highwater: int = 91) -> Any:
    """A consumer behind its end, as the partition watchdog sees it."""
    consumer = RereadingConsumer(committed, [])
    consumer.highwater = lambda tp: highwater  # type: ignore[attr-defined]
    consumer.app.topics = SimpleNamespace(acks_enabled_for=lambda topic: topic == TP.topic)
    consumer._paused_partitions = set()
    consumer._buffered_partitions = set()
    consumer._active_partitions = {TP}
    consumer._unacked_messages = set()
    consumer.on_buffer_drop = lambda tp: consumer._active_partitions.add(tp)
    return consumer


def watch(consumer: Any, *times: float) -> None:
    for now in times:
        check_partitions(consumer, now, reread=request_reread)


def test_a_partition_whose_commit_stands_still_with_nothing_in_flight_is_read_again() -> None:
    consumer = watched(None)
    watch(consumer, 100.0, 100.0 + STALLED_SECONDS - 1)
    assert TP not in rereads(consumer).pending  # a slow stage is not a stall
    watch(consumer, 100.0 + STALLED_SECONDS + CHECK_EVERY_SECONDS)
    assert TP in rereads(consumer).pending
    asyncio.run(apply_rereads(consumer))
    assert consumer.sought == {TP: 0}


def test_a_moving_caught_up_busy_or_changelog_partition_is_left_alone() -> None:
    moving = watched(10)
    caught_up = watched(91)
    busy = watched(10)
    busy._unacked_messages = [SimpleNamespace(tp=FaustTP(TP.topic, 0), acked=False)]
    changelog = watched(None)
    changelog.app.topics = SimpleNamespace(acks_enabled_for=lambda topic: False)
    standby = watched(None)
    standby._paused_partitions = {TP}
    for consumer in (moving, caught_up, busy, changelog, standby):
        watch(consumer, 0.0)
        if consumer is moving:
            consumer._committed_offset[TP] = 20
        watch(consumer, STALLED_SECONDS * 2)
        assert TP not in rereads(consumer).pending


def test_a_partition_left_out_of_fetching_by_an_empty_buffer_fetches_again() -> None:
    consumer = watched(None)
    consumer._active_partitions.discard(TP)
    consumer._buffered_partitions.add(TP)
    watch(consumer, 0.0, STALLED_SECONDS + CHECK_EVERY_SECONDS)
    assert TP in consumer._active_partitions
    assert TP in rereads(consumer).pending


def test_a_rebalance_starts_the_watch_afresh() -> None:
    consumer = watched(None)
    watch(consumer, 0.0)
    consumer.app.rebalancing = True
    watch(consumer, STALLED_SECONDS)
    consumer.app.rebalancing = False
    watch(consumer, STALLED_SECONDS + CHECK_EVERY_SECONDS)
    assert TP not in rereads(consumer).pending  # the clock restarted at the rebalance
