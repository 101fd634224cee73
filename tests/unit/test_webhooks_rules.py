"""The webhook rules without I/O: SSRF, the retry schedule, signatures, the payload."""

from __future__ import annotations

import ipaddress
import random
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import orjson
import pytest
from standardwebhooks.webhooks import Webhook

from substore.graphql.types import encode_id
from substore.webhooks import payload, schedule, signing
from substore.webhooks.ssrf import RefusedTarget, check_address, check_url, resolve

REFUSED = [
    "127.0.0.1",
    "10.1.2.3",
    "172.16.0.1",
    "192.168.1.1",
    "169.254.169.254",
    "169.254.1.1",
    "100.64.0.1",
    "0.0.0.0",
    "224.0.0.1",
    "240.0.0.1",
    "::1",
    "fd00:ec2::254",
    "fe80::1",
    "ff02::1",
    "::ffff:10.0.0.1",
]


@pytest.mark.parametrize("address", REFUSED)
def test_non_public_addresses_are_refused(address):
    with pytest.raises(RefusedTarget):
        check_address(ipaddress.ip_address(address), allow_private=False)


@pytest.mark.parametrize("address", ["169.254.169.254", "fd00:ec2::254", "224.0.0.1"])
def test_metadata_and_multicast_stay_refused_when_private_is_allowed(address):
    with pytest.raises(RefusedTarget):
        check_address(ipaddress.ip_address(address), allow_private=True)


def test_loopback_and_private_are_allowed_for_development():
    for address in ("127.0.0.1", "10.0.0.1", "::1"):
        check_address(ipaddress.ip_address(address), allow_private=True)


def test_public_addresses_are_allowed():
    for address in ("93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"):
        check_address(ipaddress.ip_address(address), allow_private=False)


# IPv6 forms that carry an IPv4 address (IP literals only: nothing is looked up or sent).
EMBEDDED = [
    "64:ff9b::7f00:1",  # NAT64 (RFC 6052) of 127.0.0.1
    "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
    "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
    "64:ff9b:1::7f00:1",  # local-use NAT64 (RFC 8215) of 127.0.0.1
    "64:ff9b:1:2:3:4:a9fe:a9fe",  # its last 32 bits
    "2002:7f00:1::1",  # 6to4 of 127.0.0.1
    "2002:a9fe:a9fe::1",  # 6to4 of 169.254.169.254
    "2001:0:7f00:1:0:ffff:5db8:d70e",  # Teredo: server 127.0.0.1, client public
    "2001:0:5db8:d70e:0:ffff:f5ff:fffe",  # Teredo: server public, client 10.0.0.1
    "::127.0.0.1",  # IPv4-compatible
    "::a9fe:a9fe",  # IPv4-compatible 169.254.169.254
    "::ffff:a9fe:a9fe",  # IPv4-mapped 169.254.169.254
    "2001:db8::1",  # documentation: reserved, never public
    "100::1",  # discard-only
]


@pytest.mark.parametrize("address", EMBEDDED)
def test_ipv4_carried_in_ipv6_is_checked_as_ipv4(address):
    with pytest.raises(RefusedTarget):
        check_address(ipaddress.ip_address(address), allow_private=False)


@pytest.mark.parametrize(
    "address",
    [
        "64:ff9b::a9fe:a9fe",
        "64:ff9b:1::a9fe:a9fe",
        "2002:a9fe:a9fe::1",
        "2001:0:a9fe:a9fe:0:ffff:5db8:d70e",  # Teredo server
        "2001:0:5db8:d70e:0:ffff:5601:5601",  # Teredo client (bits inverted)
        "::a9fe:a9fe",
        "::ffff:a9fe:a9fe",
        "64:ff9b::6464:64c8",  # 100.100.100.200
    ],
)
def test_metadata_carried_in_ipv6_stays_refused_when_private_is_allowed(address):
    with pytest.raises(RefusedTarget, match="metadata"):
        check_address(ipaddress.ip_address(address), allow_private=True)


@pytest.mark.parametrize("address", ["4000::1", "64:ff9b::f000:1"])
def test_reserved_addresses_are_refused(address):
    """4000::/3 is reserved though `ipaddress` calls it global; 240.0.0.0/4 via NAT64."""
    with pytest.raises(RefusedTarget, match="reserved"):
        check_address(ipaddress.ip_address(address), allow_private=False)


def test_public_ipv4_through_nat64_and_6to4_is_allowed():
    for address in ("64:ff9b::5db8:d70e", "64:ff9b:1::5db8:d70e", "2002:5db8:d70e::1"):
        check_address(ipaddress.ip_address(address), allow_private=False)


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://example.com/hook", "https"),
        ("ftp://example.com/", "https"),
        ("https:///nohost", "no host"),
        ("https://user:pw@example.com/", "password"),
        ("https://example.com:port/", "not a URL"),
    ],
)
def test_bad_urls_are_refused_by_their_form(url, says):
    with pytest.raises(RefusedTarget, match=says):
        check_url(url, allow_private=False)


async def test_names_are_resolved_and_every_address_checked():
    # localhost resolves on this machine: no query leaves it, and nothing is sent.
    with pytest.raises(RefusedTarget, match="loopback"):
        await resolve("https://localhost/hook", allow_private=False)
    with pytest.raises(RefusedTarget, match="metadata"):
        await resolve("https://[fd00:ec2::254]/latest", allow_private=False)
    target = await resolve("https://93.184.215.14:8443/a?b=1", allow_private=False)
    assert target.connect_url == "https://93.184.215.14:8443/a?b=1"
    local = await resolve("http://localhost:9/hook", allow_private=True)
    assert local.host == "localhost" and local.address.is_loopback


def test_the_schedule_retries_soon_then_backs_off_for_three_days():
    rng = random.Random(7)
    first = [schedule.next_delay(1, rng) for _ in range(200)]
    second = [schedule.next_delay(2, rng) for _ in range(200)]
    assert max(first) <= timedelta(seconds=10) and len(set(first)) > 100  # jittered
    assert max(second) <= timedelta(minutes=1)
    total, failures = timedelta(), 0
    while total < schedule.GIVE_UP_AFTER:
        failures += 1
        total += schedule.next_delay(failures, rng)
    assert 10 <= failures <= 30  # about a dozen attempts over the three days


def test_signatures_verify_with_the_standardwebhooks_library():
    secret = signing.new_secret()
    assert secret.startswith("whsec_")
    body = b'{"type": "subscriber.changes"}'
    headers = signing.headers(secret, "msg_1", body, datetime.now(UTC))
    assert Webhook(secret).verify(body, headers) == {"type": "subscriber.changes"}


def test_events_carry_the_subscribers_graphql_id():
    row = SimpleNamespace(
        id="0b0e7c2a-7a83-4a43-a7a4-7f3b7fd0bd7e",
        sequence=3,
        type="subscriber.created",
        occurred_at=datetime(2026, 12, 6, tzinfo=UTC),
        source="api",
        actor="sk_live_abcd",
        subscriber_id=42,
        e164_number="+12015550100",
        status="SUBSCRIBED",
        changes={"firstName": "Ada"},
    )
    body = orjson.loads(payload.body([row], datetime(2026, 12, 6, 1, tzinfo=UTC)))
    assert body["type"] == "subscriber.changes" and body["timestamp"] == "2026-12-06T01:00:00Z"
    [event] = body["data"]["events"]
    assert event["subscriber"]["id"] == encode_id("Subscriber", 42)
    assert event["occurredAt"] == "2026-12-06T00:00:00Z" and event["sequence"] == 3
