"""Who calls, settled before anything else the client sent is read.

The bearer token is checked and the key's rate limit taken before the body is parsed:
an anonymous client's document reaches no cache, no metrics label and no log field,
and costs no parse. A client address that keeps presenting unknown keys is refused
(429) before each one costs a database lookup.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from cachetools import LRUCache, TTLCache
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request

from substore import auth
from substore.errors import RequestCode as Code
from substore.web.operation import RequestError
from substore.web.ratelimit import RateLimiter

# Keys are 46 characters; a header of a few KB is no key, only memory and hashing.
MAX_AUTHORIZATION_BYTES = 4096
_TRACKED_CLIENTS = 100_000  # bounds the failure counts whatever the number of addresses
_KNOWN_KEYS = 10_000  # (address, key) pairs that authenticated: only valid keys add one


class FailureThrottle:
    """Failed authentications per client address: past `limit` within `window` seconds
    of the last one, that address is refused until the window has passed, except for the
    keys it has authenticated with before (the last `_KNOWN_KEYS` such pairs): a client
    behind an address someone else floods with guesses keeps working."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit, self.window = limit, window
        self.failures: TTLCache[str, int] = TTLCache(_TRACKED_CLIENTS, window)
        self.known: LRUCache[tuple[str, bytes], bool] = LRUCache(_KNOWN_KEYS)

    def blocked(self, client: str, token: str) -> bool:
        return (
            self.limit > 0
            and self.failures.get(client, 0) >= self.limit
            and (client, _digest(token)) not in self.known
        )

    def failed(self, client: str, token: str) -> None:
        if self.limit > 0:
            self.failures[client] = self.failures.get(client, 0) + 1
            self.known.pop((client, _digest(token)), None)  # revoked since

    def succeeded(self, client: str, token: str) -> None:
        if self.limit > 0:
            self.known[(client, _digest(token))] = True


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()[:16]


@dataclass(frozen=True)
class Gate:
    """What admits a request: the key cache, the key lookup, the limits."""

    engine: AsyncEngine
    principals: auth.PrincipalCache
    limiter: RateLimiter
    failures: FailureThrottle

    async def admit(self, request: Request) -> tuple[auth.Principal, dict[str, str]]:
        """The caller and the rate limiter's headers; RequestError if it is refused."""
        principal = await self._principal(request)
        verdict = self.limiter.check(f"{principal.account_id}:{principal.key_prefix}")
        if not verdict.allowed:
            raise RequestError(
                Code.TOO_MANY_REQUESTS,
                f"This API key sent more than {self.limiter.burst} requests at once or "
                f"{self.limiter.per_second:g} a second: retry after "
                f"{verdict.headers['Retry-After']} s.",
                verdict.headers,
            )
        return principal, verdict.headers

    async def _principal(self, request: Request) -> auth.Principal:
        header = request.headers.get("authorization")
        if header is not None and len(header) > MAX_AUTHORIZATION_BYTES:
            raise RequestError(
                Code.HEADERS_TOO_LARGE,
                f"The Authorization header is over {MAX_AUTHORIZATION_BYTES} bytes: "
                "send Authorization: Bearer <key>.",
            )
        token = auth.bearer_token(header)
        found = self.principals.get(token) if token else None
        if found is not None:
            return found
        if token is not None and token.startswith(auth.KEY_PREFIX):
            found = await self._look_up(token, request.client.host if request.client else "-")
        if found is None:
            raise RequestError(
                Code.UNAUTHENTICATED,
                "Missing or invalid API key: send Authorization: Bearer <key>.",
                {"WWW-Authenticate": "Bearer"},
            )
        self.principals.put(token, found)  # type: ignore[arg-type]
        return found

    async def _look_up(self, token: str, client: str) -> auth.Principal | None:
        if self.failures.blocked(client, token):
            raise RequestError(
                Code.TOO_MANY_REQUESTS,
                f"Too many unknown API keys from {client}: retry after "
                f"{self.failures.window:g} s with a valid key.",
                {"Retry-After": f"{self.failures.window:g}"},
            )
        async with self.engine.connect() as conn:
            found = await auth.authenticate(conn, token)
        if found is None:
            self.failures.failed(client, token)
        else:
            self.failures.succeeded(client, token)
        return found
