"""Who a connection comes from, and how many each client holds open (per process).

One client (an IPv4 address, or an IPv6 /64, which one host usually holds whole) may keep
`per_client` connections open in a serving process; past that a new connection is
answered 429 at once and closed, so idle sockets from one client cannot take the slots
every other client needs. A trusted proxy is not a client: it carries many clients'
connections and must limit each of them itself (README: Limits).

When the process is at its connection limit the server still lets GET /healthz through,
marked `at_limit(scope)`, so that a load balancer sees the refusals and moves traffic away.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import MutableMapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from uvicorn._types import HTTPScope

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_AT_LIMIT = "substore.connections_at_limit"  # an ASGI scope extension the server sets

_REFUSAL = (
    b'{"errors":[{"message":"Too many open connections from this address: close some first.",'
    b'"extensions":{"code":"TOO_MANY_REQUESTS"}}]}'
)
# Written as the connection opens, before any request: a client reads it as its answer.
TOO_MANY = (
    b"HTTP/1.1 429 Too Many Requests\r\ncontent-type: application/json\r\nretry-after: 1\r\n"
    b"connection: close\r\ncontent-length: %d\r\n\r\n%s" % (len(_REFUSAL), _REFUSAL)
)


@functools.lru_cache(maxsize=4096)
def client_key(host: str) -> str | None:
    """The client `host` counts as; None for what is not an IP address (a Unix socket).
    Remembered: every request asks, and the same clients come back."""
    address = _address(host)
    if isinstance(address, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return None if address is None else str(address)


def _address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """`host` as an address: an IPv4 one too when a dual-stack socket shows it as IPv6."""
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])  # a zone (fe80::1%eth0) aside
    except ValueError:
        return None
    mapped = address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) else None
    return mapped or address


def trusted_networks(text: str) -> tuple[Network, ...] | None:
    """SUBSTORE_FORWARDED_ALLOW_IPS as networks; None for `*` (every peer)."""
    entries = [entry.strip() for entry in text.split(",") if entry.strip()]
    if "*" in entries:
        return None
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)


class PeerCounts:
    """Open connections per client in this process, against a cap (0: none)."""

    def __init__(self, per_client: int, trusted: tuple[Network, ...] | None = ()) -> None:
        self.per_client = per_client
        self.trusted = trusted
        self.open: dict[str, int] = {}

    def admit(self, host: str) -> tuple[str | None, bool]:
        """Count a new connection from `host`: the key it is counted under (None: not
        counted) and whether it is within the cap. `release` the key when it closes."""
        key = None if self.per_client <= 0 or self._is_trusted(host) else client_key(host)
        if key is None:
            return None, True
        self.open[key] = count = self.open.get(key, 0) + 1
        return key, count <= self.per_client

    def release(self, key: str) -> None:
        count = self.open.pop(key) - 1
        if count:
            self.open[key] = count

    def _is_trusted(self, host: str) -> bool:
        if self.trusted is None:
            return True
        address = _address(host) if self.trusted else None
        return address is not None and any(address in network for network in self.trusted)


def mark_at_limit(scope: HTTPScope) -> None:
    # An ASGI extension's value is a dict (the spec, and uvicorn's types): its key marks.
    scope.setdefault("extensions", {})[_AT_LIMIT] = {}


def at_limit(scope: MutableMapping[str, Any]) -> bool:
    """Whether the server would have refused this request for lack of connection slots."""
    return _AT_LIMIT in (scope.get("extensions") or {})
