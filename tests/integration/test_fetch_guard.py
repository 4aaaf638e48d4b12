"""The address guard and robots.txt over real sockets, against HTTP servers on 127.0.0.1.

Name resolution is injected: ``feeds.example`` resolves to whatever a test says, and the
system resolver is made to fail for it, so a request that reaches a server can only have
gone to the address the guard checked.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from producers.fetch import FetchLimits, fetch, make_client
from producers.guard import AddressPolicy
from producers.polite import HostThrottle, PageFetcher
from tests.factories import FakeClock
from wirehose.core import metrics
from wirehose.core.errors import AddressRefused, RobotsDisallowed


class Server:
    """One HTTP server on 127.0.0.1 with a table of routes and a log of (path, Host)."""

    def __init__(self) -> None:
        self.routes: dict[str, tuple[int, dict[str, str], bytes]] = {}
        self.seen: list[tuple[str, str]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                owner.seen.append((self.path, self.headers.get("Host", "")))
                status, headers, body = owner.routes.get(self.path, (404, {}, b"no"))
                self.send_response(status)
                for name, value in {"Content-Length": str(len(body)), **headers}.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = int(self.httpd.server_address[1])
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def site() -> Iterator[Server]:
    server = Server()
    yield server
    server.close()


@pytest.fixture
def inside() -> Iterator[Server]:
    """Stands in for an internal service (Elasticsearch on loopback): must never be reached."""
    server = Server()
    server.routes["/_cluster/settings"] = (200, {}, b'{"persistent":{}}')
    yield server
    server.close()


@pytest.fixture(autouse=True)
def no_system_dns_for_feeds_example(monkeypatch: pytest.MonkeyPatch) -> None:
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(host, str | bytes) and "example" in str(host):
            raise AssertionError(f"{host!r} was looked up outside the injected resolver")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


class Resolver:
    """Each lookup of a name takes the next answer (the last one repeats)."""

    def __init__(self, *answers: Sequence[str]) -> None:
        self.answers = list(answers)
        self.asked = 0

    def __call__(self, host: str, port: int) -> Sequence[str]:
        assert host == "feeds.example"
        self.asked += 1
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


def refused(reason: str) -> float:
    return metrics.sample_value(
        "wirehose_producer_fetches_refused_total", {"step": "fetch", "reason": reason}
    )


def test_loopback_is_refused_unless_allowed(site: Server) -> None:
    site.routes["/feed"] = (200, {}, b"<rss/>")
    url = f"http://127.0.0.1:{site.port}/feed"
    before = refused("loopback")
    with pytest.raises(AddressRefused, match="loopback"):
        fetch(make_client(), url)
    assert site.seen == []
    assert refused("loopback") - before == 1
    allowed = make_client(policy=AddressPolicy.allowing("127.0.0.1"))
    assert fetch(allowed, url).content == b"<rss/>"
    assert site.seen == [("/feed", f"127.0.0.1:{site.port}")]


@pytest.mark.parametrize(
    ("host", "reason"),
    [("[::1]", "loopback"), ("[::ffff:127.0.0.1]", "loopback"), ("169.254.169.254", "link-local")],
)
def test_other_loopback_and_metadata_forms_are_refused(
    site: Server, host: str, reason: str
) -> None:
    with pytest.raises(AddressRefused) as err:
        fetch(make_client(), f"http://{host}:{site.port}/")
    assert err.value.reason == reason
    assert site.seen == []


def test_a_name_resolving_to_a_private_address_is_refused(site: Server) -> None:
    resolver = Resolver(["10.0.0.5"])
    client = make_client(policy=AddressPolicy.allowing("127.0.0.1"), resolver=resolver)
    with pytest.raises(AddressRefused, match=r"feeds\.example resolves to 10\.0\.0\.5"):
        fetch(client, f"http://feeds.example:{site.port}/feed")
    assert site.seen == []


def test_the_connection_goes_to_the_checked_address_and_a_rebinding_is_refused(
    site: Server,
) -> None:
    site.routes["/feed"] = (200, {}, b"<rss/>")
    # First lookup: 127.0.0.1 (allowed on purpose). Any later one: a private address.
    resolver = Resolver(["127.0.0.1"], ["10.0.0.5"])
    client = make_client(policy=AddressPolicy.allowing("127.0.0.1"), resolver=resolver)
    result = fetch(client, f"http://feeds.example:{site.port}/feed")
    assert result.content == b"<rss/>"
    # It reached the server behind the first answer, asking for the name, after one lookup.
    assert site.seen == [("/feed", f"feeds.example:{site.port}")]
    assert resolver.asked == 1
    # The server closed the connection; the next one is resolved and checked afresh, and
    # the rebound answer is refused before anything is sent.
    with pytest.raises(AddressRefused, match=r"10\.0\.0\.5"):
        fetch(client, f"http://feeds.example:{site.port}/feed")
    assert len(site.seen) == 1


def test_a_redirect_from_an_allowed_name_to_loopback_is_refused(
    site: Server, inside: Server
) -> None:
    target = f"http://127.0.0.1:{inside.port}/_cluster/settings"
    site.routes["/story"] = (302, {"Location": target}, b"")
    # The feed host is allowed by name (it resolves to loopback here); its redirect target
    # is a loopback address that is not.
    client = make_client(
        policy=AddressPolicy.allowing("feeds.example"), resolver=Resolver(["127.0.0.1"])
    )
    with pytest.raises(AddressRefused, match=rf"127\.0\.0\.1:{inside.port}"):
        fetch(client, f"http://feeds.example:{site.port}/story")
    assert [path for path, _ in site.seen] == ["/story"]
    assert inside.seen == []


def test_pages_honour_robots_txt_over_the_guard(site: Server) -> None:
    site.routes["/robots.txt"] = (200, {}, b"User-agent: wirehose\nDisallow: /private/\n")
    site.routes["/news/1"] = (200, {}, b"<p>one</p>")
    clock = FakeClock()
    pages = PageFetcher(
        make_client(policy=AddressPolicy.allowing("127.0.0.1")),
        limits=FetchLimits(),
        throttle=HostThrottle(interval=1.0, clock=clock, sleep=clock.sleep),
        clock=clock,
    )
    base = f"http://127.0.0.1:{site.port}"
    assert pages.fetch(f"{base}/news/1").content == b"<p>one</p>"
    with pytest.raises(RobotsDisallowed):
        pages.fetch(f"{base}/private/memo")
    assert pages.fetch(f"{base}/news/1").content == b"<p>one</p>"
    assert [path for path, _ in site.seen] == ["/robots.txt", "/news/1", "/news/1"]
    assert clock.sleeps == [1.0]


@pytest.mark.parametrize(("status", "fetched"), [(404, True), (500, False), (503, False)])
def test_a_missing_robots_txt_allows_and_a_broken_one_disallows(
    site: Server, status: int, fetched: bool
) -> None:
    site.routes["/robots.txt"] = (status, {}, b"")
    site.routes["/news/1"] = (200, {}, b"<p>one</p>")
    pages = PageFetcher(make_client(policy=AddressPolicy.allowing("127.0.0.1")))
    url = f"http://127.0.0.1:{site.port}/news/1"
    if fetched:
        assert pages.fetch(url).content == b"<p>one</p>"
    else:
        with pytest.raises(RobotsDisallowed, match="unreachable"):
            pages.fetch(url)
    assert ("/news/1" in [path for path, _ in site.seen]) is fetched
