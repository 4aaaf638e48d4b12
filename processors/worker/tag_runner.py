"""Run the tagging pipeline (spaCy NER) off the event loop: in a child process by default.

NER is the expensive step and pure CPU. In a thread it holds the GIL against everything else
the worker does on its event loop (signing for dedup, JSON, Kafka I/O), so the whole pipeline
ran well below spaCy's own speed. A pool of ``ner_processes`` children gives spaCy cores of its own; articles
cross the process boundary as wire bytes and come back as ``BatchResult``s.

The child watches its parent: when a worker is killed with SIGKILL, nothing else would tell the
child, and it would linger holding a spaCy model in memory.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from processors.pipeline import BatchResult, EnrichmentPipeline, RawRecord, Step, Validate
from wirehose.core.logs import configure
from wirehose.core.settings import Settings

log = logging.getLogger(__name__)

StepsFactory = Callable[[Settings], Sequence[Step]]

# New NER processes started for one batch whose processes keep dying: a batch that kills
# its process every time (a pathological article) must fail, not loop forever.
POOL_RESTARTS = 2

_pipeline: EnrichmentPipeline | None = None


def _build(settings: Settings, factory: StepsFactory) -> EnrichmentPipeline:
    # The tag stage reads what dedup wrote: articles validated at the door.
    return EnrichmentPipeline(Validate(settings.max_body_chars, internal=True), factory(settings))


def _init_child(settings: Settings, factory: StepsFactory, parent: int) -> None:
    global _pipeline
    configure(settings.log_level)
    _pipeline = _build(settings, factory)
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()


def _exit_with_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(0)


def _run_in_child(records: list[RawRecord]) -> BatchResult:
    assert _pipeline is not None, "the pool initializer builds the pipeline"
    return _pipeline.run(records)


class TagRunner:
    """``await runner.run(records)``: the tagging pipeline, in a child process or a thread.

    ``subprocess`` true: a pool of ``Settings.ner_processes`` children
    (``Settings.tag_in_subprocess``); false: a thread of the worker's process.
    """

    def __init__(self, settings: Settings, factory: StepsFactory, *, subprocess: bool) -> None:
        self.subprocess = subprocess
        self.processes = settings.ner_processes if subprocess else 1
        self._local: EnrichmentPipeline | None = None
        self._settings = settings
        self._factory = factory
        self._executor: Executor
        if subprocess:
            self._executor = self._pool()
        else:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tag")

    def _pool(self) -> ProcessPoolExecutor:
        # spawn, not fork: the worker has live threads (Kafka clients) a fork would copy mid-lock.
        return ProcessPoolExecutor(
            max_workers=self._settings.ner_processes,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_child,
            initargs=(self._settings, self._factory, os.getpid()),
        )

    async def run(self, records: list[RawRecord]) -> BatchResult:
        loop = asyncio.get_running_loop()
        if not self.subprocess:
            return await loop.run_in_executor(self._executor, self._run_here, records)
        for attempt in range(1, POOL_RESTARTS + 2):
            executor = self._executor
            try:
                return await loop.run_in_executor(executor, _run_in_child, records)
            except BrokenProcessPool:
                # A child killed from outside (the OOM killer, an operator) breaks the whole
                # pool for good. Without a new one the tag stage would fail every batch from
                # now on while the worker looked alive; the batch itself is not at fault.
                if attempt > POOL_RESTARTS:
                    raise
                if self._executor is executor:  # another batch may have replaced it already
                    log.warning(
                        "an NER process died; starting new ones and running the batch again "
                        "attempt=%d records=%d",
                        attempt,
                        len(records),
                    )
                    executor.shutdown(wait=False, cancel_futures=True)
                    self._executor = self._pool()
        raise AssertionError("unreachable: the loop returns or raises")

    def _run_here(self, records: list[RawRecord]) -> BatchResult:
        if self._local is None:  # built on first use so spaCy loads only in a worker
            self._local = _build(self._settings, self._factory)
        return self._local.run(records)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
