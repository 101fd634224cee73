"""An identity provider's public keys (a JWKS), fetched with PyJWT's PyJWKClient.

Keys are kept by `kid`. A token naming a kid the set does not have fetches the set again,
so a provider's key rotation needs no restart; fetches happen at most once every
`interval` seconds whatever tokens arrive (a flood of made-up kids costs the provider one
request every 5 s), and run in a thread with a timeout: PyJWKClient's urllib I/O blocks.
A set older than `lifespan` is fetched again in the background while its keys keep
working, so a key the provider withdrew stops working without a restart either; when
that fetch fails the keys already known stay in use (a provider's outage is not ours).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from jwt import PyJWK, PyJWKClient
from jwt.exceptions import PyJWTError

log = logging.getLogger("substore.auth")

REFETCH_INTERVAL = 5.0  # seconds between two fetches, at least
LIFESPAN = 300.0  # a set older than this is fetched again (PyJWKClient's default)
FETCH_TIMEOUT = 5.0  # seconds for the provider to answer


class KeySetError(Exception):
    """The key set has no key for a token: its message says why (unknown kid, unreachable)."""


class KeySet:
    def __init__(
        self,
        url: str,
        algorithms: tuple[str, ...],
        *,
        timeout: float = FETCH_TIMEOUT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        # PyJWKClient fetches and parses; its own cache is off, the policy is ours.
        self.client = PyJWKClient(url, cache_jwk_set=False, timeout=timeout)
        self.url, self.algorithms, self.clock = url, algorithms, clock
        self.keys: dict[str, PyJWK] = {}
        self.fetched_at: float | None = None  # the last fetch tried, failed or not
        self.loaded_at: float | None = None  # the last fetch that worked
        self.problem: str | None = None  # why the last fetch failed
        self._lock = asyncio.Lock()
        self._background: asyncio.Task[None] | None = None

    async def key(self, kid: str) -> PyJWK:
        """The key named `kid`; KeySetError when the set does not have it, even fetched
        again (if a fetch is due)."""
        found = self.keys.get(kid)
        if found is not None:
            if self._stale():
                self._refresh_in_background()
            return found
        await self.refresh()
        found = self.keys.get(kid)
        if found is None:
            raise KeySetError(self._missing(kid))
        return found

    async def refresh(self) -> None:
        """Fetch the set again, unless a fetch was tried within the interval."""
        async with self._lock:  # concurrent tokens with new kids share one fetch
            if self.fetched_at is not None and self.clock() - self.fetched_at < REFETCH_INTERVAL:
                return
            self.fetched_at = self.clock()
            try:
                keys = await asyncio.to_thread(self.client.get_signing_keys, True)
            except (PyJWTError, OSError, ValueError) as error:  # unreachable, not JSON, no keys
                self.problem = str(error)
                log.warning("key set %s: fetch failed: %s", self.url, error)
                return
            # A key without a kid could never be asked for: a token names its key's kid.
            self.keys = {
                k.key_id: k
                for k in keys
                if k.key_id is not None and k.algorithm_name in self.algorithms
            }
            self.loaded_at, self.problem = self.fetched_at, None

    def _stale(self) -> bool:
        return self.loaded_at is None or self.clock() - self.loaded_at > LIFESPAN

    def _refresh_in_background(self) -> None:
        if self._background is None or self._background.done():
            self._background = asyncio.get_running_loop().create_task(self.refresh())

    def _missing(self, kid: str) -> str:
        # Why a fetch failed stays in the log: a caller learns nothing of the set-up.
        named = f"The token's key {kid[:64]!r}"
        if self.loaded_at is None:
            return f"{named} cannot be checked: the key set could not be fetched."
        if self.problem is not None:
            return f"{named} is not in the key set, and fetching the set again failed."
        return f"{named} is not in the key set (fetched again {REFETCH_INTERVAL:g} s ago at most)."
