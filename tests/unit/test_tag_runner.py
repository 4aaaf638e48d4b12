"""The tag stage's runner: NER processes, and the busy time that shows whether NER waited."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from collections.abc import Sequence
from typing import Any

from processors.pipeline import RawRecord, Step
from processors.worker.tag_runner import TagRunner
from tests.factories import make_article
from wirehose.core.article import Article
from wirehose.core.settings import Settings


class MeetThenCount:
    """Waits until ``parties`` batches are in steps at once, then counts its process id."""

    step_id = "meet"

    def __init__(self, barrier: Any) -> None:
        self.barrier = barrier
        self.counts: dict[str, int] = {}

    def process(self, article: Article) -> Article:
        self.barrier.wait(timeout=60)  # BrokenBarrierError when the batches never overlap
        self.counts[f"pid-{os.getpid()}"] = self.counts.get(f"pid-{os.getpid()}", 0) + 1
        return article


class StepsWithBarrier:
    """A picklable steps factory: spawned children rebuild the steps from it."""

    def __init__(self, barrier: Any) -> None:
        self.barrier = barrier

    def __call__(self, settings: Settings) -> Sequence[Step]:
        return [MeetThenCount(self.barrier)]


def record(n: int) -> RawRecord:
    article = make_article(article_id=f"{n:032x}", body=f"Body number {n} of the batch.")
    return RawRecord(value=article.to_bytes(), key=article.article_id.encode(), offset=n)


async def run_both(runner: TagRunner) -> list[Any]:
    return await asyncio.gather(runner.run([record(1)]), runner.run([record(2)]))


def test_ner_processes_tag_batches_at_the_same_time(tmp_path: Any) -> None:
    with multiprocessing.get_context("spawn").Manager() as manager:
        barrier = manager.Barrier(2)
        settings = Settings(home=tmp_path, ner_processes=2)
        runner = TagRunner(settings, StepsWithBarrier(barrier), subprocess=True)
        try:
            results = asyncio.run(run_both(runner))
        finally:
            runner.close()
    assert runner.processes == 2
    pids = {name for result in results for name in result.counts}
    assert len(pids) == 2, pids  # two children, each held at the barrier by the other's batch
    assert all(result.busy_seconds > 0 for result in results)
    assert [len(result.articles) for result in results] == [1, 1]


def test_a_thread_runner_is_one_process_whatever_the_setting(tmp_path: Any) -> None:
    settings = Settings(home=tmp_path, ner_processes=3)
    runner = TagRunner(settings, lambda s: [], subprocess=False)
    try:
        result = asyncio.run(runner.run([record(1)]))
    finally:
        runner.close()
    assert runner.processes == 1
    assert [a.article_id for a in result.articles] == [f"{1:032x}"]


class DieOnce:
    """Kills its own process on the first article it sees after ``marker`` is created."""

    step_id = "die-once"

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def process(self, article: Article) -> Article:
        if not os.path.exists(self.marker):
            open(self.marker, "w").close()
            os._exit(9)  # as the OOM killer would: no exception, no clean-up
        return article


class StepsThatDieOnce:
    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __call__(self, settings: Settings) -> Sequence[Step]:
        return [DieOnce(self.marker)]


def test_a_killed_ner_process_is_replaced_and_the_batch_runs_again(tmp_path: Any) -> None:
    settings = Settings(home=tmp_path, ner_processes=1)
    runner = TagRunner(settings, StepsThatDieOnce(str(tmp_path / "died")), subprocess=True)
    try:
        result = asyncio.run(runner.run([record(1), record(2)]))
        again = asyncio.run(runner.run([record(3)]))  # the new pool keeps serving
    finally:
        runner.close()
    assert (tmp_path / "died").exists()  # the first process really died
    assert [a.article_id for a in result.articles] == [f"{1:032x}", f"{2:032x}"]
    assert [a.article_id for a in again.articles] == [f"{3:032x}"]
