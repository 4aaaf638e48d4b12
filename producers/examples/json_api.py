"""Example source: a JSON API that returns the latest articles.

The endpoint answers ``{"articles": [{"title": ..., "body": ..., "url": ...}, ...]}``. Each
item goes through the same loose-object rules as ``wirehose replay --jsonl``. Articles are
remembered as seen only once Kafka confirmed them (``ack``), so a failed send is retried.
It fetches through ``producers.fetch``, like every source: size cap, deadline, redirects
checked hop by hop, and public addresses only (an internal API goes on WIREHOSE_FETCH_ALLOW).
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import httpx

from producers.base import PollingSource, Retry
from producers.fetch import FetchError, fetch, make_client
from producers.guard import PUBLIC_ONLY, AddressPolicy
from producers.jsonl import article_from_object
from wirehose.core.article import Article


class JsonApiSource(PollingSource):
    def __init__(
        self,
        url: str,
        *,
        interval: float = 60.0,
        policy: AddressPolicy = PUBLIC_ONLY,  # AddressPolicy.from_settings(settings)
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__(f"json:{url}", interval=interval)
        self.url = url
        self.policy = policy
        self._transport = transport  # tests pass httpx.MockTransport
        self._seen: set[str] = set()
        self._client: httpx.Client | None = None

    def setup(self) -> None:
        self._client = make_client(policy=self.policy, step="json", transport=self._transport)

    def poll(self) -> list[Article]:
        assert self._client is not None, "setup() runs before poll()"
        try:
            result = fetch(self._client, self.url, accept="application/json")
        except FetchError as exc:
            if exc.status == 429:  # rate limited: not an error, just not yet
                after = exc.retry_after if exc.retry_after is not None else 60.0
                raise Retry(after=after, reason=str(exc)) from exc
            raise  # anything else (a 503, a timeout, a refused address): the runner backs off
        items = json.loads(result.content)["articles"]
        articles = [article_from_object(i, producer=self.step_id, source=self.url) for i in items]
        return [a for a in articles if a.article_id not in self._seen]

    def ack(self, delivered: Sequence[Article]) -> None:
        self._seen.update(a.article_id for a in delivered)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
