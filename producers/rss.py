"""Poll RSS and Atom feeds and publish new items, once each, across restarts.

One ``FeedSource`` per feed, run by ``producers.base.SourceRunner`` (so feeds are polled
concurrently and a failing feed backs off alone). Per feed, a JSON state file under
``WIREHOSE_HOME/state/feeds`` keeps the entry keys already published and the conditional-GET
validators. Both are committed only in ``ack``, after Kafka confirmed the articles: a crash
or a failed send between fetch and delivery means the items are fetched again, never lost.
Validators are also held back while any item of a response is undelivered, or else the next
poll's ``304 Not Modified`` would hide those items forever.

Item links are written by whoever writes the feed, so linked pages are fetched through a
``producers.polite.PageFetcher``: public addresses only (or those on ``WIREHOSE_FETCH_ALLOW``),
robots.txt honoured, each site paced. A page that cannot be had (refused, disallowed, broken)
leaves the item with the feed's own text; a page whose site asks us to wait longer than the
poll has left stops the poll there, and the rest of the feed waits for the next one.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

from producers.base import PollingSource, Retry
from producers.extract import PageText, extract_page
from producers.feeds import entry_key, entry_to_article, parse_feed
from producers.fetch import (
    FEED_LIMITS,
    PAGE_LIMITS,
    FetchError,
    FetchLimits,
    check_url,
    fetch,
    make_client,
)
from producers.guard import PUBLIC_ONLY, AddressPolicy, Resolver, system_resolver
from producers.polite import HostBusy, PageFetcher
from wirehose.core.article import Article
from wirehose.core.errors import ConfigError
from wirehose.core.files import atomic_write_text

log = logging.getLogger(__name__)

STEP = "rss"  # the step label of this producer's metrics
FEED_ACCEPT = "application/rss+xml, application/atom+xml, application/xml;q=0.9, */*;q=0.5"
SEEN_LIMIT = 5000  # far more than any feed lists at once; bounds the state file


@dataclass
class FeedState:
    """What survives a restart for one feed."""

    path: Path
    url: str
    etag: str | None = None
    last_modified: str | None = None
    seen: dict[str, float] = field(default_factory=dict)  # entry key -> when published

    @classmethod
    def load(cls, directory: Path, url: str) -> FeedState:
        path = directory / (hashlib.sha256(url.encode("utf-8")).hexdigest()[:24] + ".json")
        if not path.exists():
            return cls(path=path, url=url)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls(path, url, data.get("etag"), data.get("last_modified"), dict(data["seen"]))
        except (ValueError, KeyError, TypeError) as exc:
            # A corrupt file means republishing a feed's current items once; keys make that
            # harmless downstream, whereas refusing to start would stop the whole feed.
            log.warning("feed state unreadable, starting fresh path=%s error=%s", path, exc)
            return cls(path=path, url=url)

    def mark_seen(self, keys: Iterable[str]) -> None:
        now = time.time()
        for key in keys:
            self.seen[key] = now
        if len(self.seen) > SEEN_LIMIT:
            newest = sorted(self.seen.items(), key=lambda kv: kv[1])[-SEEN_LIMIT:]
            self.seen = dict(newest)

    def save(self) -> None:
        payload = {"url": self.url, "etag": self.etag, "last_modified": self.last_modified}
        atomic_write_text(self.path, json.dumps({**payload, "seen": self.seen}, indent=1))


class FeedSource(PollingSource):
    """One RSS or Atom feed; see the module docstring for the delivery guarantees."""

    def __init__(
        self,
        url: str,
        *,
        state_dir: Path,
        interval: float = 300.0,
        fetch_pages: bool = True,
        limits: FetchLimits = FEED_LIMITS,
        page_limits: FetchLimits = PAGE_LIMITS,
        poll_deadline: float = 120.0,
        policy: AddressPolicy = PUBLIC_ONLY,
        resolver: Resolver = system_resolver,
        pages: PageFetcher | None = None,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``policy`` admits non-public addresses for the feed (and for pages, unless
        ``pages`` is given: the process-wide page fetcher, shared by every feed so that each
        site is paced across feeds). ``resolver`` and ``transport`` are for tests."""
        super().__init__(f"rss:{check_url(url)}", interval=interval)
        self.url = url
        self.state_dir = state_dir
        self.fetch_pages = fetch_pages
        self.limits = limits
        self.page_limits = page_limits
        self.poll_deadline = poll_deadline
        self.policy = policy
        self._resolver = resolver
        self._pages = pages
        self._transport = transport
        self._clock = clock
        self._client: httpx.Client | None = None
        self.state: FeedState | None = None
        self._pending: dict[str, list[str]] = {}  # article_id -> entry keys awaiting ack
        self._validators: tuple[str | None, str | None] | None = None  # committed when acked

    def setup(self) -> None:
        self._client = make_client(
            self.limits,
            policy=self.policy,
            resolver=self._resolver,
            step=STEP,
            transport=self._transport,
        )
        if self._pages is None:
            self._pages = PageFetcher(
                self._client, limits=self.page_limits, step=STEP, clock=self._clock
            )
        self.state = FeedState.load(self.state_dir, self.url)

    def poll(self) -> list[Article]:
        assert self._client is not None, "setup() runs first"
        assert self.state is not None
        started = self._clock()
        try:
            result = fetch(
                self._client,
                self.url,
                limits=self.limits,
                etag=self.state.etag,
                last_modified=self.state.last_modified,
                accept=FEED_ACCEPT,
                clock=self._clock,
            )
        except FetchError as exc:
            if exc.retry_after is not None:
                raise Retry(after=exc.retry_after, reason=str(exc)) from exc
            raise
        if result.not_modified:
            return []
        feed = parse_feed(result.content, url=result.url, content_type=result.content_type)
        if feed.warning:
            log.info("feed recovered step_id=%s warning=%s", self.step_id, feed.warning)
        articles, skipped, complete = self._new_articles(feed, started)
        self.state.mark_seen(skipped)  # entries without text will not grow any
        self._validators = (result.etag, result.last_modified) if complete else None
        if not articles:
            self._commit()
        return articles

    def _new_articles(self, feed: Any, started: float) -> tuple[list[Article], list[str], bool]:
        """New entries as articles, keys of textless entries, and whether all were handled."""
        assert self.state is not None
        self._pending = {}
        articles: list[Article] = []
        skipped: list[str] = []
        for entry in feed.entries:
            key = entry_key(entry)
            if key in self.state.seen:
                continue
            left = self.poll_deadline - (self._clock() - started)
            if left < 0:
                log.warning("poll deadline reached step_id=%s rest=next poll", self.step_id)
                return articles, skipped, False
            fetch_page = functools.partial(self._fetch_page, budget=left)
            try:
                article = entry_to_article(
                    entry, feed, fetch_page=fetch_page if self.fetch_pages else None
                )
            except HostBusy as busy:
                log.info(
                    "page would wait for its host longer than the poll has left step_id=%s "
                    "host=%s wait=%.0fs rest=next poll",
                    self.step_id, busy.host, busy.wait,
                )  # fmt: skip
                return articles, skipped, False
            if article is None:
                skipped.append(key)
                continue
            if article.article_id not in self._pending:
                articles.append(article)
            self._pending.setdefault(article.article_id, []).append(key)
        return articles, skipped, True

    def _fetch_page(self, url: str, *, budget: float) -> PageText:
        assert self._pages is not None
        page = self._pages.fetch(url, budget=budget)
        return extract_page(page.content, url=page.url)

    def ack(self, delivered: Sequence[Article]) -> None:
        assert self.state is not None
        for article in delivered:
            self.state.mark_seen(self._pending.pop(article.article_id, []))
        self._commit()

    def _commit(self) -> None:
        assert self.state is not None
        if self._validators is not None and not self._pending:
            self.state.etag, self.state.last_modified = self._validators
        self.state.save()

    def close(self) -> None:
        if self._client is not None:
            self._client.close()


@dataclass(frozen=True)
class FeedConfig:
    url: str
    interval: float | None = None
    fetch_pages: bool = True


def load_feed_config(path: Path) -> tuple[list[FeedConfig], float | None]:
    """Read ``feeds.yaml``: ``{interval: 300, feeds: [url, {url, interval, fetch_pages}]}``."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read feed config {path}: {exc}") from exc
    if isinstance(data, list):
        data = {"feeds": data}
    if not isinstance(data, dict) or not isinstance(data.get("feeds"), list):
        raise ConfigError(f"{path}: expected a 'feeds:' list of URLs or {{url: ...}} mappings")
    feeds = []
    for item in data["feeds"]:
        spec = {"url": item} if isinstance(item, str) else item
        if not isinstance(spec, dict) or not isinstance(spec.get("url"), str):
            raise ConfigError(f"{path}: each feed needs a url, got {item!r}")
        try:
            check_url(spec["url"])
        except FetchError as exc:
            raise ConfigError(f"{path}: {exc}") from exc
        unknown = set(spec) - {"url", "interval", "fetch_pages"}
        if unknown:
            raise ConfigError(f"{path}: unknown key(s) {sorted(unknown)} for {spec['url']}")
        feeds.append(FeedConfig(spec["url"], spec.get("interval"), spec.get("fetch_pages", True)))
    interval = data.get("interval")
    return feeds, float(interval) if interval is not None else None
