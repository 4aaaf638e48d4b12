"""robots.txt for article pages: parsed with protego, cached per site, read the way Google does.

Only page fetches ask (``producers.polite.PageFetcher``): a feed is published to be polled, so
it is fetched whatever robots.txt says. Our user-agent token is ``wirehose``; a site's group
for ``wirehose`` applies, else its ``*`` group.

Rules are kept per origin (scheme, host and port, the scope RFC 9309 gives a robots.txt) for
``ttl`` seconds. What the answer to ``GET /robots.txt`` means, following Google's robots.txt
specification:

* **2xx**: the file's rules. Only the first 500 KiB are read; the rest is ignored.
* **redirects** are followed up to five hops, each through the address guard; more than that
  counts as no file.
* **4xx other than 429** (404, but also 401 and 403): there is no robots.txt, everything is
  allowed.
* **5xx, 429, a timeout, a connection failure**: the site is unreachable, so everything is
  disallowed for ``error_ttl`` seconds, after which robots.txt is asked for again. If an earlier
  copy was read, its rules stay in force instead.

A refused address is not an answer: ``AddressRefused`` passes through to the caller, whose page
on the same host would be refused anyway.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from protego import Protego

from wirehose.core.errors import AddressRefused, FetchError, RobotsDisallowed
from wirehose.core.metrics import FETCHES_REFUSED

log = logging.getLogger(__name__)

USER_AGENT_TOKEN = "wirehose"  # noqa: S105 - a robots.txt product token, not a secret

#: ``robots.txt`` URL -> its body; raises ``FetchError`` (with ``status`` when there was one).
Loader = Callable[[str], bytes]


@dataclass(frozen=True)
class _Rules:
    parsed: Protego | None  # None: no file, or the site unreachable (then ``unreachable`` says)
    expires: float
    unreachable: str | None = None


def origin_of(url: str) -> str:
    """``https://Example.com:443/a?b`` -> ``https://example.com``: the scope of one robots.txt."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    default = {"http": 80, "https": 443}.get(parts.scheme)
    port = parts.port if parts.port is not None and parts.port != default else None
    return f"{parts.scheme}://{host}" + (f":{port}" if port is not None else "")


class RobotsCache:
    """Answers "may wirehose fetch this page?" per the site's robots.txt (module docstring).

    ``load`` fetches a robots.txt URL; ``clock`` is monotonic seconds (tests pass a fake).
    Safe to share between threads: each site's file is fetched once per ``ttl``, however
    many threads ask at the same time.
    """

    def __init__(
        self,
        load: Loader,
        *,
        ttl: float = 3600.0,
        error_ttl: float = 600.0,
        clock: Callable[[], float] = time.monotonic,
        step: str = "fetch",
        max_sites: int = 10_000,
    ) -> None:
        self._load = load
        self.ttl = ttl
        self.error_ttl = error_ttl
        self._clock = clock
        self.step = step
        self.max_sites = max_sites
        self._rules: dict[str, _Rules] = {}
        self._lock = threading.Lock()
        self._loading: dict[str, threading.Lock] = {}

    def check(self, url: str) -> None:
        """Return if ``url`` may be fetched; raise ``RobotsDisallowed`` if not."""
        origin = origin_of(url)
        rules = self._current(origin)
        if rules.unreachable is not None:
            reason = f"robots.txt of {origin} is unreachable ({rules.unreachable})"
        elif rules.parsed is not None and not rules.parsed.can_fetch(url, USER_AGENT_TOKEN):
            reason = f"robots.txt of {origin} disallows {url} for {USER_AGENT_TOKEN}"
        else:
            return
        FETCHES_REFUSED.labels(step=self.step, reason="robots").inc()
        raise RobotsDisallowed(reason)

    def _current(self, origin: str) -> _Rules:
        with self._lock:
            rules = self._rules.get(origin)
            if rules is not None and rules.expires > self._clock():
                return rules
            loading = self._loading.setdefault(origin, threading.Lock())
        with loading:  # one fetch per site: the other threads wait for it and use its answer
            with self._lock:
                rules = self._rules.get(origin)
                if rules is not None and rules.expires > self._clock():
                    return rules
            fresh = self._fetch(origin, rules)
            with self._lock:
                self._rules[origin] = fresh
                self._loading.pop(origin, None)
                self._forget_old()
            return fresh

    def _fetch(self, origin: str, previous: _Rules | None) -> _Rules:
        try:
            body = self._load(f"{origin}/robots.txt")
        except AddressRefused:
            raise
        except FetchError as exc:
            now = self._clock()
            if exc.status is not None and 300 <= exc.status < 500 and exc.status != 429:
                return _Rules(None, now + self.ttl)  # no robots.txt: no restrictions
            kept = previous is not None and previous.parsed is not None
            log.warning(
                "robots.txt unreachable, pages wait origin=%s retry_in=%.0fs using=%s error=%s",
                origin, self.error_ttl, "earlier-copy" if kept else "disallow-all", exc,
            )  # fmt: skip
            if previous is not None and previous.parsed is not None:
                return _Rules(previous.parsed, now + self.error_ttl)
            return _Rules(None, now + self.error_ttl, unreachable=str(exc))
        parsed = Protego.parse(body.decode("utf-8-sig", errors="replace"))
        return _Rules(parsed, self._clock() + self.ttl)

    def _forget_old(self) -> None:
        if len(self._rules) <= self.max_sites:
            return
        now = self._clock()
        for origin in [o for o, r in self._rules.items() if r.expires <= now]:
            del self._rules[origin]
        while len(self._rules) > self.max_sites:  # still too many: the soonest to expire go
            del self._rules[min(self._rules, key=lambda o: self._rules[o].expires)]
