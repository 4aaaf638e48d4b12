"""Fetch bytes from the web defensively: feeds and article pages come from strangers.

Every fetch is bounded three ways, because each guards against a different failure:

* a size cap, checked against ``Content-Length`` and again while streaming the *decoded*
  body (so a 100 MB response or a gzip bomb is cut off at the cap, not read into memory);
* connect and read timeouts (a server that accepts and then says nothing);
* a total deadline checked between chunks (a server that drips one byte a second never
  trips a read timeout but must not hold a feed for an hour).

Only ``http`` and ``https`` URLs are fetched. Conditional GET (``ETag`` /
``Last-Modified``) lets an unchanged feed cost one round trip and no parsing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

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


FEED_LIMITS = FetchLimits()
# Article pages: smaller cap and shorter deadline, there may be dozens per feed poll.
PAGE_LIMITS = FetchLimits(max_bytes=5 * 1024 * 1024, deadline=30.0)


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
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise FetchError(f"only http:// and https:// URLs can be fetched, got {url!r}")
    return url


def make_client(
    limits: FetchLimits = FetchLimits(), *, transport: httpx.BaseTransport | None = None
) -> httpx.Client:
    """An ``httpx.Client`` with the limits' timeouts; tests pass an ``httpx.MockTransport``."""
    return httpx.Client(
        transport=transport,
        timeout=httpx.Timeout(limits.read_timeout, connect=limits.connect_timeout),
        follow_redirects=True,
        max_redirects=limits.max_redirects,
        headers={"User-Agent": USER_AGENT},
    )


def fetch(
    client: httpx.Client,
    url: str,
    *,
    limits: FetchLimits = FetchLimits(),
    etag: str | None = None,
    last_modified: str | None = None,
    accept: str = "*/*",
    clock: Callable[[], float] = time.monotonic,
) -> FetchResult:
    """GET ``url`` within ``limits``; raise ``FetchError`` for anything but 2xx or 304."""
    check_url(url)
    headers = {"Accept": accept}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    started = clock()
    try:
        with client.stream("GET", url, headers=headers) as response:
            check_url(str(response.url))  # a redirect must not leave http(s) either
            if response.status_code == 304:
                return _result(response, b"")
            if response.status_code >= 400:
                after = response.headers.get("Retry-After", "")
                raise FetchError(
                    f"HTTP {response.status_code} from {url}",
                    status=response.status_code,
                    retry_after=float(after) if after.isdigit() else None,
                )
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > limits.max_bytes:
                raise FetchError(
                    f"{url} declares {int(declared):,} bytes, over the {limits.max_bytes:,} cap"
                )
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > limits.max_bytes:
                    raise FetchError(f"{url} sent more than the {limits.max_bytes:,} byte cap")
                if clock() - started > limits.deadline:
                    raise FetchError(f"{url} took longer than the {limits.deadline:g}s deadline")
                chunks.append(chunk)
            return _result(response, b"".join(chunks))
    except httpx.HTTPError as exc:  # timeouts, refused connections, too many redirects
        raise FetchError(f"cannot fetch {url}: {type(exc).__name__}: {exc}") from exc


def _result(response: httpx.Response, content: bytes) -> FetchResult:
    return FetchResult(
        url=str(response.url),
        status=response.status_code,
        content=content,
        content_type=response.headers.get("Content-Type", ""),
        etag=response.headers.get("ETag"),
        last_modified=response.headers.get("Last-Modified"),
    )
