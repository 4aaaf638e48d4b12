"""Shared test builders: articles and an in-memory stand-in for kafka-python's KafkaProducer.

Add builders here when more than one test module needs them; keep them free of network I/O.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any, ClassVar

from wirehose.article import Article

_counter = itertools.count(1)


def make_article(**overrides: Any) -> Article:
    """A valid raw article; every call without ``body`` gets a distinct body (and id)."""
    n = next(_counter)
    fields: dict[str, Any] = {
        "title": f"Headline {n}",
        "body": f"Body of test article number {n}.",
        "producer": "test",
    }
    fields.update(overrides)
    return Article.create(**fields)


@dataclass
class FakeRecordMetadata:
    topic: str
    partition: int
    offset: int


class FakeFuture:
    """Mimics ``FutureRecordMetadata``: ``is_done`` and ``get()`` raising the send's error."""

    def __init__(self, value: FakeRecordMetadata | None, error: BaseException | None) -> None:
        self.value = value
        self.exception = error
        self.is_done = True

    def get(self, timeout: float | None = None) -> FakeRecordMetadata:
        if self.exception is not None:
            raise self.exception
        assert self.value is not None
        return self.value


class FakeKafkaProducer:
    """Records what a ``KafkaProducer`` would have sent; ``fail_keys`` makes chosen sends fail.

    Pass the class (or a ``functools.partial`` of it) as ``ArticleProducer(factory=...)``;
    ``instances`` keeps every producer built so a test can inspect config and records.
    """

    instances: ClassVar[list[FakeKafkaProducer]] = []

    def __init__(
        self, *, fail_keys: dict[bytes, BaseException] | None = None, **config: Any
    ) -> None:
        self.config = config
        self.fail_keys = fail_keys or {}
        self.records: list[tuple[str, bytes, bytes]] = []
        self.flushes = 0
        self.closed = False
        FakeKafkaProducer.instances.append(self)

    def send(self, topic: str, *, key: bytes, value: bytes) -> FakeFuture:
        if key in self.fail_keys:
            return FakeFuture(None, self.fail_keys[key])
        self.records.append((topic, key, value))
        partition = sum(key) % 4  # stable per key, like the default partitioner
        return FakeFuture(FakeRecordMetadata(topic, partition, len(self.records) - 1), None)

    def flush(self, timeout: float | None = None) -> None:
        self.flushes += 1

    def close(self, timeout: float | None = None) -> None:
        self.closed = True
