"""forward_batches: the batch agents' loop, on a fake stream (no broker)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from types import SimpleNamespace
from typing import Any

import pytest

from processors.pipeline import BatchResult, RawRecord
from processors.worker.base import forward_batches
from wirehose.core.article import Article
from wirehose.core.deadletter import DeadLetter


class FakeStream:
    """``noack_take`` over fixed batches, then an idle stream; records every ack."""

    def __init__(self, batches: list[list[int]]) -> None:
        self._batches = batches
        self.acked: list[int] = []
        self.log: list[str] = []

    async def noack_take(self, size: int, within: float) -> AsyncIterator[Sequence[Any]]:
        for offsets in self._batches:
            yield [
                SimpleNamespace(
                    message=SimpleNamespace(
                        value=str(offset).encode(),
                        key=None,
                        topic="t",
                        partition=0,
                        offset=offset,
                        headers=None,
                        generation_id=1,
                    )
                )
                for offset in offsets
            ]
        await asyncio.Event().wait()  # like a live topic: no more batches, never ends

    async def ack(self, event: Any) -> None:
        self.acked.append(event.message.offset)
        self.log.append(f"ack {event.message.offset}")


class FakeTopic:
    def __init__(self, stream: FakeStream, fail_on: str | None = None) -> None:
        self.stream, self.fail_on, self.sent = stream, fail_on, []  # type: list[str]

    async def send(
        self, *, key: bytes, value: bytes, partition: int | None = None, headers: Any = None
    ) -> None:
        title = Article.from_bytes(value).title
        if title == self.fail_on:
            raise RuntimeError("broker said no")
        self.sent.append(title)
        self.stream.log.append(f"send {title}")


async def no_dead_letters(letters: Sequence[DeadLetter]) -> None:
    assert not letters


def runner(stream: FakeStream, started: asyncio.Event, release: asyncio.Event) -> Any:
    async def run(records: list[RawRecord]) -> BatchResult:
        first = records[0].offset
        stream.log.append(f"run {first}")
        if first == 0:
            started.set()
            await release.wait()  # the first batch is slow, like spaCy on a long article
        articles = [
            Article.create(title=f"a{r.offset}", body="Body text.", producer="test")
            for r in records
        ]
        return BatchResult(articles=articles, dead_letters=[])

    return run


async def drive(stream: FakeStream, topic: FakeTopic, *, overlap: bool) -> None:
    started, release = asyncio.Event(), asyncio.Event()
    agent = asyncio.ensure_future(
        forward_batches(
            stream,  # type: ignore[arg-type]
            runner(stream, started, release),
            topic,  # type: ignore[arg-type]
            no_dead_letters,
            size=2,
            within=0.01,
            overlap=overlap,
        )
    )
    await started.wait()
    for _ in range(20):
        await asyncio.sleep(0)
    release.set()
    for _ in range(50):
        await asyncio.sleep(0)
        if agent.done() or len(stream.acked) == 5:
            break
    agent.cancel()
    with pytest.raises(asyncio.CancelledError):
        await agent


@pytest.mark.parametrize("overlap", [False, True])
def test_every_batch_is_published_then_acked_in_order(overlap: bool) -> None:
    stream = FakeStream([[0, 1], [2, 3], [4]])
    topic = FakeTopic(stream)
    asyncio.run(drive(stream, topic, overlap=overlap))
    assert topic.sent == [f"a{n}" for n in range(5)]
    assert stream.acked == [0, 1, 2, 3, 4]
    for n in range(5):  # nothing is acked before it was published
        assert stream.log.index(f"send a{n}") < stream.log.index(f"ack {n}")


def test_with_overlap_the_next_batch_runs_while_the_first_is_still_running() -> None:
    stream = FakeStream([[0, 1], [2, 3], [4]])
    asyncio.run(drive(stream, FakeTopic(stream), overlap=True))
    assert stream.log.index("run 2") < stream.log.index("send a0")


def test_without_overlap_batches_run_one_after_another() -> None:
    stream = FakeStream([[0, 1], [2, 3], [4]])
    asyncio.run(drive(stream, FakeTopic(stream), overlap=False))
    assert stream.log.index("ack 1") < stream.log.index("run 2")


async def overlapping_agent(
    stream: FakeStream, started: asyncio.Event, release: asyncio.Event, *, fail_on: str
) -> None:
    await forward_batches(
        stream,  # type: ignore[arg-type]
        runner(stream, started, release),
        FakeTopic(stream, fail_on=fail_on),  # type: ignore[arg-type]
        no_dead_letters,
        size=2,
        within=0.01,
        overlap=True,
    )


def test_a_failed_publish_stops_the_agent_with_its_error_and_acks_nothing_after_it() -> None:
    async def scenario() -> list[int]:
        stream = FakeStream([[0, 1], [2, 3], [4]])
        started, release = asyncio.Event(), asyncio.Event()
        release.set()
        with pytest.raises(RuntimeError, match="broker said no"):
            await overlapping_agent(stream, started, release, fail_on="a2")
        return stream.acked

    assert asyncio.run(scenario()) == [0, 1]


def test_a_failed_publish_crashes_the_agent_even_while_it_waits_on_an_idle_stream() -> None:
    async def scenario() -> None:
        stream = FakeStream([[0, 1]])  # then idle: the agent is waiting for more when a0 fails
        started, release = asyncio.Event(), asyncio.Event()
        task = asyncio.ensure_future(overlapping_agent(stream, started, release, fail_on="a0"))
        await started.wait()
        for _ in range(20):  # the agent hands the batch over and goes back to the stream
            await asyncio.sleep(0)
        release.set()
        await asyncio.wait({task}, timeout=30)  # a hang guard, not a timing assertion
        assert task.done(), "the agent kept waiting on the stream after its publish failed"
        with pytest.raises(RuntimeError, match="broker said no"):
            task.result()
        assert stream.acked == []

    asyncio.run(scenario())
