"""Defensive fetching: schemes, size caps, deadlines, conditional GET, Retry-After, redirects
(followed here, hop by hop, through the caller's gate). The address guard: test_guard.py."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, nullcontext

import httpx
import pytest

from producers.fetch import (
    FetchError,
    FetchLimits,
    check_url,
    fetch,
    make_client,
    parse_retry_after,
)


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


def test_the_client_follows_no_redirects_and_no_environment_proxy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.internal:3128")
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    client = make_client()
    assert client.follow_redirects is False
    assert client.trust_env is False
    assert client._mounts == {}  # type: ignore[attr-defined]  # no proxy routes


def redirecting(hops: dict[str, httpx.Response]) -> httpx.MockTransport:
    return httpx.MockTransport(lambda request: hops[str(request.url)])


def test_redirects_pass_the_gate_hop_by_hop() -> None:
    transport = redirecting(
        {
            "https://a.example/x": httpx.Response(301, headers={"Location": "https://b.example/y"}),
            "https://b.example/y": httpx.Response(302, headers={"Location": "/z?q=1"}),
            "https://b.example/z?q=1": httpx.Response(200, content=b"end"),
        }
    )
    gated: list[str] = []

    def gate(url: str) -> AbstractContextManager[object]:
        gated.append(url)
        return nullcontext()

    result = fetch(client_for(transport), "https://a.example/x", gate=gate)
    assert (result.url, result.content) == ("https://b.example/z?q=1", b"end")
    assert gated == ["https://a.example/x", "https://b.example/y", "https://b.example/z?q=1"]


def test_a_gate_that_refuses_stops_the_hop_before_any_request() -> None:
    requested: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requested.append(str(request.url))
        return httpx.Response(302, headers={"Location": "https://b.example/"})

    def gate(url: str) -> AbstractContextManager[object]:
        if "b.example" in url:
            raise FetchError(f"no {url}")
        return nullcontext()

    with pytest.raises(FetchError, match="no https://b"):
        fetch(client_for(httpx.MockTransport(handler)), "https://a.example/", gate=gate)
    assert requested == ["https://a.example/"]


def test_a_redirect_may_not_leave_http() -> None:
    transport = redirecting(
        {"https://a.example/": httpx.Response(302, headers={"Location": "file:///etc/passwd"})}
    )
    with pytest.raises(FetchError, match=r"redirects to 'file:.*only http:// and https://"):
        fetch(client_for(transport), "https://a.example/")


def test_truncate_keeps_the_first_bytes_up_to_the_cap() -> None:
    transport = httpx.MockTransport(lambda r: httpx.Response(200, content=b"x" * 5000))
    result = fetch(
        client_for(transport),
        "https://a.example/robots.txt",
        limits=FetchLimits(max_bytes=1000),
        truncate=True,
    )
    assert result.content == b"x" * 1000


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", 120.0),
        ("0", 0.0),
        ("99999", 3600.0),  # capped
        ("Wed, 21 Oct 2015 07:30:00 GMT", 90.0),  # now is 07:28:30
        ("Wed, 21 Oct 2015 07:00:00 GMT", 0.0),  # in the past
        ("Thu, 22 Oct 2015 07:28:30 GMT", 3600.0),  # a day: capped
        ("soon", None),
        ("-5", None),
        ("", None),
    ],
)
def test_retry_after_in_seconds_or_as_an_http_date(value: str, expected: float | None) -> None:
    now = 1445412510.0  # Wed, 21 Oct 2015 07:28:30 GMT
    assert parse_retry_after(value, now=now, cap=3600.0) == expected


def test_an_http_date_retry_after_is_measured_from_the_server_date() -> None:
    transport = httpx.MockTransport(
        lambda r: httpx.Response(
            503,
            headers={
                "Date": "Wed, 21 Oct 2015 07:28:30 GMT",
                "Retry-After": "Wed, 21 Oct 2015 07:33:30 GMT",
            },
        )
    )
    with pytest.raises(FetchError) as err:
        fetch(client_for(transport), "https://busy.example/")
    assert (err.value.status, err.value.retry_after) == (503, 300.0)
