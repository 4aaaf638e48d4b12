"""Elasticsearch stopped for 30 s, the Kafka broker restarted, one of two workers killed:
each during a replay, and each must end with every article indexed exactly once.

These run on the session's private services (tests/fault/conftest.py): stopping the shared
ones would break every other engineer's run.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from producers.kafka import ArticleProducer
from producers.replay import replay
from tests.fault.harness import (
    Figures,
    log_tail,
    prepare,
    tally,
    wait_all_indexed,
    wait_for,
    worker,
)
from wirehose.bench.private import PrivateServices
from wirehose.core.article import Article
from wirehose.core.clients import kafka_access
from wirehose.core.settings import Settings
from wirehose.ops.local import count_indexed
from wirehose.ops.services.runtime import free_port

TAKEOVER_TIMEOUT = 120.0  # the survivor alone, after the rebalance

pytestmark = pytest.mark.fault

REPLAY_RATE = 100.0
ES_OUTAGE_SECONDS = 30.0


@contextmanager
def background_replay(settings: Settings, articles: list[Article]) -> Iterator[dict[str, int]]:
    """A paced replay in a thread; the dict holds the delivery report once it is done."""
    delivery: dict[str, int] = {}

    def produce() -> None:
        with ArticleProducer(kafka_access(settings), settings.topic_raw) as producer:
            report = replay(articles, producer, rate=REPLAY_RATE)
        delivery.update(sent=report.sent, failed=report.failed)

    thread = threading.Thread(target=produce, name="replay")
    thread.start()
    try:
        yield delivery
    finally:
        thread.join(timeout=600)


def _progress(es: Elasticsearch, settings: Settings, ids: set[str], at_least: int) -> None:
    wait_for(
        lambda: count_indexed(es, settings.index_alias, ids) >= at_least,
        240,
        what=f"{at_least} articles indexed",
    )


def test_elasticsearch_down_for_30s_loses_and_doubles_nothing(
    fault_settings: Callable[..., Settings],
    private_stack: PrivateServices,
    private_es: Elasticsearch,
    fault_corpus: list[Article],
    record_figures: Callable[[Figures], None],
    tmp_path: Path,
) -> None:
    settings = fault_settings()
    prepare(settings)
    ids = {a.article_id for a in fault_corpus}
    log = tmp_path / "worker.log"
    with worker(settings, log) as process, background_replay(settings, fault_corpus) as delivery:
        _progress(private_es, settings, ids, 100)
        private_stack.es.down()
        stopped = time.monotonic()
        time.sleep(ES_OUTAGE_SECONDS)
        alive_during_outage = process.poll() is None
        private_stack.es.up()
        outage = round(time.monotonic() - stopped, 1)
        found = wait_all_indexed(private_es, settings, ids)
        alive = process.poll() is None
    figures = tally(
        private_es,
        settings,
        "Elasticsearch down ~30 s",
        fault_corpus,
        outage_s=outage,
        worker_survived=alive and alive_during_outage,
        delivery=delivery,
    )
    record_figures(figures)
    assert alive_during_outage, log_tail(log)
    assert alive, log_tail(log)
    assert found == len(ids), log_tail(log)
    assert figures.outcome == (len(ids), 0, 0, 0)


def test_kafka_broker_restart_mid_replay_loses_nothing(
    fault_settings: Callable[..., Settings],
    private_stack: PrivateServices,
    private_es: Elasticsearch,
    fault_corpus: list[Article],
    record_figures: Callable[[Figures], None],
    tmp_path: Path,
) -> None:
    settings = fault_settings()
    prepare(settings)
    ids = {a.article_id for a in fault_corpus}
    log = tmp_path / "worker.log"
    with worker(settings, log) as process:
        with background_replay(settings, fault_corpus) as delivery:
            _progress(private_es, settings, ids, 100)
            private_stack.kafka.down()
            time.sleep(3)
            private_stack.kafka.up()
        # The replay has finished here: every send resolved, after the producer's retries.
        found = wait_all_indexed(private_es, settings, ids)
        survived = process.poll() is None
    figures = tally(
        private_es,
        settings,
        "Kafka broker restart",
        fault_corpus,
        delivery=delivery,
        worker_survived=survived,
    )
    record_figures(figures)
    assert delivery == {"sent": len(fault_corpus), "failed": 0}
    assert survived, log_tail(log)
    assert found == len(ids), log_tail(log)
    assert figures.outcome == (len(ids), 0, 0, 0)


def test_two_workers_one_killed_the_other_takes_over(
    fault_settings: Callable[..., Settings],
    private_es: Elasticsearch,
    fault_corpus: list[Article],
    record_figures: Callable[[Figures], None],
    tmp_path: Path,
) -> None:
    settings = fault_settings()
    prepare(settings)
    ids = {a.article_id for a in fault_corpus}
    second = settings.model_copy(update={"worker_web_port": free_port()})
    with (
        worker(settings, tmp_path / "worker-a.log") as survivor,
        worker(second, tmp_path / "worker-b.log") as victim,
        background_replay(settings, fault_corpus) as delivery,
    ):
        _progress(private_es, settings, ids, 200)
        victim.kill()
        victim.wait(timeout=30)
        # Faust drops messages it has in flight at the rebalance; wirehose never commits past
        # them and re-reads them (processors/worker/patches.py), so the survivor alone, without a
        # restart, should index every article exactly once.
        live = wait_all_indexed(private_es, settings, ids, timeout=TAKEOVER_TIMEOUT)
        survived = survivor.poll() is None
    # Stranded articles would be a bug in the live heal (15 of 1200 once, 2026-11-22, before the
    # re-read seek stopped waiting on positions and messages dropped before a partition's first
    # commit were still committed past; 10 of 10 runs clean since). Nothing may be committed past
    # them, so a restart of the survivor must read them again: that is a hard requirement here.
    stranded = len(ids) - live
    found = live
    if stranded:
        with worker(settings, tmp_path / "worker-a-restarted.log"):
            found = wait_all_indexed(private_es, settings, ids)
    figures = tally(
        private_es,
        settings,
        "2 workers, 1 SIGKILLed",
        fault_corpus,
        delivery=delivery,
        survivor_alive=survived,
        stranded_until_restart=stranded,
    )
    record_figures(figures)
    assert survived, log_tail(tmp_path / "worker-a.log")
    assert found == len(ids), log_tail(tmp_path / "worker-a.log")
    assert figures.outcome == (len(ids), 0, 0, 0)
    if stranded:
        pytest.xfail(
            f"BUG: {stranded} articles stranded at the live takeover until the survivor "
            "restarted (none lost or doubled in the end); see the survivor's log for re-reads"
        )
