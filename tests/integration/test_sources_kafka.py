"""A custom source (the directory example) run by ``run_sources`` into the real broker."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

from kafka import KafkaConsumer

from producers.base import run_sources
from producers.examples.directory import DirectorySource
from wirehose.core.clients import KafkaAccess


def test_directory_source_lands_on_the_topic(
    kafka_bootstrap: str, new_topic: Callable[..., str], seeds_dir: Path, tmp_path: Path
) -> None:
    for seed in sorted(seeds_dir.glob("*.txt"))[:3]:
        shutil.copy(seed, tmp_path / seed.name)
    topic = new_topic("dir-source", partitions=2)

    report = run_sources(
        [DirectorySource(tmp_path)], access=KafkaAccess(kafka_bootstrap), topic=topic, once=True
    )

    assert (report.sent, report.failed) == (3, 0)
    consumer = KafkaConsumer(
        topic, bootstrap_servers=kafka_bootstrap, auto_offset_reset="earliest",
        consumer_timeout_ms=10_000,
    )  # fmt: skip
    values = [json.loads(m.value) for _, m in zip(range(3), consumer, strict=False)]
    consumer.close()
    assert sorted(v["source"] for v in values) == sorted(p.name for p in tmp_path.glob("*.txt"))
    assert {v["producer"] for v in values} == {f"dir:{tmp_path}"}
