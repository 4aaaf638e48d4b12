"""Progress: a watermark moves only past records processed without a hole, and below the commit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from processors.progress import Progress

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def day(n: int) -> datetime:
    return T0 + timedelta(days=n)


def test_a_hole_holds_the_watermark_until_it_is_filled() -> None:
    progress = Progress(10)
    progress.see(10, "a", day(1))
    progress.see(12, "a", day(9))  # 11 dropped unread: processed later, if at all
    progress.see(13, "a", day(10))
    assert progress.get("a") == day(1)
    assert (progress.front, progress.waiting) == (11, 2)
    progress.see(11, "a", day(2))
    assert progress.get("a") == day(10)
    assert progress.front == 14


def test_nothing_counts_at_or_above_the_commit_and_the_commit_only_moves_forward() -> None:
    progress = Progress(0)
    progress.commit(1)
    for offset, when in enumerate((day(1), day(2), day(3))):
        progress.see(offset, "a", when)
    assert progress.get("a") == day(1)  # offsets 1 and 2 may still be read again
    progress.commit(3)
    assert progress.get("a") == day(3)
    progress.commit(2)
    assert progress.committed == 3


def test_records_below_the_commit_are_done_and_repeats_change_nothing() -> None:
    progress = Progress(5)
    progress.see(5, "a", day(4))
    progress.see(5, "a", day(40))  # the same record again: not a new claim
    assert progress.get("a") == day(4)
    assert not progress.done(5)
    progress.commit(6)
    assert progress.done(5)
    assert not progress.done(6)
    assert not Progress(0).done(0)  # no commit known: nothing is done


def test_keys_are_tracked_apart_and_records_without_a_watermark_still_move_the_front() -> None:
    progress = Progress(0)
    progress.see(0, "a", day(3))
    progress.see(1, "b", None)  # a rejected record: processed, says nothing
    progress.see(2, "b", day(2))
    assert (progress.get("a"), progress.get("b"), progress.front) == (day(3), day(2), 3)


def test_without_a_start_only_the_commit_says_what_was_processed() -> None:
    progress = Progress(None)  # as in the worker: where the partition starts is the commit
    progress.see(7, "a", day(1))
    progress.see(9, "a", day(3))  # 8 not processed yet, but the commit will not pass it
    assert progress.get("a") is None
    progress.commit(7)  # the first commit known: 7 and up are ours
    assert progress.get("a") is None
    progress.commit(8)
    assert progress.get("a") == day(1)
    progress.see(8, "a", day(2))
    progress.commit(10)
    assert progress.get("a") == day(3)
    assert progress.done(9)
