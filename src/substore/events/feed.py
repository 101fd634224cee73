"""An account's events from a sequence on: first those in the table (replay), then each
new one as it commits, in order, none missed and none twice.

A subscription reads `after` its last sequence whenever the process's poller wakes it
(poller.py: within ~0.2 s of a commit), and at least every FALLBACK_SECONDS (should a
poll fail). As an
account's sequence follows commit order with no gaps, "above the last one seen" is
exactly what the subscriber has not seen.

Subscriptions open at once are limited per caller (API key or token subject), in this
process: `TooManySubscriptions` beyond the limit.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator

from sqlalchemy.ext.asyncio import AsyncEngine

from substore import repository
from substore.events.poller import Poller
from substore.repository import Record

BATCH = 500  # events a read
FALLBACK_SECONDS = 5.0


class TooManySubscriptions(Exception):
    """Raised when a caller opens more subscriptions than the limit allows."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"This caller has {limit} subscriptions open, the most allowed: close one first."
        )


class Feed:
    """The process's subscriptions: their poller, their reads, their limits."""

    def __init__(self, engine: AsyncEngine, poller: Poller, per_caller: int) -> None:
        self.engine, self.poller, self.per_caller = engine, poller, per_caller
        self.open: dict[str, int] = {}

    async def last_sequence(self, account_id: int) -> int:
        async with self.engine.connect() as conn:
            return await repository.last_sequence(conn, account_id)

    @contextlib.contextmanager
    def slot(self, caller: str) -> Iterator[None]:
        """Hold one of `caller`'s subscriptions; TooManySubscriptions past the limit."""
        count = self.open.get(caller, 0)
        if self.per_caller > 0 and count >= self.per_caller:
            raise TooManySubscriptions(self.per_caller)
        self.open[caller] = count + 1
        try:
            yield
        finally:
            self.open[caller] -= 1
            if not self.open[caller]:
                del self.open[caller]

    async def follow(self, account_id: int, after: int) -> AsyncIterator[Record]:
        """The account's events numbered above `after`, then each new one, forever."""
        with self.poller.watch(account_id) as woken:
            while True:
                woken.clear()  # before the read: a commit during it wakes the next wait
                rows = await self._read(account_id, after)
                for row in rows:
                    yield row
                    after = row.sequence
                if len(rows) < BATCH:
                    await self._wait(woken)

    async def _read(self, account_id: int, after: int) -> list[Record]:
        async with self.engine.connect() as conn:
            return await repository.events_after(conn, account_id, after, BATCH)

    async def _wait(self, woken: asyncio.Event) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(woken.wait(), FALLBACK_SECONDS)
