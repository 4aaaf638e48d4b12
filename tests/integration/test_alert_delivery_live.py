"""``wirehose alerts deliver`` against the real Kafka and a local webhook: posted once each,
committed after the POST, dead-lettered when the webhook keeps failing or is refused."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from kafka import KafkaProducer

from processors.alerts.messages import NEW_STORY, STORY_UPDATE, Candidate, Delivery
from producers.fetch import FetchLimits, make_client
from producers.guard import AddressPolicy
from tests.fault.harness import read_topic
from wirehose.core.clients import ensure_topics, kafka_access
from wirehose.core.deadletter import DeadLetter, Reason
from wirehose.core.settings import Settings
from wirehose.ops.alert_delivery import Deliverer
from wirehose.ops.webhooks import STEP, WebhookPolicy, WebhookPoster


class Receiver:
    """A local webhook: ``/ok`` answers 204, ``/down`` 500; every request is recorded."""

    def __init__(self) -> None:
        self.received: list[tuple[str, dict[str, str], dict[str, Any]]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((self.path, dict(self.headers), json.loads(body)))
                self.send_response(204 if self.path == "/ok" else 500)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    running = Receiver()
    yield running
    running.close()


def delivery(webhook: str | None, article: str, kind: str = NEW_STORY) -> Delivery:
    candidate = Candidate(
        alert="gaza",
        story="s1",
        article={"article_id": article, "title": "T", "date": "2023-10-16T12:00:00+00:00"},
        webhook=webhook,
    )
    return Delivery.of(candidate, kind)  # type: ignore[arg-type]


def publish(settings: Settings, deliveries: list[Delivery]) -> None:
    producer = KafkaProducer(bootstrap_servers=settings.kafka_servers, acks="all")
    try:
        for sent in deliveries:
            producer.send(
                settings.topic_alerts, key=sent.delivery_id.encode(), value=sent.to_bytes()
            )
        producer.flush()
    finally:
        producer.close()


def deliverer(settings: Settings) -> Deliverer:
    client = make_client(
        FetchLimits(connect_timeout=5, read_timeout=5),
        policy=AddressPolicy.from_settings(settings),
        step=STEP,
    )
    poster = WebhookPoster(client, WebhookPolicy.from_settings(settings))
    return Deliverer(settings, poster, group=f"{settings.app_id}-deliver")


def test_each_delivery_is_posted_once_and_failures_are_dead_lettered(
    make_settings: Callable[..., Settings], receiver: Receiver
) -> None:
    settings = make_settings(
        fetch_allow="127.0.0.1", alerts_webhook_attempts=3, alerts_webhook_backoff=0.05
    )
    ensure_topics(
        kafka_access(settings), [settings.topic_alerts, settings.topic_dead_letter], partitions=2
    )
    good = delivery(f"{receiver.url}/ok", "a1")
    update = delivery(f"{receiver.url}/ok", "a2", STORY_UPDATE)
    failing = delivery(f"{receiver.url}/down", "a3")
    publish(settings, [good, update, good, failing, delivery(None, "a4")])

    stats = deliverer(settings).run(idle_exit=3)

    assert stats.as_dict() == {"posted": 2, "failed": 1, "skipped": 2}
    posted = [(h["Idempotency-Key"], body) for path, h, body in receiver.received if path == "/ok"]
    assert sorted(posted, key=lambda p: p[0]) == sorted(
        [(d.delivery_id, d.payload()) for d in (good, update)], key=lambda p: p[0]
    )
    assert sum(path == "/down" for path, _, _ in receiver.received) == 3  # every attempt
    (letter,) = [
        DeadLetter.from_bytes(r.value)
        for r in read_topic(settings, settings.topic_dead_letter, idle_ms=2000)
    ]
    assert letter.reason == Reason.WEBHOOK_FAILED
    assert Delivery.from_bytes(letter.original) == failing
    assert "HTTP 500" in letter.detail

    # Committed: the same group posts nothing again.
    before = len(receiver.received)
    assert deliverer(settings).run(idle_exit=2).as_dict() == {
        "posted": 0,
        "failed": 0,
        "skipped": 0,
    }
    assert len(receiver.received) == before


def test_a_webhook_on_a_private_address_is_refused_unless_allowed(
    make_settings: Callable[..., Settings], receiver: Receiver
) -> None:
    settings = make_settings(alerts_webhook_attempts=3)  # no WIREHOSE_FETCH_ALLOW
    ensure_topics(
        kafka_access(settings), [settings.topic_alerts, settings.topic_dead_letter], partitions=1
    )
    publish(settings, [delivery(f"{receiver.url}/ok", "a1")])
    stats = deliverer(settings).run(idle_exit=3)
    assert stats.as_dict() == {"posted": 0, "failed": 1, "skipped": 0}
    assert receiver.received == []  # nothing was sent to it
    (letter,) = [
        DeadLetter.from_bytes(r.value)
        for r in read_topic(settings, settings.topic_dead_letter, idle_ms=2000)
    ]
    assert "not a public address (loopback)" in letter.detail
