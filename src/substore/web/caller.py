"""Who calls, settled before anything else the client sent is read.

The bearer is checked and the caller's rate limit taken before the body is parsed: an
anonymous client's document reaches no cache, no metrics label and no log field, and
costs no parse. A bearer starting `sk_` is an API key; anything else is a JWT when they
are on (tokens.py). A client address that keeps presenting unknown keys or bad tokens is
refused (429) before each one costs a database lookup or a signature check.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from cachetools import LRUCache, TTLCache
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request

from substore import auth, services
from substore.errors import RequestCode as Code
from substore.tokens import TokenError, Verifier
from substore.web import connections
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
    """What admits a request: the credential cache, the key lookup or token check, the
    limits."""

    engine: AsyncEngine
    principals: auth.PrincipalCache
    limiter: RateLimiter
    failures: FailureThrottle
    accounts: TTLCache[int, Any]  # the endpoint's: an account a token names is read once
    tokens: Verifier | None = None  # None: JWTs are off, only API keys
    # Import batches' own bucket (a bulk endpoint's limit, as Klaviyo's or Attentive's
    # bulk APIs have): a default import is not held to interactive requests' rate.
    imports: RateLimiter | None = None

    async def admit(
        self, request: Request, batch: bool = False
    ) -> tuple[auth.Principal, dict[str, str]]:
        """The caller and the rate limiter's headers; RequestError if it is refused.
        `batch`: the request says it is an import batch (counted in the imports' bucket)."""
        client = request.client.host if request.client else "-"
        return await self.admit_credential(request.headers.get("authorization"), client, batch)

    async def admit_credential(
        self, header: str | None, client: str, batch: bool = False
    ) -> tuple[auth.Principal, dict[str, str]]:
        """As `admit`, for an Authorization value that came some other way (a WebSocket's
        connection_init payload) from `client` (an address)."""
        # Throttled as the connection cap counts: an IPv6 client holds a whole /64.
        client = connections.client_key(client) or client
        principal = await self._principal(header, client)
        limiter = self.imports if batch and self.imports is not None else self.limiter
        verdict = limiter.check(f"{principal.account_id}:{principal.method}:{principal.actor}")
        if not verdict.allowed:
            who = "API key" if principal.method is auth.Method.KEY else "token's subject (sub)"
            what = "import batches" if limiter is self.imports else "requests"
            raise RequestError(
                Code.TOO_MANY_REQUESTS,
                f"This {who} sent more than {limiter.burst} {what} at once or "
                f"{limiter.per_second:g} a second: retry after "
                f"{verdict.headers['Retry-After']} s.",
                verdict.headers,
            )
        return principal, verdict.headers

    async def still_admits(self, header: str | None) -> bool:
        """Whether the credential an open subscription was admitted with still admits: an
        API key looked up again (or found in the credential cache) in case it was revoked.
        A token's `exp` is the subscription's own to watch (Principal.expires_at)."""
        token = auth.bearer_token(header)
        if token is None:
            return False
        if not token.startswith(auth.KEY_PREFIX) or self.principals.get(token) is not None:
            return True
        async with self.engine.connect() as conn:
            found = await auth.authenticate(conn, token)
        if found is not None:
            self.principals.put(token, found)
        return found is not None

    async def _principal(self, header: str | None, client: str) -> auth.Principal:
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
            return await self._key(token, client)
        if token is not None and self.tokens is not None:
            return await self._jwt(token, client)
        what = "API key or JWT" if self.tokens is not None else "API key"
        raise _unauthenticated(f"Missing or invalid {what}: send Authorization: Bearer <key>.")

    async def _key(self, token: str, client: str) -> auth.Principal:
        self._refuse_if_throttled(client, token)
        async with self.engine.connect() as conn:
            found = await auth.authenticate(conn, token)
        if found is None:
            self.failures.failed(client, token)
            raise _unauthenticated("Missing or invalid API key: send Authorization: Bearer <key>.")
        self.failures.succeeded(client, token)
        self.principals.put(token, found)
        return found

    async def _jwt(self, token: str, client: str) -> auth.Principal:
        assert self.tokens is not None
        self._refuse_if_throttled(client, token)
        try:
            claims = await self.tokens.verify(token)
            await self._known_account(claims.account_id)
        except TokenError as error:
            self.failures.failed(client, token)
            raise _unauthenticated(str(error), 'Bearer error="invalid_token"') from None
        found = auth.Principal(
            claims.account_id, claims.scope, auth.Method.JWT, claims.subject, claims.expires_at
        )
        self.failures.succeeded(client, token)
        self.principals.put(token, found, until=claims.expires_at)
        return found

    async def _known_account(self, account_id: int) -> None:
        # Read into the endpoint's cache, where the request will find it next.
        if self.accounts.get(account_id) is not None:
            return
        async with self.engine.connect() as conn:
            account = await services.get_account(conn, account_id)
        if account is None:
            raise TokenError(f"The token's account {account_id} does not exist.")
        self.accounts[account_id] = account

    def _refuse_if_throttled(self, client: str, token: str) -> None:
        if self.failures.blocked(client, token):
            raise RequestError(
                Code.TOO_MANY_REQUESTS,
                f"Too many unknown API keys or invalid tokens from {client}: retry after "
                f"{self.failures.window:g} s with a valid one.",
                {"Retry-After": f"{self.failures.window:g}"},
            )


def _unauthenticated(message: str, challenge: str = "Bearer") -> RequestError:
    return RequestError(Code.UNAUTHENTICATED, message, {"WWW-Authenticate": challenge})
