"""One poll per process, shared by every subscription it serves.

While any account is watched, a single background task reads every POLL_SECONDS the
counters of the watched accounts (account_event_counters.last_sequence, one indexed
query for all of them, on a pooled connection given back at once) and sets the wake-up
of each subscription of an account whose counter grew; the subscription then reads what
is new from the table. The wake-up carries no event: the table is the only source, so a
missed or doubled wake-up costs a read, never an event.

Why not LISTEN/NOTIFY: a NOTIFY takes a cluster-wide lock at commit, held through the
WAL flush, so every writing transaction of every account would commit one at a time,
listeners or not. The writing statements notify no one; a change reaches a subscription
within about POLL_SECONDS of its commit.

The task starts with the first watch and ends when nothing is watched. A failed poll is
logged and the next one tried; the feed reads at least every few seconds besides.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

log = logging.getLogger("substore.events")

POLL_SECONDS = 0.2
COUNTERS = sa.text(
    "SELECT account_id, last_sequence FROM account_event_counters WHERE account_id = ANY(:watched)"
)


class Poller:
    """`watch(account_id)` gives an Event that is set when that account's counter grows
    (its events committed), as seen by the process's one poll."""

    def __init__(self, engine: AsyncEngine, interval: float = POLL_SECONDS) -> None:
        self.engine, self.interval = engine, interval
        self._waiters: dict[int, set[asyncio.Event]] = {}
        self._seen: dict[int, int] = {}  # a watched account's last_sequence at the last poll
        self._task: asyncio.Task[None] | None = None
        self._failing = False

    @contextlib.contextmanager
    def watch(self, account_id: int) -> Iterator[asyncio.Event]:
        woken = asyncio.Event()
        waiters = self._waiters.setdefault(account_id, set())
        waiters.add(woken)
        # The task stops once nothing is watched; it checks that with no await before it
        # returns, so a task not yet done will see this waiter.
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="substore-event-poller")
        try:
            yield woken
        finally:
            waiters.discard(woken)
            if not waiters:
                self._waiters.pop(account_id, None)
                self._seen.pop(account_id, None)

    @property
    def watching(self) -> int:
        return sum(len(waiters) for waiters in self._waiters.values())

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        while self._waiters:
            await asyncio.sleep(self.interval)
            if self._waiters:
                await self.poll()

    async def poll(self) -> None:
        """Read the watched accounts' counters once; wake those that grew."""
        watched = list(self._waiters)
        try:
            async with self.engine.connect() as conn:
                rows = (await conn.execute(COUNTERS, {"watched": watched})).all()
        except Exception:
            if not self._failing:  # once a streak: the next poll tries again
                log.warning("the change feed's poll failed; retrying", exc_info=True)
            self._failing = True
            return
        self._failing = False
        found = {account_id: last for account_id, last in rows}
        for account_id in watched:
            last, before = found.get(account_id, 0), self._seen.get(account_id)
            if account_id not in self._waiters:
                continue  # no longer watched while we read
            self._seen[account_id] = last
            # A first poll of an account wakes it too: its subscriptions may have read
            # before a commit this poll is the first to see (one extra read at most).
            if before is None or last > before:
                for woken in self._waiters[account_id]:
                    woken.set()
