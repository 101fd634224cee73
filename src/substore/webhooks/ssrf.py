"""Which webhook URLs substore sends to: https to public addresses only, so that an
account cannot make the server reach into its own network (SSRF).

A URL is checked when it is saved and again at each attempt, because what a name resolves
to can change; the attempt then connects to the address that was checked (`Target`), not
to whatever the name resolves to a moment later. `allow_private` (development, tests)
admits http and loopback or private targets; cloud metadata addresses never.

An IPv6 address can carry an IPv4 one that the packet ends up at (IPv4-mapped, NAT64,
IPv4-compatible, 6to4, Teredo), and `ipaddress` calls several of these forms global: each
embedded IPv4 address is checked by the same rules, the metadata ones included.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
METADATA = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200")
)
# RFC 6052's well-known prefix and RFC 8215's local-use one: the last 32 bits are the IPv4
# address a NAT64 gateway forwards to.
NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
# Deprecated IPv4-compatible addresses, ::a.b.c.d (:: and ::1 are themselves).
COMPATIBLE = ipaddress.ip_network("::/96")
MAX_URL_LENGTH = 2048
LOOKUP_SECONDS = 5


class RefusedTarget(ValueError):
    """The URL may not be sent to; the message says why and what would do."""


@dataclass(frozen=True, slots=True)
class Target:
    """Where one attempt goes: the URL as given, and the checked address to connect to."""

    url: str
    host: str
    address: Address

    @property
    def connect_url(self) -> str:
        """The URL with the checked address in place of the name (Host and TLS's server
        name still say the name: see delivery.py)."""
        parts = urlsplit(self.url)
        literal = f"[{self.address}]" if self.address.version == 6 else str(self.address)
        netloc = f"{literal}:{parts.port}" if parts.port else literal
        return parts._replace(netloc=netloc).geturl()


def check_url(url: str, allow_private: bool) -> SplitResult:
    """The URL's parts if its form is acceptable (no lookup yet); RefusedTarget if not."""
    if len(url) > MAX_URL_LENGTH:
        raise RefusedTarget(f"The URL is longer than {MAX_URL_LENGTH} characters.")
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 (raises ValueError for a port that is not a number)
    except ValueError:
        raise RefusedTarget(
            "This is not a URL: give one such as https://example.com/hooks."
        ) from None
    schemes = ("https", "http") if allow_private else ("https",)
    if parts.scheme not in schemes:
        raise RefusedTarget(
            "Webhook URLs must use https (such as https://example.com/hooks); "
            "http is allowed only with SUBSTORE_WEBHOOK_ALLOW_PRIVATE=true."
        )
    if not parts.hostname:
        raise RefusedTarget("The URL has no host: give one such as https://example.com/hooks.")
    if parts.username is not None or parts.password is not None:
        raise RefusedTarget("Put no user name or password in the URL: verify the signature.")
    return parts


def check_address(address: Address, allow_private: bool) -> None:
    """RefusedTarget unless `address`, and every IPv4 address it carries, may be sent to."""
    for checked in _destinations(address):
        shown = str(address) if checked == address else f"{address} (which carries {checked})"
        if checked in METADATA:
            raise RefusedTarget(f"{shown} is a cloud metadata address: never a webhook target.")
        # is_global holds for some multicast and reserved ranges; a webhook is neither.
        public = checked.is_global and not checked.is_reserved
        if not checked.is_multicast and (public or allow_private):
            continue
        raise RefusedTarget(
            f"The host resolves to {shown}, a {_kind(checked)} address: webhooks go to public "
            "addresses only (SUBSTORE_WEBHOOK_ALLOW_PRIVATE=true allows others for development)."
        )


def _destinations(address: Address) -> list[Address]:
    """The addresses a packet to `address` may end up at, each to be checked: a pure
    translation form (IPv4-mapped, NAT64, IPv4-compatible) is only its IPv4 address; a
    tunnel (6to4, Teredo's server and client) is itself and the IPv4 addresses it names."""
    if not isinstance(address, ipaddress.IPv6Address):
        return [address]
    low = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.ipv4_mapped is not None:
        return [address.ipv4_mapped]
    if any(address in prefix for prefix in NAT64):
        return [low]
    if address in COMPATIBLE and int(address) > 1:
        return [low]
    found: list[Address] = [address]
    if address.sixtofour is not None:
        found.append(address.sixtofour)
    if address.teredo is not None:
        found.extend(address.teredo)
    return found


async def resolve(url: str, allow_private: bool) -> Target:
    """The URL checked and its host looked up: every address it resolves to must be
    allowed (one bad answer refuses it); the first is the one to connect to."""
    parts = check_url(url, allow_private)
    host = parts.hostname or ""
    addresses = await _lookup(host, parts.port or (443 if parts.scheme == "https" else 80))
    for address in addresses:
        check_address(address, allow_private)
    return Target(url=url.strip(), host=host, address=addresses[0])


async def _lookup(host: str, port: int) -> list[Address]:
    try:
        return [ipaddress.ip_address(host)]  # a literal needs no lookup
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        # Bounded: a creating request holds its database connection while it waits.
        async with asyncio.timeout(LOOKUP_SECONDS):
            found = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise RefusedTarget(f"{host} does not resolve: check the host name.") from None
    except TimeoutError:
        raise RefusedTarget(f"{host} did not resolve within {LOOKUP_SECONDS} s.") from None
    # The scope of a link-local IPv6 address ("fe80::1%eth0") is not part of the address.
    return [ipaddress.ip_address(str(info[4][0]).partition("%")[0]) for info in found]


def _kind(address: Address) -> str:
    for kind in ("loopback", "link_local", "multicast", "reserved", "private", "unspecified"):
        if getattr(address, f"is_{kind}"):
            return kind.replace("_", "-")
    return "non-public"
