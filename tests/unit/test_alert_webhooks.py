"""Posting alert deliveries to webhooks, without a network: retries, refusals, dead letters."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from processors.alerts.messages import NEW_STORY, Candidate, Delivery
from producers.fetch import make_client
from producers.guard import PUBLIC_ONLY, GuardedBackend, GuardedTransport
from wirehose.core.deadletter import DeadLetter, Reason
from wirehose.core.settings import Settings
from wirehose.ops.alert_delivery import Deliverer
from wirehose.ops.webhooks import STEP, Stopped, WebhookPolicy, WebhookPoster

URL = "https://hooks.example.com/wirehose"


def delivery(webhook: str | None = URL, article: str = "a1") -> Delivery:
    candidate = Candidate(
        alert="gaza",
        story="s1",
        article={"article_id": article, "title": "Truce", "date": "2023-10-16T12:00:00+00:00"},
        webhook=webhook,
    )
    return Delivery.of(candidate, NEW_STORY)


class Script:
    """A webhook answering with the scripted responses in turn; records the requests."""

    def __init__(self, *answers: int | httpx.Response | Exception) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer if isinstance(answer, httpx.Response) else httpx.Response(answer)


def poster(
    script: Script, *, attempts: int = 4, stop_after: int | None = None
) -> tuple[WebhookPoster, list[float]]:
    waits: list[float] = []

    def wait(seconds: float) -> bool:
        waits.append(seconds)
        return stop_after is not None and len(waits) >= stop_after

    client = make_client(transport=httpx.MockTransport(script))
    return WebhookPoster(client, WebhookPolicy(attempts=attempts, backoff=1.0), wait=wait), waits


def test_a_delivery_is_posted_as_json_with_its_id_as_the_idempotency_key() -> None:
    script = Script(204)
    post, waits = poster(script)
    sent = delivery()
    outcome = post.post(sent)
    assert (outcome.ok, outcome.attempts, waits) == (True, 1, [])
    (request,) = script.requests
    assert request.method == "POST"
    assert str(request.url) == URL
    assert request.headers["Idempotency-Key"] == sent.delivery_id
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["X-Wirehose-Kind"] == "new_story"
    assert json.loads(request.content) == sent.payload()


def test_server_errors_and_timeouts_are_retried_with_doubling_backoff() -> None:
    script = Script(503, httpx.ReadTimeout("slow"), 500, 200)
    post, waits = poster(script)
    outcome = post.post(delivery())
    assert (outcome.ok, outcome.attempts) == (True, 4)
    assert waits == [1.0, 2.0, 4.0]
    assert len({r.headers["Idempotency-Key"] for r in script.requests}) == 1


def test_retry_after_is_honoured() -> None:
    script = Script(httpx.Response(429, headers={"Retry-After": "7"}), 200)
    post, waits = poster(script)
    assert post.post(delivery()).ok
    assert waits == [7.0]


def test_running_out_of_attempts_fails_with_the_last_answer() -> None:
    post, waits = poster(Script(502, 502, httpx.Response(502, text="bad gateway")), attempts=3)
    outcome = post.post(delivery())
    assert (outcome.ok, outcome.attempts) == (False, 3)
    assert "HTTP 502" in outcome.detail
    assert "bad gateway" in outcome.detail
    assert waits == [1.0, 2.0]


@pytest.mark.parametrize("status", [400, 401, 404, 410, 301, 307])
def test_client_errors_and_redirects_are_not_retried(status: int) -> None:
    answer = httpx.Response(status, headers={"Location": "https://elsewhere.example/"})
    post, waits = poster(Script(answer))
    outcome = post.post(delivery())
    assert (outcome.ok, outcome.attempts, waits) == (False, 1, [])
    assert f"HTTP {status}" in outcome.detail
    if status in (301, 307):
        assert "redirects are not followed" in outcome.detail


def test_a_webhook_on_a_private_address_is_refused_before_connecting() -> None:
    backend = GuardedBackend(PUBLIC_ONLY, resolver=lambda host, port: ["10.0.0.5"], step=STEP)
    client = make_client(transport=GuardedTransport(backend))
    outcome = WebhookPoster(client, WebhookPolicy(attempts=5), wait=lambda s: False).post(
        delivery("https://hooks.internal.example/x")
    )
    assert (outcome.ok, outcome.attempts) == (False, 1)
    assert "not a public address (private)" in outcome.detail


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "ftp://hooks.example.com/", "hooks.example.com"]
)
def test_only_http_urls_are_posted_to(url: str) -> None:
    script = Script()
    post, _ = poster(script)
    outcome = post.post(delivery(url))
    assert (outcome.ok, outcome.attempts, script.requests) == (False, 0, [])


def test_stopping_while_waiting_to_retry_leaves_the_delivery_undecided() -> None:
    post, _ = poster(Script(503, 200), stop_after=1)
    with pytest.raises(Stopped):
        post.post(delivery())


@dataclass
class Record:
    value: bytes
    key: bytes | None = b"k"
    topic: str = "alerts"
    partition: int = 2
    offset: int = 41


class FakeProducer:
    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes | None, bytes]] = []

    def send(self, topic: str, *, key: bytes | None, value: bytes) -> Any:
        self.sent.append((topic, key, value))
        return self

    def get(self, timeout: float) -> None:
        return None


def deliverer(script: Script, attempts: int = 2) -> Deliverer:
    post, _ = poster(script, attempts=attempts)
    return Deliverer(Settings(topic_dead_letter="dlq"), post)


def test_a_failed_delivery_is_dead_lettered_with_its_exact_bytes() -> None:
    run = deliverer(Script(500, 500))
    producer = FakeProducer()
    record = Record(delivery().to_bytes())
    run.handle(record, producer)
    ((topic, key, value),) = producer.sent
    letter = DeadLetter.from_bytes(value)
    assert (topic, key) == ("dlq", b"k")
    assert letter.reason == Reason.WEBHOOK_FAILED
    assert letter.step == STEP
    assert letter.original == record.value  # `deadletters replay` re-sends it unchanged
    assert (letter.topic, letter.partition, letter.offset) == ("alerts", 2, 41)
    assert run.stats.as_dict() == {"posted": 0, "failed": 1, "skipped": 0}


def test_deliveries_without_a_webhook_and_repeats_of_posted_ones_are_passed_over() -> None:
    script = Script(200, 500, 200)
    run = deliverer(script)
    producer = FakeProducer()
    for sent in (delivery(None), delivery(), delivery(), delivery(article="a2")):
        run.handle(Record(sent.to_bytes()), producer)
    assert run.stats.as_dict() == {"posted": 2, "failed": 0, "skipped": 2}
    assert len(script.requests) == 3  # a2 failed once, then went through on the retry
    assert producer.sent == []


def test_a_record_that_is_not_a_delivery_is_dead_lettered_not_dropped() -> None:
    run = deliverer(Script())
    producer = FakeProducer()
    run.handle(Record(b"{not json"), producer)
    assert DeadLetter.from_bytes(producer.sent[0][2]).detail.startswith("not an alert delivery")
