"""The polling-source runner and the worked examples from docs/producers.md."""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Sequence
from pathlib import Path

import httpx
import pytest
from kafka.errors import KafkaTimeoutError

from producers.base import PollingSource, Retry, SourceRunner, backoff_delay
from producers.examples.directory import DirectorySource
from producers.examples.json_api import JsonApiSource
from producers.kafka import ArticleProducer
from tests.factories import FakeKafkaProducer, make_article
from wirehose.core.article import Article
from wirehose.core.clients import KafkaAccess


class ScriptedSource(PollingSource):
    """Plays back a script: a list of articles, an exception or a Retry per poll."""

    def __init__(self, step_id: str, script: list[object], *, interval: float = 10.0) -> None:
        super().__init__(step_id, interval=interval)
        self.script = script
        self.acked: list[str] = []
        self.setups = 0
        self.closed = False

    def setup(self) -> None:
        self.setups += 1

    def poll(self) -> list[Article]:
        step = self.script.pop(0)
        if isinstance(step, BaseException):
            raise step
        assert isinstance(step, list)
        return step

    def ack(self, delivered: Sequence[Article]) -> None:
        self.acked.extend(a.article_id for a in delivered)

    def close(self) -> None:
        self.closed = True


def fake_producer(**fake_kwargs: object) -> ArticleProducer:
    return ArticleProducer(
        KafkaAccess("h:9092"), "raw", factory=functools.partial(FakeKafkaProducer, **fake_kwargs)
    )


def test_backoff_doubles_and_caps() -> None:
    assert [backoff_delay(n, base=5, cap=60) for n in range(1, 6)] == [5, 10, 20, 40, 60]


def test_runner_publishes_acks_and_schedules_next_poll() -> None:
    a, b = make_article(), make_article()
    source = ScriptedSource("s1", [[a, b]], interval=30)
    runner = SourceRunner([source], fake_producer(), clock=lambda: 0.0)
    report = runner.tick(now=100.0)
    assert report.sent == 2
    assert source.acked == [a.article_id, b.article_id]
    assert runner.state("s1").next_due == 130.0
    assert source.setups == 1


def test_failing_source_backs_off_alone_and_recovers() -> None:
    good = ScriptedSource("good", [[make_article()], [make_article()]], interval=10)
    bad = ScriptedSource("bad", [OSError("feed down"), OSError("still down"), []], interval=10)
    runner = SourceRunner([good, bad], fake_producer(), backoff_base=5, backoff_cap=100)

    assert runner.tick(now=0).sent == 1
    assert runner.state("bad").next_due == 5  # first failure: base delay
    assert runner.state("bad").last_error == "OSError: feed down"
    runner.tick(now=5)  # only "bad" is due
    assert runner.state("bad").failures == 2
    assert runner.state("bad").next_due == 15  # 5 + 10
    assert runner.tick(now=15).sent == 1  # both due; bad recovers with nothing new
    assert runner.state("bad").failures == 0
    assert runner.state("bad").next_due == 25


def test_retry_is_not_an_error() -> None:
    source = ScriptedSource("s", [Retry(after=42, reason="rate limited")])
    runner = SourceRunner([source], fake_producer())
    runner.tick(now=0)
    assert runner.state("s").next_due == 42
    assert runner.state("s").failures == 0


def test_undelivered_articles_are_not_acked() -> None:
    lost, kept = make_article(), make_article()
    producer = fake_producer(fail_keys={lost.article_id.encode(): KafkaTimeoutError()})
    source = ScriptedSource("s", [[lost, kept]])
    report = SourceRunner([source], producer).tick(now=0)
    assert (report.sent, report.failed) == (1, 1)
    assert source.acked == [kept.article_id]


def test_run_once_closes_sources_and_duplicate_ids_are_refused() -> None:
    source = ScriptedSource("s", [[make_article()]])
    total = SourceRunner([source], fake_producer()).run(once=True, stop=threading.Event())
    assert total.sent == 1
    assert source.closed
    with pytest.raises(ValueError, match="unique"):
        SourceRunner([ScriptedSource("x", []), ScriptedSource("x", [])], fake_producer())


# --- the worked examples -------------------------------------------------------------------


def api_transport(pages: list[httpx.Response]) -> httpx.MockTransport:
    return httpx.MockTransport(lambda request: pages.pop(0))


def test_json_api_example_publishes_new_items_once() -> None:
    item = {"title": "Dam opens", "body": "The dam opened.", "url": "https://news.example/dam"}
    later = {"title": "Dam closes", "body": "It closed.", "url": "https://news.example/dam2"}
    transport = api_transport(
        [
            httpx.Response(200, json={"articles": [item]}),
            httpx.Response(429, headers={"Retry-After": "120"}),
            httpx.Response(200, json={"articles": [item, later]}),
        ]
    )
    source = JsonApiSource("https://api.example/latest", interval=60, transport=transport)
    producer = fake_producer()
    runner = SourceRunner([source], producer)

    assert runner.tick(now=0).sent == 1
    assert runner.tick(now=60).sent == 0
    assert runner.state(source.step_id).next_due == 180  # Retry-After honoured
    assert runner.tick(now=180).sent == 1  # the already-sent item is not sent again
    records = FakeKafkaProducer.instances[-1].records
    titles = [json.loads(value)["title"] for _, _, value in records]
    assert titles == ["Dam opens", "Dam closes"]
    assert {json.loads(v)["producer"] for _, _, v in records} == {"json:https://api.example/latest"}


def test_json_api_example_server_error_backs_off() -> None:
    transport = api_transport([httpx.Response(503)])
    source = JsonApiSource("https://api.example/latest", transport=transport)
    runner = SourceRunner([source], fake_producer(), backoff_base=5)
    runner.tick(now=0)
    state = runner.state(source.step_id)
    assert state.failures == 1
    assert state.last_error is not None
    assert "503" in state.last_error


def test_directory_example_reads_each_file_once_and_skips_empty_ones(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("First headline\n\nFirst story.", encoding="utf-8")
    (tmp_path / "junk.txt").write_text("Share your opinion\n", encoding="utf-8")
    source = DirectorySource(tmp_path, interval=5)
    runner = SourceRunner([source], fake_producer())

    assert runner.tick(now=0).sent == 1
    (tmp_path / "b.txt").write_text("Second headline\n\nSecond story.", encoding="utf-8")
    assert runner.tick(now=5).sent == 1
    assert runner.tick(now=10).sent == 0
    records = FakeKafkaProducer.instances[-1].records
    assert [json.loads(v)["title"] for _, _, v in records] == ["First headline", "Second headline"]


def test_directory_example_rereads_a_file_whose_send_failed(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("Headline\n\nStory.", encoding="utf-8")
    source = DirectorySource(tmp_path)
    article_id = source.poll()[0].article_id
    producer = fake_producer(fail_keys={article_id.encode(): KafkaTimeoutError()})
    runner = SourceRunner([source], producer)
    assert runner.tick(now=0).failed == 1
    FakeKafkaProducer.instances[-1].fail_keys.clear()  # the broker is back
    assert runner.tick(now=10).sent == 1


def test_docs_show_the_json_api_example_verbatim() -> None:
    root = Path(__file__).resolve().parents[2]
    docs = (root / "docs" / "producers.md").read_text(encoding="utf-8")
    code = (root / "producers" / "examples" / "json_api.py").read_text(encoding="utf-8")
    assert f"```python\n{code}```" in docs
