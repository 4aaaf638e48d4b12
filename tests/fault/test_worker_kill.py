"""SIGKILL the Faust worker at random moments during a replay: nothing lost, nothing doubled.

A killed worker has not acknowledged its last batch; its restart (same consumer group) replays
the unacknowledged tail, and the deterministic ``_id`` plus external versions make the replayed
writes land on the same documents. Some originals are delivered after their copies, so kills
also land in the middle of re-marking them. The dedup marks must come out as the reference
detector gives them (the dedup contract), on four partitions.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from producers.kafka import ArticleProducer
from producers.replay import replay
from tests.fault.harness import (
    Figures,
    Mark,
    marks,
    prepare,
    tally,
    wait_all_indexed,
    wait_for,
    worker,
)
from wirehose.core.article import Article
from wirehose.core.clients import kafka_access
from wirehose.core.settings import Settings
from wirehose.ops.local import count_indexed

pytestmark = pytest.mark.fault

KILLS = 3
REPLAY_RATE = 100.0  # articles/s: the replay spans the kills instead of finishing before them
LATE_EVERY, LATE_BY = 9, 120  # every 9th article is delivered 120 articles (hours) late


def with_late_deliveries(articles: list[Article]) -> list[Article]:
    """Publishing order, except that some articles - originals among them - come hours late."""
    slot = {
        a.article_id: n + (LATE_BY if n % LATE_EVERY == 0 else 0) for n, a in enumerate(articles)
    }
    return sorted(articles, key=lambda a: (slot[a.article_id], a.article_id))


def test_sigkilled_worker_restarts_and_indexes_everything_exactly_once(
    fault_settings: Callable[..., Settings],
    private_es: Elasticsearch,
    fault_corpus: list[Article],
    baseline_marks: dict[str, Mark],
    record_figures: Callable[[Figures], None],
    tmp_path: Path,
) -> None:
    settings = fault_settings(topic_partitions=4)
    prepare(settings)
    delivered = with_late_deliveries(fault_corpus)
    ids = {article.article_id for article in fault_corpus}
    rng = random.Random(20231016)
    delivery: dict[str, int] = {}

    def produce() -> None:
        with ArticleProducer(kafka_access(settings), settings.topic_raw) as producer:
            report = replay(delivered, producer, rate=REPLAY_RATE)
        delivery.update(sent=report.sent, failed=report.failed)

    sender = threading.Thread(target=produce, name="replay")
    sender.start()
    moments: list[float] = []
    for kill in range(KILLS):
        log = tmp_path / f"worker-{kill}.log"
        with worker(settings, log) as process:
            before = count_indexed(private_es, settings.index_alias, ids)
            # Kill while it is working: after it has indexed something new, at a random moment.
            wait_for(
                lambda b=before: count_indexed(private_es, settings.index_alias, ids) > b,
                180,
                what=f"worker {kill} to make progress",
            )
            moment = round(rng.uniform(0.2, 3.0), 2)
            moments.append(moment)
            threading.Event().wait(moment)
            assert process.poll() is None, log.read_text(errors="replace")[-3000:]
            process.kill()
            process.wait(timeout=30)
    with worker(settings, tmp_path / "worker-final.log") as final:
        sender.join(timeout=300)
        found = wait_all_indexed(private_es, settings, ids)
        assert final.poll() is None

    disturbed = marks(private_es, settings)
    differing = sorted(i for i in ids if disturbed.get(i) != baseline_marks[i])
    figures = tally(
        private_es,
        settings,
        "worker SIGKILL x3",
        fault_corpus,
        kills=KILLS,
        kill_after_progress_s=moments,
        delivery=delivery,
        marks_differing_from_reference=len(differing),
    )
    record_figures(figures)
    assert delivery == {"sent": len(fault_corpus), "failed": 0}
    assert found == len(ids)
    assert figures.outcome == (len(ids), 0, 0, 0)
    assert not differing, [(i, baseline_marks[i], disturbed.get(i)) for i in differing[:5]]
