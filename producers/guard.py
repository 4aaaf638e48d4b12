"""Connect only to public addresses: feed and page URLs are written by strangers.

A feed item may link to ``http://127.0.0.1:9200/_cluster/settings`` or to a name that resolves
to ``10.0.0.5`` or to the cloud metadata service at ``169.254.169.254``; fetching it would make
wirehose a proxy into its own network. So every connection an ``httpx`` client from
``producers.fetch.make_client`` opens goes through ``GuardedBackend``, which

1. resolves the host once (``Resolver``, injectable so tests can make any name resolve to any
   address),
2. refuses the connection when *any* of the addresses is not public and not on the allow-list
   (``WIREHOSE_FETCH_ALLOW``), raising ``AddressRefused`` with a log line and a count in
   ``wirehose_producer_fetches_refused_total``, and
3. connects to one of exactly those addresses. The URL keeps its host name, so the ``Host``
   header, TLS SNI and certificate verification are for the name, not the address.

The check sits below ``httpx`` at the point where a socket is opened, so it holds for every
request and every redirect hop, and there is no second DNS lookup a rebinding server could
answer differently: the address checked is the address connected to. A kept-alive connection
is reused only for the same scheme, host and port, i.e. one already checked.

Non-public means: loopback, private (RFC 1918, IPv6 ULA ``fc00::/7``, deprecated site-local
``fec0::/10``), link-local (``169.254.0.0/16`` with the metadata service, ``fe80::/10``),
unspecified (``0.0.0.0/8``, ``::``), multicast, reserved, carrier-grade NAT
(``100.64.0.0/10``), anything else Python's ``ipaddress`` does not call global (documentation
and benchmarking ranges), and IPv6 addresses that carry such an IPv4 address inside
(IPv4-mapped ``::ffff:127.0.0.1``, NAT64 ``64:ff9b::a00:5``, 6to4 ``2002:7f00:1::``).
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network
from typing import Any

import httpcore
import httpx

from wirehose.core.errors import AddressRefused, IncompatibleDependency
from wirehose.core.metrics import FETCHES_REFUSED
from wirehose.core.settings import Settings, parse_fetch_allow

log = logging.getLogger(__name__)

IPAddress = IPv4Address | IPv6Address
IPNetwork = IPv4Network | IPv6Network

#: ``(host, port) -> addresses``: how a host name becomes the addresses to check and connect to.
Resolver = Callable[[str, int], Sequence[str]]

_UNSPECIFIED_V4 = ip_network("0.0.0.0/8")
_SHARED = ip_network("100.64.0.0/10")  # carrier-grade NAT: the ISP's side, not the internet
_PRIVATE = tuple(
    ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")
)
_SITE_LOCAL = ip_network("fec0::/10")
_NAT64 = ip_network("64:ff9b::/96")
_V4_COMPATIBLE = ip_network("::/96")
DEFAULT_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20)  # httpx's own


def system_resolver(host: str, port: int) -> list[str]:
    """The operating system's answer for ``host``, each address once, in its order."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _embedded_v4(address: IPv6Address) -> IPv4Address | None:
    """The IPv4 address an IPv6 address reaches in the end, for the forms that carry one."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return IPv4Address(int(address) & 0xFFFFFFFF)
    return address.sixtofour


def non_public_reason(address: IPAddress) -> str | None:
    """Why ``address`` is not a public internet address (``"loopback"``, ``"private"``, ...),
    or ``None`` when it is. The reason is the metric's label and the log line's ``reason``."""
    if isinstance(address, IPv6Address):
        inner = _embedded_v4(address)
        if inner is not None:
            return non_public_reason(inner)
        if address in _V4_COMPATIBLE and not (address.is_unspecified or address.is_loopback):
            return "reserved"  # deprecated IPv4-compatible form (::127.0.0.1)
    if address.is_unspecified or (isinstance(address, IPv4Address) and address in _UNSPECIFIED_V4):
        return "unspecified"
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link-local"
    if address.is_multicast:
        return "multicast"
    if isinstance(address, IPv4Address) and address in _SHARED:
        return "carrier-grade-nat"
    if any(address in network for network in _PRIVATE) or address in _SITE_LOCAL:
        return "private"
    if address.is_reserved:
        return "reserved"
    if not address.is_global:
        return "non-global"
    return None


@dataclass(frozen=True)
class AddressPolicy:
    """Public addresses, plus the exceptions an operator allowed (``WIREHOSE_FETCH_ALLOW``)."""

    networks: tuple[IPNetwork, ...] = ()
    hosts: tuple[str, ...] = ()  # exact names, or "*.domain" for every name under it

    @classmethod
    def allowing(cls, spec: str) -> AddressPolicy:
        """From the allow-list's own syntax: ``"127.0.0.1, 10.1.0.0/16, feeds.corp.example"``."""
        networks, hosts = parse_fetch_allow(spec)
        return cls(networks, hosts)

    @classmethod
    def from_settings(cls, settings: Settings) -> AddressPolicy:
        return cls.allowing(settings.fetch_allow)

    def allows_host(self, host: str) -> bool:
        name = host.lower().rstrip(".")
        return any(
            name.endswith(allowed[1:]) if allowed.startswith("*.") else name == allowed
            for allowed in self.hosts
        )

    def allows_address(self, address: IPAddress) -> bool:
        candidates: list[IPAddress] = [address]
        if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
            candidates.append(address.ipv4_mapped)  # 127.0.0.0/8 also admits ::ffff:127.0.0.1
        return any(
            candidate in network
            for candidate in candidates
            for network in self.networks
            if candidate.version == network.version
        )

    def refusal(self, host: str, address: IPAddress) -> str | None:
        """The reason to refuse connecting to ``address`` on behalf of ``host``, or ``None``."""
        reason = non_public_reason(address)
        if reason is None or self.allows_host(host) or self.allows_address(address):
            return None
        return reason


#: No exceptions: public addresses only.
PUBLIC_ONLY = AddressPolicy()


class GuardedBackend(httpcore.NetworkBackend):
    """An ``httpcore`` network backend that resolves, checks, then connects to the checked
    address (see the module docstring). ``inner`` opens the sockets; tests pass a fake."""

    def __init__(
        self,
        policy: AddressPolicy,
        *,
        resolver: Resolver = system_resolver,
        step: str = "fetch",
        inner: httpcore.NetworkBackend | None = None,
    ) -> None:
        self.policy = policy
        self.resolver = resolver
        self.step = step
        self.inner = inner if inner is not None else httpcore.SyncBackend()

    def addresses(self, host: str, port: int) -> list[IPAddress]:
        """The addresses ``host`` may be reached at; ``AddressRefused`` if any is off-limits."""
        try:
            literal: IPAddress | None = ip_address(host)
        except ValueError:
            literal = None
        found = [literal] if literal is not None else _parse(self.resolver(host, port))
        if not found:
            raise httpcore.ConnectError(f"{host} resolves to no address")
        for address in found:
            reason = self.policy.refusal(host, address)
            if reason is not None:
                self._refuse(host, port, address, reason, resolved=literal is None)
        return found

    def _refuse(
        self, host: str, port: int, address: IPAddress, reason: str, *, resolved: bool
    ) -> None:
        FETCHES_REFUSED.labels(step=self.step, reason=reason).inc()
        log.warning(
            "fetch refused, address not public host=%s port=%d address=%s reason=%s step=%s "
            "allow_with=WIREHOSE_FETCH_ALLOW",
            host, port, address, reason, self.step,
        )  # fmt: skip
        what = f"{host} resolves to {address}" if resolved else str(address)
        raise AddressRefused(
            f"refused to fetch from {host}:{port}: {what}, not a public address ({reason}); "
            "to fetch it on purpose, add the host or its network to WIREHOSE_FETCH_ALLOW",
            host=host,
            address=str(address),
            reason=reason,
        )

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        error: Exception | None = None
        for address in self.addresses(host, port):
            try:
                return self.inner.connect_tcp(
                    str(address), port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc  # like socket.create_connection: try the next address
        assert error is not None
        raise error

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("fetches go to public TCP addresses only, not unix sockets")

    def sleep(self, seconds: float) -> None:
        self.inner.sleep(seconds)


def _parse(addresses: Iterable[str]) -> list[IPAddress]:
    parsed: list[IPAddress] = []
    for text in addresses:
        try:
            parsed.append(ip_address(text))
        except ValueError as exc:
            raise httpcore.ConnectError(f"resolver gave {text!r}, not an address") from exc
    return parsed


class GuardedTransport(httpx.HTTPTransport):
    """``httpx.HTTPTransport`` whose connections are opened by a ``GuardedBackend``.

    httpx does not take a network backend, so the connection pool it builds is replaced by an
    identical one with the guard; ``HTTPTransport`` keeps its request and error handling.
    Proxies from the environment are not used on purpose: through a proxy the guard would check
    the proxy's address, not the one the request ends up at.
    """

    def __init__(self, backend: GuardedBackend, *, limits: httpx.Limits = DEFAULT_LIMITS) -> None:
        super().__init__(limits=limits, trust_env=False)
        # _pool is what httpx's own handle_request sends through. Should a future httpx name it
        # otherwise, replacing it would leave requests unguarded: refuse to run instead.
        if not isinstance(getattr(self, "_pool", None), httpcore.ConnectionPool):
            raise IncompatibleDependency(
                f"httpx {httpx.__version__} keeps its connection pool elsewhere; the address "
                "guard in producers/guard.py needs updating before wirehose can fetch"
            )
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=backend,
        )
