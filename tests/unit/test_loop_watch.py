"""The event-loop watchdog names the call that blocks a worker's loop."""

from __future__ import annotations

import asyncio
import logging
import threading
import time

import pytest

from processors.worker.watchdog import LoopWatch


def stuck_in_a_synchronous_call() -> None:
    time.sleep(3.0)


def test_a_blocked_loop_is_reported_with_the_blocking_frame(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def main() -> None:
        watch = LoopWatch(
            asyncio.get_running_loop(),
            threading.current_thread(),
            blocked_after=1.0,
            beat_every=0.1,
        )
        watch.start()
        await asyncio.sleep(0.3)  # beats flow: nothing to say
        stuck_in_a_synchronous_call()
        watch.stop()

    with caplog.at_level(logging.WARNING, logger="processors.worker.watchdog"):
        asyncio.run(main())
    reports = [r.getMessage() for r in caplog.records if "event loop blocked" in r.getMessage()]
    # Once per blocked spell, not once a beat. A loaded machine may starve the loop for a
    # moment elsewhere too; the spell in the synchronous call is the one that must be named.
    assert [r for r in reports if "stuck_in_a_synchronous_call" in r] == reports[-1:]


def test_a_turning_loop_is_not_reported(caplog: pytest.LogCaptureFixture) -> None:
    async def main() -> None:
        watch = LoopWatch(
            asyncio.get_running_loop(),
            threading.current_thread(),
            blocked_after=2.0,
            beat_every=0.1,
        )
        watch.start()
        for _ in range(15):
            await asyncio.sleep(0.1)
        watch.stop()

    with caplog.at_level(logging.WARNING, logger="processors.worker.watchdog"):
        asyncio.run(main())
    assert not [r for r in caplog.records if "event loop blocked" in r.getMessage()]
