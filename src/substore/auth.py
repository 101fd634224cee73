"""API keys: made random, shown once, stored as a SHA-256 hash; scopes read and write.
Also who a request's caller is (Principal), whether a key or a JWT (tokens.py) says so."""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncConnection

from substore import repository
from substore.errors import NotFoundError, ValidationError
from substore.models import Scope
from substore.repository import Record

KEY_PREFIX = "sk_"
_PREFIX_LENGTH = 12  # "sk_" and 9 characters: enough to tell keys apart in a list


@dataclass(frozen=True, slots=True)
class NewKey:
    """A key as created: the secret exists only here, the store keeps its hash."""

    secret: str
    scope: Scope
    record: Record


class Method(StrEnum):
    """How a caller proved who it is."""

    KEY = "key"  # an API key (sk_...)
    JWT = "jwt"  # a token from the app's identity provider (tokens.py)


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: their account, what they may do, how they authenticated, and the
    actor recorded with the changes they make and in the access log (a key's prefix, a
    token's `sub`)."""

    account_id: int
    scope: Scope
    method: Method
    actor: str
    # When the credential stops admitting (a token's `exp`, seconds since the epoch); None:
    # until revoked (an API key). Open subscriptions end then (graphql/feed.py).
    expires_at: float | None = field(default=None, compare=False)

    @property
    def can_write(self) -> bool:
        return self.scope is Scope.WRITE


def hash_key(secret: str) -> str:
    # The secrets are 32 random bytes: a fast hash is enough, no salt or KDF needed.
    return hashlib.sha256(secret.encode()).hexdigest()


async def create_key(conn: AsyncConnection, account_id: int, scope: Scope | str) -> NewKey:
    scope = Scope(scope)
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    record = await repository.create_api_key(
        conn, account_id, scope.value, secret[:_PREFIX_LENGTH], hash_key(secret)
    )
    return NewKey(secret, scope, record)


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, else None."""
    if not authorization:
        return None
    kind, _, token = authorization.strip().partition(" ")
    if kind.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


async def list_keys(conn: AsyncConnection, account_id: int) -> list[Record]:
    """The account's keys, oldest first: prefix, scope and dates, never a secret."""
    return await repository.list_api_keys(conn, account_id)


async def revoke_key(conn: AsyncConnection, account_id: int, key_or_prefix: str) -> Record:
    """Revoke the account's live key given whole or by its prefix exactly as `keys list`
    prints it ("sk_KL_eqvQR2…"); the revoked key's row. Anything shorter is refused: an
    empty string or "sk_" matched every key."""
    given = key_or_prefix.strip().removesuffix("…").removesuffix("...")
    if len(given) < _PREFIX_LENGTH or not given.startswith(KEY_PREFIX):
        raise ValidationError(
            f"{key_or_prefix!r} is not a key: give the whole key (sk_...) or its prefix "
            "exactly as `substore keys list` prints it.",
            field=("key",),
        )
    live = [k for k in await list_keys(conn, account_id) if k.revoked_at is None]
    # A whole key starts with its stored prefix; a listed prefix is the stored one.
    found = next((k for k in live if given.startswith(k.prefix)), None)
    if found is None:
        raise NotFoundError(
            f"no live key {given[:_PREFIX_LENGTH]}… in account {account_id}: "
            "`substore keys list` shows them.",
            field=("key",),
        )
    await repository.revoke_api_key(conn, account_id, found.id)
    return found


async def authenticate(conn: AsyncConnection, token: str | None) -> Principal | None:
    """The caller behind `token`, or None when it is missing, unknown or revoked."""
    if not token or not token.startswith(KEY_PREFIX):
        return None
    found = await repository.find_api_key(conn, hash_key(token))
    if found is None:
        return None
    return Principal(found.account_id, Scope(found.scope), Method.KEY, found.prefix)


@dataclass
class PrincipalCache:
    """Recently authenticated credentials, so a request need not check its key (a lookup)
    or token (a signature) every time.

    A revoked key keeps working in a running server for at most `seconds`; a token is
    never kept past its `exp`. Entries are keyed by the credential's SHA-256, so a 4 KB
    token costs 32 bytes. Only the account id and scope are kept: the account itself has
    its own cache (the endpoint's, dropped when this process updates the account).
    """

    seconds: float
    clock: Callable[[], float] = time.monotonic
    wall_clock: Callable[[], float] = time.time  # what a token's exp is measured against
    _entries: dict[bytes, tuple[float, Principal]] = field(default_factory=dict)

    def get(self, credential: str) -> Principal | None:
        entry = self._entries.get(_digest(credential))
        if entry is None or entry[0] < self.clock():
            return None
        return entry[1]

    def put(self, credential: str, principal: Principal, until: float | None = None) -> None:
        """Keep `principal` for `seconds`, or only until `until` (epoch seconds) if sooner."""
        seconds = self.seconds if until is None else min(self.seconds, until - self.wall_clock())
        if seconds <= 0:
            return
        if len(self._entries) > 10_000:  # bounded: drop everything rather than grow
            self._entries.clear()
        self._entries[_digest(credential)] = (self.clock() + seconds, principal)


def _digest(credential: str) -> bytes:
    return hashlib.sha256(credential.encode()).digest()
