"""Fetch article pages politely: robots.txt, per-host pacing, and ``Retry-After``.

A feed of 200 teasers from one site means 200 page requests to that site. ``PageFetcher``
(one per process, shared by every feed) makes them the way a well-behaved crawler would:

* **robots.txt** is asked first, for every hop (``producers.robots``);
* **per host**, at most ``concurrency`` requests are in flight and two requests start at least
  ``interval`` seconds apart (``HostThrottle``), whichever feed asks;
* a **429 or 503** pauses the host for its ``Retry-After`` (seconds or an HTTP date, at most
  ``retry_after_max``; 60 s when it gives none). That page fails like any other fetch error;
  later pages of the host wait.

A caller that cannot wait long passes a ``budget``: when a page would have to wait longer
than that for its host, ``HostBusy`` is raised instead of sleeping, and the caller leaves the
page for later (the RSS poller leaves it, and the rest of the feed, to its next poll).

Every connection goes through the address guard (``producers.guard``), robots.txt's too.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

import httpx

from producers.fetch import PAGE_LIMITS, ROBOTS_LIMITS, FetchLimits, FetchResult, fetch
from producers.robots import RobotsCache
from wirehose.core.errors import FetchError
from wirehose.core.settings import Settings

log = logging.getLogger(__name__)

DEFAULT_HOLD = 60.0  # seconds a host is left alone after a 429 or 503 without Retry-After
_FORGET_HOSTS_ABOVE = 1024


class HostBusy(Exception):
    """Not an error: a host may not be asked again within the caller's ``budget`` (it is
    being paced, or asked for a pause). ``wait`` is how long it would have taken."""

    def __init__(self, host: str, wait: float) -> None:
        self.host = host
        self.wait = wait
        super().__init__(f"{host} may not be asked for another {wait:.0f}s")


@dataclass
class _Host:
    active: int = 0
    next_start: float = float("-inf")
    paused_until: float = float("-inf")


class HostThrottle:
    """Per-host pacing, shared by threads: ``with throttle.slot(host): <one request>``.

    ``clock`` (monotonic seconds) and ``sleep`` are injectable, so tests record the waits
    instead of waiting. Waiting for a slot another thread holds is real waiting on a lock.
    """

    def __init__(
        self,
        *,
        concurrency: int = 1,
        interval: float = 1.0,
        retry_after_max: float = 3600.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.concurrency = concurrency
        self.interval = interval
        self.retry_after_max = retry_after_max
        self._clock = clock
        self._sleep = sleep
        self._hosts: dict[str, _Host] = {}
        self._changed = threading.Condition()

    @contextmanager
    def slot(self, host: str, *, budget: float | None = None) -> Iterator[None]:
        """Hold one of ``host``'s slots, starting no sooner than its pacing allows; raise
        ``HostBusy`` rather than wait longer than ``budget`` seconds for the start."""
        host = host.lower()
        ends = None if budget is None else time.monotonic() + budget
        with self._changed:
            while True:
                # Looked up afresh after each wait: an idle host's record may have been dropped.
                state = self._hosts.setdefault(host, _Host())
                if state.active < self.concurrency:
                    break
                left = None if ends is None else ends - time.monotonic()
                if left is not None and left <= 0:
                    raise HostBusy(host, budget or 0.0)
                self._changed.wait(left)
            now = self._clock()
            start = max(now, state.next_start, state.paused_until)
            wait = start - now
            if budget is not None and wait > budget:
                raise HostBusy(host, wait)
            state.active += 1
            state.next_start = start + self.interval
        try:
            if wait > 0:
                self._sleep(wait)
            yield
        finally:
            with self._changed:
                state.active -= 1
                self._forget_idle()
                self._changed.notify_all()

    def pause(self, host: str, seconds: float) -> float:
        """Start no request to ``host`` for ``seconds`` (at most ``retry_after_max``); return
        the pause actually applied."""
        seconds = min(max(0.0, seconds), self.retry_after_max)
        with self._changed:
            state = self._hosts.setdefault(host.lower(), _Host())
            state.paused_until = max(state.paused_until, self._clock() + seconds)
        return seconds

    def _forget_idle(self) -> None:
        if len(self._hosts) <= _FORGET_HOSTS_ABOVE:
            return
        now = self._clock()
        for host in [
            h
            for h, s in self._hosts.items()
            if s.active == 0 and s.next_start <= now and s.paused_until <= now
        ]:
            del self._hosts[host]


def host_of(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


class PageFetcher:
    """Fetches article pages within ``limits``, politely (module docstring). One per process,
    shared by every feed, so pacing and robots.txt hold per site across feeds."""

    def __init__(
        self,
        client: httpx.Client,
        *,
        limits: FetchLimits = PAGE_LIMITS,
        throttle: HostThrottle | None = None,
        robots_ttl: float = 3600.0,
        step: str = "fetch",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.limits = limits
        self.throttle = throttle if throttle is not None else HostThrottle(clock=clock)
        self.robots = RobotsCache(self._read_robots, ttl=robots_ttl, clock=clock, step=step)
        self._clock = clock
        self.step = step

    @classmethod
    def from_settings(
        cls, settings: Settings, client: httpx.Client, *, limits: FetchLimits, step: str
    ) -> PageFetcher:
        throttle = HostThrottle(
            concurrency=settings.fetch_host_concurrency,
            interval=settings.fetch_host_interval,
            retry_after_max=settings.fetch_retry_after_max,
        )
        return cls(
            client,
            limits=limits,
            throttle=throttle,
            robots_ttl=settings.fetch_robots_ttl,
            step=step,
        )

    def fetch(self, url: str, *, budget: float | None = None) -> FetchResult:
        """GET the page at ``url``: ``FetchError`` (``RobotsDisallowed``, ``AddressRefused``...)
        if it cannot be had, ``HostBusy`` if its host may not be asked within ``budget``."""
        hops: list[str] = []

        def gate(hop: str) -> AbstractContextManager[None]:
            hops.append(hop)
            self.robots.check(hop)
            return self.throttle.slot(host_of(hop), budget=budget)

        try:
            return fetch(
                self.client,
                url,
                limits=self.limits,
                accept="text/html, application/xhtml+xml;q=0.9, */*;q=0.5",
                clock=self._clock,
                gate=gate,
            )
        except FetchError as exc:
            if exc.status in (429, 503) and hops:
                asked = exc.retry_after if exc.retry_after is not None else DEFAULT_HOLD
                paused = self.throttle.pause(host_of(hops[-1]), asked)
                log.info(
                    "host asked for a pause host=%s status=%d pause=%.0fs",
                    host_of(hops[-1]), exc.status, paused,
                )  # fmt: skip
            raise

    def _read_robots(self, robots_url: str) -> bytes:
        # Outside the pacing: one request per site per TTL, and a page waiting for its slot
        # must not also wait behind its own robots.txt.
        limits = replace(ROBOTS_LIMITS, retry_after_max=self.limits.retry_after_max)
        return fetch(
            self.client,
            robots_url,
            limits=limits,
            accept="text/plain",
            clock=self._clock,
            truncate=True,
        ).content

    def close(self) -> None:
        self.client.close()
