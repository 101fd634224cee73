"""JWTs checked with a provider's key set (RS256, ES256), served by the test on 127.0.0.1:
rotation without a restart, refetches at most every 5 s, algorithms pinned, and a provider
that is down or slow costs 401s, never a blocked event loop."""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from tests.support import asgi_client, free_port, serve_in_thread
from tests.tokens import bearer, claims, forged, jwt_settings

from substore import auth
from substore.jwks import LIFESPAN, REFETCH_INTERVAL
from substore.web.app import create_app

LOOKUP = {"query": "{ account { id } }"}
RSA_1 = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_1 = ec.generate_private_key(ec.SECP256R1())
EC_2 = ec.generate_private_key(ec.SECP256R1())
Key = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


def jwk(private: Key, kid: str) -> dict[str, Any]:
    is_rsa = isinstance(private, rsa.RSAPrivateKey)
    found = json.loads((RSAAlgorithm if is_rsa else ECAlgorithm).to_jwk(private.public_key()))
    return found | {"kid": kid, "use": "sig", "alg": "RS256" if is_rsa else "ES256"}


def signed(private: Key, kid: str, account_id: int, algorithm: str | None = None) -> str:
    algorithm = algorithm or ("RS256" if isinstance(private, rsa.RSAPrivateKey) else "ES256")
    return jwt.encode(claims(account_id), private, algorithm, headers={"kid": kid})


@dataclass
class Provider:
    """An identity provider's JWKS endpoint: its keys, and the fetches it has answered."""

    keys: list[dict[str, Any]] = field(default_factory=list)
    fetches: int = 0
    delay: float = 0.0

    def app(self) -> Starlette:
        async def jwks(request: Request) -> JSONResponse:
            self.fetches += 1
            await asyncio.sleep(self.delay)
            return JSONResponse({"keys": self.keys})

        async def healthz(request: Request) -> JSONResponse:
            return JSONResponse({"status": "ok"})

        return Starlette(routes=[Route("/jwks.json", jwks), Route("/healthz", healthz)])


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[Provider, str]]:
    provider = Provider()
    with serve_in_thread(provider.app()) as base:
        yield provider, f"{base}/jwks.json"


@pytest.fixture
def provider(served) -> Provider:
    found, _ = served
    found.keys, found.fetches, found.delay = [jwk(RSA_1, "r1"), jwk(EC_1, "e1")], 0, 0.0
    return found


@contextlib.asynccontextmanager
async def key_set_app(engine, url: str) -> AsyncIterator[tuple[httpx.AsyncClient, Any]]:
    app = create_app(jwt_settings(jwt_jwks_url=url), engine=engine)
    async with asgi_client(app) as client:
        yield client, app


@pytest.fixture
async def jwks_http(engine, served, provider) -> AsyncIterator[tuple[httpx.AsyncClient, Any]]:
    async with key_set_app(engine, served[1]) as found:
        yield found


async def call(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.post("/graphql", json=LOOKUP, headers=bearer(token))


def refused_saying(response: httpx.Response, says: str) -> bool:
    error = response.json()["errors"][0]
    return (
        response.status_code == 401
        and error["extensions"]["code"] == "UNAUTHENTICATED"
        and says in error["message"]
        and "data" not in response.json()
    )


def public_pem() -> bytes:
    return RSA_1.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


async def test_rs256_and_es256_tokens_are_accepted_with_one_fetch(jwks_http, provider, account):
    client, _ = jwks_http
    tokens = [signed(RSA_1, "r1", account.id), signed(EC_1, "e1", account.id)] * 5
    responses = await asyncio.gather(*(call(client, t) for t in tokens))
    assert [r.status_code for r in responses] == [200] * 10
    assert provider.fetches == 1  # concurrent tokens shared the first fetch


async def test_a_rotated_key_works_without_restart_and_refetches_wait_5_s(
    jwks_http, provider, account
):
    client, app = jwks_http
    key_set = app.state.tokens.key_set
    assert (await call(client, signed(RSA_1, "r1", account.id))).status_code == 200
    provider.keys = [jwk(RSA_1, "r1"), jwk(EC_2, "e2")]  # the provider rotates
    rotated = signed(EC_2, "e2", account.id)
    assert refused_saying(await call(client, rotated), "'e2' is not in the key set")
    for _ in range(20):  # made-up kids: no fetch within the interval, whatever arrives
        response = await call(client, signed(EC_1, secrets.token_hex(4), account.id))
        assert refused_saying(response, "is not in the key set")
    assert provider.fetches == 1
    moment = time.monotonic() + REFETCH_INTERVAL
    key_set.clock = lambda: moment
    assert (await call(client, rotated)).status_code == 200  # fetched again: no restart
    assert provider.fetches == 2
    for _ in range(5):
        response = await call(client, signed(EC_1, "never", account.id))
        assert refused_saying(response, "'never' is not in the key set")
    assert provider.fetches == 2
    key_set.clock = lambda: moment + REFETCH_INTERVAL
    response = await call(client, signed(EC_1, "never", account.id))
    assert refused_saying(response, "'never' is not in the key set")  # even fetched again
    assert provider.fetches == 3


async def test_a_withdrawn_key_stops_working_once_the_set_is_stale(jwks_http, provider, account):
    client, app = jwks_http
    key_set = app.state.tokens.key_set
    token = signed(RSA_1, "r1", account.id)
    assert (await call(client, token)).status_code == 200
    provider.keys = [jwk(EC_1, "e1")]  # r1 withdrawn
    moment = time.monotonic() + LIFESPAN + 1
    key_set.clock = lambda: moment
    assert (await call(client, token)).status_code == 200  # known: served, set fetched behind
    for _ in range(200):
        if "r1" not in key_set.keys:
            break
        await asyncio.sleep(0.01)
    assert refused_saying(await call(client, token), "'r1' is not in the key set")
    assert provider.fetches == 2


BAD_TOKENS = {
    "HS256 keyed with the set's public key": (
        lambda a: forged({"alg": "HS256", "kid": "r1", "typ": "JWT"}, claims(a), public_pem()),
        "accepts RS256 or ES256 only",
    ),
    "HS256 keyed with the set's JWK": (
        lambda a: forged(
            {"alg": "HS256", "kid": "r1"}, claims(a), json.dumps(jwk(RSA_1, "r1")).encode()
        ),
        "accepts RS256 or ES256 only",
    ),
    "alg none": (lambda a: forged({"alg": "none", "kid": "r1"}, claims(a), None), "'none'"),
    "RS512": (lambda a: signed(RSA_1, "r1", a, "RS512"), "accepts RS256 or ES256 only"),
    "RS256 naming the EC key": (lambda a: signed(RSA_1, "e1", a), "does not match its key"),
    "signed by a key not in the set": (
        lambda a: signed(EC_2, "e1", a),
        "signature does not verify",
    ),
    "no kid": (lambda a: jwt.encode(claims(a), EC_1, "ES256"), "names no key"),
    "kid not a string": (
        lambda a: forged({"alg": "ES256", "kid": 7}, claims(a), b"x"),
        "nor a well-formed JWT",
    ),
}


@pytest.mark.parametrize(("make", "says"), BAD_TOKENS.values(), ids=BAD_TOKENS.keys())
async def test_algorithms_and_keys_are_pinned_by_the_set(jwks_http, account, make, says):
    client, _ = jwks_http
    assert refused_saying(await call(client, make(account.id)), says)


async def test_an_unreachable_key_set_is_401(engine, account, caplog):
    async with key_set_app(engine, f"http://127.0.0.1:{free_port()}/jwks.json") as (client, _):
        response = await call(client, signed(RSA_1, "r1", account.id))
    assert refused_saying(response, "the key set could not be fetched")
    assert "Connection refused" not in response.text  # the cause is in the log only
    assert any("fetch failed" in r.getMessage() for r in caplog.records)


async def test_a_slow_key_set_blocks_no_other_request_and_times_out(
    jwks_http, provider, engine, account
):
    client, app = jwks_http
    app.state.tokens.key_set.client.timeout = 0.5
    provider.delay = 1.0
    async with engine.begin() as conn:
        key = (await auth.create_key(conn, account.id, "read")).secret

    async def timed(request) -> tuple[httpx.Response, float]:
        response = await request
        return response, time.perf_counter() - started

    started = time.perf_counter()
    waiting = asyncio.ensure_future(timed(call(client, signed(RSA_1, "r1", account.id))))
    await asyncio.sleep(0.1)  # the token's fetch has begun
    keyed, keyed_after = await timed(call(client, key))
    token, token_after = await waiting
    # Answered while the fetch was pending: a fetch on the event loop would hold it 0.5 s.
    assert keyed.status_code == 200 and keyed_after < 0.4
    assert refused_saying(token, "the key set could not be fetched")
    assert 0.5 <= token_after < 0.9  # the timeout, not the provider's 1 s
