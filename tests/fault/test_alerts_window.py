"""A worker killed after Kafka acknowledged its deliveries and before the table recorded them.

That moment cannot be hit by killing at random, so the test builds the state it leaves behind
out of a real run, with nothing in the worker that knows about the test:

1. a worker delivers the alerts of a first half of the corpus and stops cleanly; the offsets
   of the ``alert-fired`` changelog and of the group on the matches topic are noted;
2. a worker delivers the alerts of the second half and stops;
3. every changelog write of the second run is undone (each key it wrote is written again with
   the value it had after the first run, or deleted), and the group's offsets on the matches
   topic are set back to where the first run left them.

The second run's deliveries are now on the alerts topic, acknowledged, while the table and the
committed offsets are those of a worker that died right after sending them: exactly the state a
SIGKILL between the acknowledgement and the changelog write leaves, for every one of them at
once. A worker started on it replays the second half's matches. It must deliver none of them
again: every ``delivery_id`` once on the topic, and no delivery lost or added.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch
from kafka import TopicPartition
from kafka.errors import KafkaError
from kafka.structs import OffsetAndMetadata

from processors import topology
from processors.alerts.messages import Delivery
from sinks.alerts import AlertSpec, AlertStore
from tests.fault.harness import prepare, read_topic, send_all, wait_all_indexed, wait_for, worker
from wirehose.core.article import Article
from wirehose.core.clients import kafka_access, kafka_admin, kafka_producer
from wirehose.core.offsets import KafkaOffsets, group_lag
from wirehose.core.settings import Settings

pytestmark = pytest.mark.fault

HALF = 200  # articles per run: enough stories to deliver on every partition
CATCH_UP = 240.0  # a deadline for the alert stages, not an assertion on speed


def caught_up(settings: Settings) -> bool:
    """The worker's group at the end of every topic it reads, the matches included."""
    with KafkaOffsets(kafka_access(settings)) as kafka:
        committed = kafka.group_offsets(settings.app_id)
        for topic in topology.topic_names(settings, read_only=True):
            offsets: Any = kafka.topic_offsets(topic)
            if offsets is None or any(p.lag for p in group_lag(offsets, committed)):
                return False
    return True


def run_worker(settings: Settings, articles: list[Article], log: Path, es: Elasticsearch) -> None:
    """Send ``articles``, wait until the worker has delivered their alerts, stop it cleanly."""
    with worker(settings, log) as process:
        assert send_all(settings, articles) == (len(articles), 0)
        ids = {a.article_id for a in articles}
        assert wait_all_indexed(es, settings, ids) == len(ids), log.read_text()[-3000:]
        wait_for(lambda: caught_up(settings), CATCH_UP, what="the alert stages to catch up")
        assert process.poll() is None, log.read_text()[-3000:]


def end_offsets(settings: Settings, topic: str) -> dict[int, int]:
    with KafkaOffsets(kafka_access(settings)) as kafka:
        offsets = kafka.topic_offsets(topic)
    assert offsets is not None
    return offsets.end


def committed_on(settings: Settings, topic: str) -> dict[int, int]:
    with KafkaOffsets(kafka_access(settings)) as kafka:
        found = kafka.group_offsets(settings.app_id)
    return {p: offset for (t, p), offset in found.items() if t == topic}


def undo_changelog_since(settings: Settings, topic: str, kept: dict[int, int]) -> int:
    """Write again, for every key written at or after ``kept`` (per partition), its value
    before that (a tombstone for a key that had none): the table a worker rebuilds is the one
    of the first run. How many keys were set back."""
    before: dict[tuple[int, bytes], bytes | None] = {}
    touched: set[tuple[int, bytes]] = set()
    for record in read_topic(settings, topic, idle_ms=3000):
        where = (record.partition, record.key)
        if record.offset < kept.get(record.partition, 0):
            before[where] = record.value
        else:
            touched.add(where)
    producer = kafka_producer(kafka_access(settings), acks="all")
    try:
        for partition, key in sorted(touched):
            producer.send(topic, key=key, value=before.get((partition, key)), partition=partition)
        producer.flush()
    finally:
        producer.close()
    return len(touched)


def rewind_group(settings: Settings, topic: str, offsets: dict[int, int]) -> None:
    """Set the worker's committed offsets on ``topic`` back (the group must be empty)."""
    wanted = {TopicPartition(topic, p): OffsetAndMetadata(o, "", -1) for p, o in offsets.items()}

    def altered() -> bool:
        admin = kafka_admin(kafka_access(settings))
        try:
            errors = admin.alter_group_offsets(settings.app_id, wanted)
        except KafkaError:
            return False  # the group still has a member
        finally:
            admin.close()
        return all(error.errno == 0 for error in errors.values())

    wait_for(altered, 60, interval=2.0, what="the stopped worker to leave its group")


def deliveries(settings: Settings) -> list[Delivery]:
    return [
        Delivery.from_bytes(r.value)
        for r in read_topic(settings, settings.topic_alerts, idle_ms=3000)
    ]


def test_deliveries_the_table_lost_in_a_crash_are_not_sent_again(
    fault_settings: Callable[..., Settings],
    private_es: Elasticsearch,
    fault_corpus: list[Article],
    tmp_path: Path,
) -> None:
    settings = fault_settings(topic_partitions=2)
    prepare(settings)
    store = AlertStore(private_es, settings.alerts_index_name, settings.index_alias)
    store.add(AlertSpec("every-story"))
    store.add(AlertSpec("every-update", updates=True))
    changelog = topology.table("alert-fired").changelog(settings)
    matches = topology.topic("alert-matches").name(settings)

    run_worker(settings, fault_corpus[:HALF], tmp_path / "worker-1.log", private_es)
    kept = end_offsets(settings, changelog)
    replay_from = committed_on(settings, matches)
    first = deliveries(settings)

    run_worker(settings, fault_corpus[HALF : 2 * HALF], tmp_path / "worker-2.log", private_es)
    sent = deliveries(settings)
    assert len(sent) > len(first) > 0  # both runs delivered
    assert max(Counter(d.delivery_id for d in sent).values()) == 1

    # The state a worker killed right after its deliveries' acknowledgements leaves behind.
    assert undo_changelog_since(settings, changelog, kept) > 0
    rewind_group(settings, matches, replay_from)
    assert committed_on(settings, matches) == replay_from
    ends = end_offsets(settings, matches)
    assert any(ends[p] > replay_from.get(p, 0) for p in ends)  # matches to replay

    log = tmp_path / "worker-3.log"
    with worker(settings, log) as process:
        wait_for(lambda: caught_up(settings), CATCH_UP, what="the replayed matches")
        assert process.poll() is None, log.read_text()[-3000:]

    after = deliveries(settings)
    repeated = {i: n for i, n in Counter(d.delivery_id for d in after).items() if n > 1}
    assert repeated == {}, f"{len(repeated)} deliveries sent again after the replay"
    assert {d.delivery_id for d in after} == {d.delivery_id for d in sent}
