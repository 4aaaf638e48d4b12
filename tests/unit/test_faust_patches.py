"""The strict commit-offset guard: never commit past an unacknowledged message."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pytest
from faust.types import TP as FaustTP
from intervaltree import IntervalTree

from processors.faust_patches import install, strict_new_offset

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


def test_a_hole_of_one_message_at_the_head_blocks_the_commit() -> None:
    # Faust's own guard lets this through (126 - 125 is not > 1) and commits 131, losing 125.
    assert strict_new_offset(FakeConsumer(125, [126, 127, 128, 129, 130]), TP) is None


def test_consecutive_acks_from_the_committed_offset_commit_to_their_end() -> None:
    consumer = FakeConsumer(125, [125, 126, 127, 129])
    assert strict_new_offset(consumer, TP) == 128
    assert consumer._acked[TP] == [129]  # the run after the hole waits


def test_offsets_known_missing_count_as_acknowledged() -> None:
    # 125 does not exist (a compacted or control record): the gap fills it.
    assert strict_new_offset(FakeConsumer(125, [126, 127], gap=(125, 126)), TP) == 128


def test_without_a_committed_offset_the_first_run_commits() -> None:
    assert strict_new_offset(FakeConsumer(None, [0, 1, 2]), TP) == 3
    assert strict_new_offset(FakeConsumer(None, []), TP) is None


def test_install_replaces_fausts_method_once() -> None:
    from faust.transport.consumer import Consumer

    install()
    install()
    assert Consumer._new_offset is strict_new_offset


def test_a_lasting_hole_seeks_the_partition_back_to_the_committed_offset(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import asyncio

    from processors import faust_patches

    seeks: list[tuple[Any, int]] = []

    class SeekingConsumer(FakeConsumer):
        async def seek(self, tp: Any, offset: int) -> None:
            seeks.append((tp, offset))

    consumer = SeekingConsumer(125, [126, 127])
    clock = [1000.0]
    monkeypatch.setattr(faust_patches.time, "monotonic", lambda: clock[0])

    async def commit_rounds() -> None:
        assert strict_new_offset(consumer, TP) is None  # hole noticed, give it time
        await asyncio.sleep(0)
        assert seeks == []
        clock[0] += faust_patches.HOLE_SEEK_SECONDS + 1
        assert strict_new_offset(consumer, TP) is None  # still there: re-read from 125
        await asyncio.sleep(0)

    asyncio.run(commit_rounds())
    assert seeks == [(TP, 125)]
