"""Fetch bytes from the web defensively: feeds and article pages come from strangers.

Every fetch is bounded three ways, because each guards against a different failure:

* a size cap, checked against ``Content-Length`` and again while streaming the *decoded*
  body (so a 100 MB response or a gzip bomb is cut off at the cap, not read into memory);
* connect and read timeouts (a server that accepts and then says nothing);
* a total deadline checked between chunks (a server that drips one byte a second never
  trips a read timeout but must not hold a feed for an hour).

Only ``http`` and ``https`` URLs are fetched, and only from public addresses: every client made
here connects through ``producers.guard`` (checked at each redirect hop, which is followed
here, by hand, so each hop is also checked for its scheme and passes the caller's ``gate``).
Conditional GET (``ETag`` / ``Last-Modified``) lets an unchanged feed cost one round trip and no
parsing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext, suppress
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import httpx

from producers.guard import (
    PUBLIC_ONLY,
    AddressPolicy,
    GuardedBackend,
    GuardedTransport,
    Resolver,
    system_resolver,
)
from wirehose import __version__
from wirehose.core.errors import FetchError

USER_AGENT = f"wirehose/{__version__} (+https://example.invalid/wirehose)"


@dataclass(frozen=True)
class FetchLimits:
    """Bounds for one fetch. Defaults suit feeds and article pages alike."""

    max_bytes: int = 10 * 1024 * 1024
    connect_timeout: float = 10.0
    read_timeout: float = 20.0
    deadline: float = 60.0
    max_redirects: int = 5
    retry_after_max: float = 3600.0  # a longer Retry-After is cut to this


FEED_LIMITS = FetchLimits()
# Article pages: smaller cap and shorter deadline, there may be dozens per feed poll.
PAGE_LIMITS = FetchLimits(max_bytes=5 * 1024 * 1024, deadline=30.0)
# robots.txt: Google reads the first 500 KiB and ignores the rest; it is a small file or none.
ROBOTS_LIMITS = FetchLimits(
    max_bytes=500 * 1024, connect_timeout=5.0, read_timeout=5.0, deadline=10.0
)

#: Called with the URL of each hop before it is requested; the request runs inside the context
#: it returns (a per-host slot, say) and nothing is requested if it raises.
Gate = Callable[[str], AbstractContextManager[object]]


@dataclass(frozen=True)
class FetchResult:
    url: str  # after redirects
    status: int
    content: bytes
    content_type: str
    etag: str | None
    last_modified: str | None

    @property
    def not_modified(self) -> bool:
        return self.status == 304


def check_url(url: str) -> str:
    """Refuse anything but absolute http(s) URLs (no ``file:``, no ``ftp:``, no bare paths)."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a port that is out of range or not a number
    except ValueError as exc:  # "http://[::1", "http://host:99999"
        raise FetchError(f"{url!r} is not a valid URL: {exc}") from exc
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise FetchError(f"only http:// and https:// URLs can be fetched, got {url!r}")
    return url


def make_client(
    limits: FetchLimits = FetchLimits(),
    *,
    policy: AddressPolicy = PUBLIC_ONLY,
    resolver: Resolver = system_resolver,
    step: str = "fetch",
    transport: httpx.BaseTransport | None = None,
) -> httpx.Client:
    """An ``httpx.Client`` with the limits' timeouts that connects to public addresses only,
    and to those ``policy`` admits (see ``producers.guard``); ``step`` labels its refusals.

    ``resolver`` turns host names into addresses (tests pass a fake). ``transport`` replaces
    the network altogether, guard included (tests pass an ``httpx.MockTransport``).
    """
    if transport is None:
        transport = GuardedTransport(GuardedBackend(policy, resolver=resolver, step=step))
    return httpx.Client(
        transport=transport,
        timeout=httpx.Timeout(limits.read_timeout, connect=limits.connect_timeout),
        follow_redirects=False,  # fetch() follows them, one checked hop at a time
        trust_env=False,  # an environment proxy would take connections past the guard
        headers={"User-Agent": USER_AGENT},
    )


def parse_retry_after(value: str, *, now: float, cap: float) -> float | None:
    """``Retry-After`` in seconds from now, whether given as seconds or as an HTTP date, and
    at most ``cap``; ``None`` when absent or unreadable. ``now`` is a Unix time (the
    response's ``Date`` when it has one, so a server's clock skew cancels out)."""
    value = value.strip()
    if not value:
        return None
    if value.isdigit():
        return min(float(value), cap)
    try:
        when = parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return min(max(0.0, when - now), cap)


def fetch(
    client: httpx.Client,
    url: str,
    *,
    limits: FetchLimits = FetchLimits(),
    etag: str | None = None,
    last_modified: str | None = None,
    accept: str = "*/*",
    clock: Callable[[], float] = time.monotonic,
    gate: Gate | None = None,
    truncate: bool = False,
) -> FetchResult:
    """GET ``url`` within ``limits``; raise ``FetchError`` for anything but 2xx or 304.

    Redirects are followed here, up to ``limits.max_redirects``, each hop checked like the
    first. ``gate`` wraps each hop (robots.txt and per-host pacing for pages); time spent
    waiting in it does not count against the deadline. With ``truncate`` a body over the cap
    is cut at the cap instead of refused (robots.txt).
    """
    check_url(url)
    headers = {"Accept": accept}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    spent = 0.0  # seconds on the wire so far, over all hops
    current = url
    status = 0
    for _hop in range(limits.max_redirects + 1):
        with gate(current) if gate is not None else nullcontext():
            started = clock()
            try:
                result = _get(client, current, headers, limits, clock, spent - started, truncate)
            # Timeouts, refused connections, broken streams, and URLs httpx cannot parse.
            except (httpx.HTTPError, httpx.InvalidURL) as exc:
                raise FetchError(f"cannot fetch {current}: {type(exc).__name__}: {exc}") from exc
            spent += clock() - started
        if isinstance(result, FetchResult):
            return result
        status, current = result
    raise FetchError(
        f"{url} redirected more than {limits.max_redirects} times", status=status or None
    )


def _get(
    client: httpx.Client,
    url: str,
    headers: dict[str, str],
    limits: FetchLimits,
    clock: Callable[[], float],
    offset: float,
    truncate: bool,
) -> FetchResult | tuple[int, str]:
    """One request: the result, or ``(status, next URL)`` for a redirect. ``clock() + offset``
    is the time spent on the whole fetch so far."""
    timeout = httpx.Timeout(limits.read_timeout, connect=limits.connect_timeout)
    with client.stream("GET", url, headers=headers, timeout=timeout) as response:
        if response.has_redirect_location:
            target = str(response.url.join(response.headers["Location"]))
            try:
                return response.status_code, check_url(target)
            except FetchError as exc:
                raise FetchError(f"{url} redirects to {target!r}: {exc}") from exc
        if response.status_code == 304:
            return _result(response, b"")
        if response.status_code >= 400:
            raise FetchError(
                f"HTTP {response.status_code} from {url}",
                status=response.status_code,
                retry_after=_retry_after(response, limits),
            )
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > limits.max_bytes and not truncate:
            raise FetchError(
                f"{url} declares {int(declared):,} bytes, over the {limits.max_bytes:,} cap"
            )
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_bytes():
            if size + len(chunk) > limits.max_bytes:
                if not truncate:
                    raise FetchError(f"{url} sent more than the {limits.max_bytes:,} byte cap")
                chunks.append(chunk[: limits.max_bytes - size])
                break
            size += len(chunk)
            if clock() + offset > limits.deadline:
                raise FetchError(f"{url} took longer than the {limits.deadline:g}s deadline")
            chunks.append(chunk)
        return _result(response, b"".join(chunks))


def _retry_after(response: httpx.Response, limits: FetchLimits) -> float | None:
    if response.status_code not in (429, 503):
        return None
    now = time.time()
    date = response.headers.get("Date")
    if date:  # a garbled Date leaves our own clock
        with suppress(TypeError, ValueError, IndexError, OverflowError):
            now = parsedate_to_datetime(date).timestamp()
    return parse_retry_after(
        response.headers.get("Retry-After", ""), now=now, cap=limits.retry_after_max
    )


def _result(response: httpx.Response, content: bytes) -> FetchResult:
    return FetchResult(
        url=str(response.url),
        status=response.status_code,
        content=content,
        content_type=response.headers.get("Content-Type", ""),
        etag=response.headers.get("ETag"),
        last_modified=response.headers.get("Last-Modified"),
    )
