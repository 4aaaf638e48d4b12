"""Defensive fetching: schemes, size caps, deadlines, conditional GET, Retry-After."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from producers.fetch import FetchError, FetchLimits, check_url, fetch, make_client


def client_for(handler: httpx.MockTransport) -> httpx.Client:
    return make_client(transport=handler)


class Ticker:
    """A fake monotonic clock that advances one second per reading."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


def drip(chunks: int) -> Iterator[bytes]:
    for _ in range(chunks):
        yield b"x"


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://x/feed", "/relative", "http://"])
def test_only_http_and_https(url: str) -> None:
    with pytest.raises(FetchError, match="only http:// and https://"):
        check_url(url)


def test_conditional_get_sends_validators_and_understands_304() -> None:
    seen: list[httpx.Headers] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers)
        return httpx.Response(304)

    result = fetch(
        client_for(httpx.MockTransport(handler)),
        "https://feed.example/rss",
        etag='"v1"',
        last_modified="Mon, 04 Mar 2024 10:00:00 GMT",
    )
    assert result.not_modified
    assert result.content == b""
    assert seen[0]["If-None-Match"] == '"v1"'
    assert seen[0]["If-Modified-Since"] == "Mon, 04 Mar 2024 10:00:00 GMT"
    assert seen[0]["User-Agent"].startswith("wirehose/")


def test_ok_response_keeps_new_validators() -> None:
    transport = httpx.MockTransport(
        lambda r: httpx.Response(
            200, content=b"<rss/>", headers={"ETag": '"v2"', "Last-Modified": "x"}
        )
    )
    result = fetch(client_for(transport), "https://feed.example/rss")
    assert (result.content, result.etag, result.last_modified) == (b"<rss/>", '"v2"', "x")


def test_declared_oversize_is_refused_before_reading() -> None:
    transport = httpx.MockTransport(
        lambda r: httpx.Response(
            200, headers={"Content-Length": str(100 * 1024 * 1024)}, content=b""
        )
    )
    with pytest.raises(FetchError, match="declares 104,857,600 bytes"):
        fetch(client_for(transport), "https://big.example/", limits=FetchLimits(max_bytes=1024))


def test_streamed_oversize_is_cut_at_the_cap() -> None:
    transport = httpx.MockTransport(lambda r: httpx.Response(200, content=drip(5000)))
    with pytest.raises(FetchError, match="more than the 1,000 byte cap"):
        fetch(client_for(transport), "https://big.example/", limits=FetchLimits(max_bytes=1000))


def test_slow_drip_hits_the_deadline() -> None:
    transport = httpx.MockTransport(lambda r: httpx.Response(200, content=drip(100)))
    with pytest.raises(FetchError, match="longer than the 10s deadline"):
        fetch(
            client_for(transport),
            "https://slow.example/",
            limits=FetchLimits(deadline=10),
            clock=Ticker(),
        )


def test_http_errors_carry_status_and_retry_after() -> None:
    transport = httpx.MockTransport(lambda r: httpx.Response(429, headers={"Retry-After": "90"}))
    with pytest.raises(FetchError) as err:
        fetch(client_for(transport), "https://busy.example/")
    assert (err.value.status, err.value.retry_after) == (429, 90.0)
    assert "HTTP 429" in str(err.value)


def test_connection_errors_become_fetch_errors() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with pytest.raises(FetchError, match=r"cannot fetch https://down\.example/: ConnectError"):
        fetch(client_for(httpx.MockTransport(refuse)), "https://down.example/")
