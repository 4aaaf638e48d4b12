"""The address guard: what is not public, the allow-list, and that the client connects only to
the address it checked, at every redirect hop. The network is a fake ``httpcore`` backend, so
each test sees exactly which addresses were connected to and what was sent."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from ipaddress import ip_address
from typing import Any

import httpcore
import pytest
from pydantic import ValidationError

from producers.fetch import FetchLimits, fetch, make_client
from producers.guard import (
    PUBLIC_ONLY,
    AddressPolicy,
    GuardedBackend,
    GuardedTransport,
    non_public_reason,
)
from wirehose.core import metrics
from wirehose.core.errors import AddressRefused, FetchError
from wirehose.core.settings import Settings

PUBLIC = "93.184.216.34"


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("127.255.0.9", "loopback"),
        ("10.0.0.5", "private"),
        ("172.16.3.4", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "link-local"),  # the cloud metadata service
        ("100.64.0.1", "carrier-grade-nat"),
        ("0.0.0.0", "unspecified"),
        ("0.1.2.3", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("255.255.255.255", "reserved"),
        ("192.0.2.1", "non-global"),  # documentation range
        ("198.18.0.1", "non-global"),  # benchmarking range
        ("::1", "loopback"),
        ("::", "unspecified"),
        ("fe80::1", "link-local"),
        ("fc00::1", "private"),
        ("fd12:3456::1", "private"),
        ("fec0::1", "private"),  # deprecated site-local, which ipaddress calls global
        ("ff02::1", "multicast"),
        ("::ffff:127.0.0.1", "loopback"),  # IPv4-mapped
        ("::ffff:10.0.0.5", "private"),
        ("::ffff:169.254.169.254", "link-local"),
        ("64:ff9b::a00:5", "private"),  # NAT64 of 10.0.0.5
        ("2002:7f00:1::", "loopback"),  # 6to4 of 127.0.0.1
        ("::7f00:1", "reserved"),  # deprecated IPv4-compatible ::127.0.0.1
    ],
)
def test_non_public_addresses_and_why(address: str, reason: str) -> None:
    assert non_public_reason(ip_address(address)) == reason


@pytest.mark.parametrize(
    "address", [PUBLIC, "8.8.8.8", "2606:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808"]
)
def test_public_addresses_pass(address: str) -> None:
    assert non_public_reason(ip_address(address)) is None


def test_allow_list_admits_networks_and_names_and_nothing_else() -> None:
    policy = AddressPolicy.allowing("127.0.0.1, 10.1.0.0/16, feeds.corp.example, *.intra.example")
    assert policy.refusal("anything", ip_address("127.0.0.1")) is None
    assert policy.refusal("anything", ip_address("::ffff:127.0.0.1")) is None  # same address
    assert policy.refusal("anything", ip_address("10.1.200.3")) is None
    assert policy.refusal("anything", ip_address("127.0.0.2")) == "loopback"
    assert policy.refusal("anything", ip_address("10.2.0.1")) == "private"
    assert policy.refusal("FEEDS.corp.example.", ip_address("10.9.9.9")) is None
    assert policy.refusal("news.intra.example", ip_address("192.168.0.4")) is None
    assert policy.refusal("intra.example", ip_address("192.168.0.4")) == "private"
    assert policy.refusal("evilintra.example", ip_address("192.168.0.4")) == "private"
    assert PUBLIC_ONLY.refusal("news.example", ip_address(PUBLIC)) is None


@pytest.mark.parametrize("bad", ["10.0.0.0/33", "http://10.0.0.1/", "*", "10.0.0.1:9200", "a b"])
def test_a_malformed_allow_list_is_a_settings_error(bad: str) -> None:
    with pytest.raises(ValidationError, match="neither a network"):
        Settings(fetch_allow=bad)


def test_the_allow_list_setting_is_normalised() -> None:
    settings = Settings(fetch_allow=" 127.0.0.1 ,Feeds.Corp.Example., 10.1.2.3/16,")
    assert settings.fetch_allow == "127.0.0.1/32,10.1.0.0/16,feeds.corp.example"
    assert AddressPolicy.from_settings(settings).hosts == ("feeds.corp.example",)


# --- through the real httpx client, on a fake network -------------------------------------------


class FakeStream(httpcore.NetworkStream):
    def __init__(self, response: bytes) -> None:
        self.response = [response]
        self.sent = b""
        self.tls_name: str | None = None

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self.response.pop(0) if self.response else b""

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self.sent += buffer

    def close(self) -> None:
        pass

    def start_tls(
        self, ssl_context: Any, server_hostname: str | None = None, timeout: Any = None
    ) -> FakeStream:
        self.tls_name = server_hostname
        return self

    def get_extra_info(self, info: str) -> Any:
        return None


class FakeNetwork(httpcore.NetworkBackend):
    """Answers every connection with ``respond(address)``; records where it connected."""

    def __init__(self, respond: Callable[[str], bytes]) -> None:
        self.respond = respond
        self.streams: list[tuple[str, FakeStream]] = []

    @property
    def connected(self) -> list[str]:
        return [address for address, _ in self.streams]

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        stream = FakeStream(self.respond(host))
        self.streams.append((host, stream))
        return stream


def http(status: int = 200, body: bytes = b"<html>ok</html>", **headers: str) -> bytes:
    head = [f"HTTP/1.1 {status} X", f"Content-Length: {len(body)}", "Connection: close"]
    head += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


class Resolver:
    """A fake DNS: ``answers[name]`` is a list of answers, one per lookup (the last repeats)."""

    def __init__(self, **answers: Sequence[Sequence[str]]) -> None:
        self.answers = {name.replace("_", "."): list(a) for name, a in answers.items()}
        self.asked: list[str] = []

    def __call__(self, host: str, port: int) -> Sequence[str]:
        self.asked.append(host)
        answers = self.answers[host]
        return answers.pop(0) if len(answers) > 1 else answers[0]


def guarded(network: FakeNetwork, resolver: Resolver, policy: AddressPolicy = PUBLIC_ONLY) -> Any:
    backend = GuardedBackend(policy, resolver=resolver, step="unit", inner=network)
    return make_client(transport=GuardedTransport(backend))


def refused(reason: str) -> float:
    return metrics.sample_value(
        "wirehose_producer_fetches_refused_total", {"step": "unit", "reason": reason}
    )


def test_a_name_resolving_to_a_private_address_is_refused_before_connecting(
    caplog: pytest.LogCaptureFixture,
) -> None:
    network = FakeNetwork(lambda address: http())
    before = refused("private")
    with caplog.at_level(logging.WARNING), pytest.raises(AddressRefused) as err:
        fetch(guarded(network, Resolver(feeds_example=[["10.0.0.5"]])), "http://feeds.example/rss")
    assert network.connected == []
    assert (err.value.host, err.value.address, err.value.reason) == (
        "feeds.example",
        "10.0.0.5",
        "private",
    )
    assert "WIREHOSE_FETCH_ALLOW" in str(err.value)
    assert refused("private") - before == 1
    (line,) = [r.getMessage() for r in caplog.records if "fetch refused" in r.getMessage()]
    for part in (
        "host=feeds.example",
        "address=10.0.0.5",
        "reason=private",
        "WIREHOSE_FETCH_ALLOW",
    ):
        assert part in line


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1:9200/_cluster/settings", "loopback"),
        ("http://[::1]:9200/", "loopback"),
        ("http://[::ffff:127.0.0.1]:9200/", "loopback"),
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://10.0.0.5/", "private"),
        ("http://[fe80::1]/", "link-local"),
        ("http://100.100.100.200/", "carrier-grade-nat"),
        ("https://0.0.0.0/", "unspecified"),
    ],
)
def test_address_literals_are_refused_without_asking_dns(url: str, reason: str) -> None:
    network = FakeNetwork(lambda address: http())
    resolver = Resolver()
    with pytest.raises(AddressRefused) as err:
        fetch(guarded(network, resolver), url)
    assert err.value.reason == reason
    assert network.connected == []
    assert resolver.asked == []


def test_one_private_address_among_public_ones_refuses_the_name() -> None:
    network = FakeNetwork(lambda address: http())
    resolver = Resolver(mixed_example=[[PUBLIC, "10.0.0.5"]])
    with pytest.raises(AddressRefused, match=r"resolves to 10\.0\.0\.5"):
        fetch(guarded(network, resolver), "http://mixed.example/")
    assert network.connected == []


def test_connects_to_the_checked_address_with_the_name_in_host_and_sni() -> None:
    network = FakeNetwork(lambda address: http(body=b"page"))
    # A rebinding DNS: public on the first lookup, private on any later one.
    resolver = Resolver(news_example=[[PUBLIC], ["10.0.0.5"]])
    result = fetch(guarded(network, resolver), "https://news.example/story")
    assert result.content == b"page"
    assert network.connected == [PUBLIC]
    assert resolver.asked == ["news.example"]  # resolved once: nothing else could rebind
    (_, stream) = network.streams[0]
    assert stream.tls_name == "news.example"  # SNI and certificate check are for the name
    assert b"\r\nHost: news.example\r\n" in stream.sent


def test_an_allowed_name_may_resolve_to_a_private_address() -> None:
    network = FakeNetwork(lambda address: http())
    resolver = Resolver(feeds_corp_example=[["10.1.2.3"]])
    policy = AddressPolicy.allowing("feeds.corp.example")
    fetch(guarded(network, resolver, policy), "http://feeds.corp.example/rss")
    assert network.connected == ["10.1.2.3"]


def test_a_redirect_to_a_private_address_is_refused_at_that_hop() -> None:
    def respond(address: str) -> bytes:
        return http(302, b"", Location="http://internal.example/admin")

    network = FakeNetwork(respond)
    resolver = Resolver(news_example=[[PUBLIC]], internal_example=[["10.0.0.5"]])
    with pytest.raises(AddressRefused, match=r"internal\.example resolves to 10\.0\.0\.5"):
        fetch(guarded(network, resolver), "http://news.example/story")
    assert network.connected == [PUBLIC]  # the first hop only


@pytest.mark.parametrize(
    "target", ["http://127.0.0.1:9200/_cluster/settings", "http://[::ffff:169.254.169.254]/"]
)
def test_a_redirect_to_an_address_literal_is_refused(target: str) -> None:
    network = FakeNetwork(lambda address: http(301, b"", Location=target))
    with pytest.raises(AddressRefused):
        fetch(guarded(network, Resolver(news_example=[[PUBLIC]])), "http://news.example/")
    assert network.connected == [PUBLIC]


def test_public_redirects_are_followed_and_each_hop_resolved() -> None:
    answers = {PUBLIC: http(302, b"", Location="https://cdn.example/final"), "8.8.4.4": http()}
    network = FakeNetwork(lambda address: answers[address])
    resolver = Resolver(news_example=[[PUBLIC]], cdn_example=[["8.8.4.4"]])
    result = fetch(guarded(network, resolver), "http://news.example/story")
    assert result.url == "https://cdn.example/final"
    assert network.connected == [PUBLIC, "8.8.4.4"]
    assert resolver.asked == ["news.example", "cdn.example"]


def test_a_name_that_does_not_resolve_is_a_fetch_error() -> None:
    def nowhere(host: str, port: int) -> Sequence[str]:
        raise httpcore.ConnectError(f"cannot resolve {host}")

    backend = GuardedBackend(PUBLIC_ONLY, resolver=nowhere, inner=FakeNetwork(lambda a: http()))
    with pytest.raises(FetchError, match=r"cannot fetch http://gone\.example/: ConnectError"):
        fetch(make_client(transport=GuardedTransport(backend)), "http://gone.example/")


def test_too_many_redirects_stop() -> None:
    network = FakeNetwork(lambda address: http(302, b"", Location="/again"))
    with pytest.raises(FetchError, match="redirected more than 2 times"):
        fetch(
            guarded(network, Resolver(news_example=[[PUBLIC]])),
            "http://news.example/",
            limits=FetchLimits(max_redirects=2),
        )
    assert len(network.connected) == 3
