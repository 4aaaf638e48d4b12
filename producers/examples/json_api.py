"""Example source: a JSON API that returns the latest articles.

The endpoint answers ``{"articles": [{"title": ..., "body": ..., "url": ...}, ...]}``. Each
item goes through the same loose-object rules as ``wirehose replay --jsonl``. Articles are
remembered as seen only once Kafka confirmed them (``ack``), so a failed send is retried.
"""

from __future__ import annotations

from collections.abc import Sequence

import httpx

from producers.base import PollingSource, Retry
from producers.jsonl import article_from_object
from wirehose.core.article import Article


class JsonApiSource(PollingSource):
    def __init__(
        self, url: str, *, interval: float = 60.0, transport: httpx.BaseTransport | None = None
    ) -> None:
        super().__init__(f"json:{url}", interval=interval)
        self.url = url
        self._transport = transport  # tests pass httpx.MockTransport
        self._seen: set[str] = set()
        self._client: httpx.Client | None = None

    def setup(self) -> None:
        self._client = httpx.Client(transport=self._transport, timeout=10.0)

    def poll(self) -> list[Article]:
        assert self._client is not None, "setup() runs before poll()"
        response = self._client.get(self.url)
        if response.status_code == 429:  # rate limited: not an error, just not yet
            after = response.headers.get("Retry-After", "60")
            raise Retry(after=float(after) if after.isdigit() else 60.0, reason="HTTP 429")
        response.raise_for_status()  # anything else non-2xx: the runner backs off
        items = response.json()["articles"]
        articles = [article_from_object(i, producer=self.step_id, source=self.url) for i in items]
        return [a for a in articles if a.article_id not in self._seen]

    def ack(self, delivered: Sequence[Article]) -> None:
        self._seen.update(a.article_id for a in delivered)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
