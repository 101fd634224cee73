"""substore.web.connections: who a connection counts as, and the per-client cap."""

from __future__ import annotations

import ipaddress

import pydantic
import pytest

from substore.config import Settings
from substore.web.connections import (
    TOO_MANY,
    PeerCounts,
    at_limit,
    client_key,
    mark_at_limit,
    trusted_networks,
)


@pytest.mark.parametrize(
    ("host", "key"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),  # one host usually holds a /64
        ("2001:db8:1:2:ffff::9", "2001:db8:1:2::/64"),
        ("::ffff:203.0.113.7", "203.0.113.7"),  # IPv4 on a dual-stack socket
        ("fe80::1%eth0", "fe80::/64"),
        ("/run/substore.sock", None),
        ("", None),
    ],
)
def test_a_client_is_an_ipv4_address_or_an_ipv6_64(host, key):
    assert client_key(host) == key


def test_a_client_past_its_cap_is_refused_until_one_of_its_connections_closes():
    peers = PeerCounts(2)
    first, second = peers.admit("10.0.0.1"), peers.admit("10.0.0.1")
    assert first == second == ("10.0.0.1", True)
    assert peers.admit("10.0.0.1") == ("10.0.0.1", False)
    assert peers.admit("10.0.0.2") == ("10.0.0.2", True)  # another client is not affected
    peers.release("10.0.0.1")  # the refused one closes
    peers.release("10.0.0.1")
    assert peers.admit("10.0.0.1") == ("10.0.0.1", True)
    for _ in range(2):
        peers.release("10.0.0.1")
    peers.release("10.0.0.2")
    assert peers.open == {}  # nothing kept for clients that have gone


def test_trusted_proxies_and_a_zero_cap_are_not_counted():
    proxies = PeerCounts(1, trusted_networks("10.0.0.5, 192.168.0.0/24"))
    for host in ("10.0.0.5", "10.0.0.5", "192.168.0.40", "192.168.0.40"):
        assert proxies.admit(host) == (None, True)
    assert proxies.admit("10.0.0.6") == ("10.0.0.6", True)
    assert proxies.admit("::ffff:10.0.0.5") == (None, True)  # on a dual-stack socket
    assert PeerCounts(1, trusted_networks("*")).admit("10.0.0.6") == (None, True)
    assert PeerCounts(0).admit("10.0.0.6") == (None, True)


def test_trusted_networks_parse_what_the_setting_accepts():
    assert trusted_networks("") == ()
    assert trusted_networks("10.0.0.5,::1") == (
        ipaddress.ip_network("10.0.0.5"),
        ipaddress.ip_network("::1"),
    )
    assert trusted_networks("10.0.0.5,*") is None
    assert Settings(forwarded_allow_ips=" 10.0.0.5, 10.1.0.0/16 ,").forwarded_allow_ips == (
        "10.0.0.5,10.1.0.0/16"
    )
    with pytest.raises(pydantic.ValidationError, match=r"10\.0\.0\.x"):
        Settings(forwarded_allow_ips="10.0.0.x")


def test_a_scope_marked_at_the_limit():
    scope: dict = {"type": "http"}
    assert not at_limit(scope)
    mark_at_limit(scope)
    assert at_limit(scope)


def test_the_refusal_is_a_whole_http_answer():
    head, body = TOO_MANY.split(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 429 ")
    assert f"content-length: {len(body)}".encode() in head
    assert b'"code":"TOO_MANY_REQUESTS"' in body
