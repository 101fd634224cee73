"""What checking a JWT costs a request, with and without the verified-credential cache.

Two figures, each the best of --rounds alternating rounds:
- the check alone: `Verifier.verify` per call (HS256, RS256 from a 2048-bit key, ES256 on
  P-256), next to a cache hit (the SHA-256 of the token and a dict lookup);
- the app's CPU per `subscriber(number:)` request (the ASGI app called in process, as
  bench/profile_request.py does) with an API key, and with a JWT of each algorithm,
  SUBSTORE_AUTH_CACHE_SECONDS=5 (the default: a browser resends its token) against 0.
The key set is loaded in the process up front: no provider is fetched from.
Usage: python bench/jwt_auth.py [--requests 2000] [--rows 2000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt import PyJWK
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from lookup import LOOKUP, fill
from pg import database_url
from profile_request import call
from substore.auth import PrincipalCache
from substore.config import Settings
from substore.web.app import create_app

ISSUER, AUDIENCE, SECRET = "https://idp.bench/", "substore-bench", "b" * 32
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())
SIGNERS: dict[str, Any] = {"HS256": SECRET, "RS256": RSA_KEY, "ES256": EC_KEY}


def token(algorithm: str, account_id: int) -> str:
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "bench|user",
        "iat": now,
        "exp": now + 3600,
        "substore": {"account_id": account_id, "scope": "read"},
    }
    return jwt.encode(claims, SIGNERS[algorithm], algorithm, headers={"kid": algorithm})


def settings(url: str, algorithm: str, cache_seconds: float) -> Settings:
    common: dict[str, Any] = {
        "database_url": url,
        "rate_limit_per_second": 0,
        "auth_cache_seconds": cache_seconds,
        "jwt_issuer": ISSUER,
        "jwt_audience": AUDIENCE,
    }
    if algorithm == "HS256":
        return Settings(**common, jwt_secret=SECRET)
    return Settings(**common, jwt_jwks_url="http://127.0.0.1:9/never-fetched.json")


def load_keys(app: Any) -> None:
    """The key set as a fetch would leave it, without a provider."""
    key_set = app.state.tokens.key_set
    if key_set is None:
        return
    for algorithm, private, kind in (
        ("RS256", RSA_KEY, RSAAlgorithm),
        ("ES256", EC_KEY, ECAlgorithm),
    ):
        data = json.loads(kind.to_jwk(private.public_key())) | {"kid": algorithm, "alg": algorithm}
        key_set.keys[algorithm] = PyJWK(data)
    key_set.loaded_at = key_set.fetched_at = key_set.clock()


async def verify_alone(url: str, account_id: int, requests: int) -> dict[str, float]:
    """Microseconds per Verifier.verify, and per cache hit."""
    out = {}
    for algorithm in SIGNERS:
        app = create_app(settings(url, algorithm, 0))
        load_keys(app)
        verifier, bearer = app.state.tokens, token(algorithm, account_id)
        await verifier.verify(bearer)
        started = time.process_time()
        for _ in range(requests):
            await verifier.verify(bearer)
        out[f"verify {algorithm}"] = (time.process_time() - started) / requests * 1e6
    cache, bearer = PrincipalCache(5), token("ES256", account_id)
    cache.put(bearer, object())  # type: ignore[arg-type]
    started = time.process_time()
    for _ in range(requests):
        cache.get(bearer)
    out["cache hit"] = (time.process_time() - started) / requests * 1e6
    return out


async def per_request(url: str, credential: str, app: Any, bodies: list[bytes], n: int) -> float:
    async with app.router.lifespan_context(app):
        load_keys(app)
        for body in bodies[:200]:  # warm: plans, the account, prepared statements
            assert await call(app, body, credential) == 200
        started = time.process_time()
        for i in range(n):
            await call(app, bodies[i % len(bodies)], credential)
        return (time.process_time() - started) / n * 1e6


async def measure(url: str, args: argparse.Namespace) -> None:
    account_id, key, numbers = await fill(url, args.rows)
    sample = random.Random(7).sample(numbers, min(500, len(numbers)))
    bodies = [json.dumps({"query": LOOKUP, "variables": {"n": n}}).encode() for n in sample]
    best: dict[str, float] = {}
    for _ in range(args.rounds):
        for name, used in (await verify_alone(url, account_id, args.requests)).items():
            best[name] = min(best.get(name, float("inf")), used)
        for cache_seconds in (5.0, 0.0):
            for algorithm in ("key", *SIGNERS):
                name = f"{algorithm}, cache {'on' if cache_seconds else 'off'}"
                app = create_app(
                    settings(url, "HS256" if algorithm == "key" else algorithm, cache_seconds)
                )
                credential = key if algorithm == "key" else token(algorithm, account_id)
                used = await per_request(url, credential, app, bodies, args.requests)
                best[name] = min(best.get(name, float("inf")), used)
    for name, used in best.items():
        print(f"{name:>22}: {used:7.1f} us of CPU")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with database_url() as url:
        asyncio.run(measure(url, args))


if __name__ == "__main__":
    main()
