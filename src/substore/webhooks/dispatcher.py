"""The dispatcher: the loop inside `substore serve` that delivers every account's events.

Exactly one runs against a database, however many processes and replicas serve it: the
loop works only while its own connection holds a session-level advisory lock
(`pg_try_advisory_lock`), which PostgreSQL releases when that connection ends, a kill -9
included; the others try again every few seconds and take over. Within the one, each
endpoint with something to send gets a task of its own (a slow receiver delays only
itself), and an endpoint's batches go one after another, in sequence order.

New events are found by polling (`poll_seconds`, 0.2 s by default): one indexed query
over the endpoints, cheap next to the write that made the event. The writing statements
notify no one (a NOTIFY would serialise the commits of the whole cluster), as the
subscription feed polls too (events/poller.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from datetime import timedelta
from functools import partial

import httpx
import sqlalchemy.exc
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from substore.config import Settings
from substore.repository import webhooks as repo
from substore.webhooks.delivery import TIMEOUT_SECONDS, Clock, Sender, step, utc_now

log = logging.getLogger("substore.webhooks")
# What a database that is down or restarting raises (web/outage.py answers requests so).
_UNREACHABLE = (OSError, sqlalchemy.exc.DBAPIError, sqlalchemy.exc.TimeoutError)
LOCK_KEY = 0x5B5_7E8_00C  # "substore webhooks": the advisory lock every dispatcher asks for
LOCK_RETRY_SECONDS = 2.0
PRUNE_EVERY_SECONDS = 60.0
MAX_PARALLEL_ENDPOINTS = 32


class Dispatcher:
    """Start with `start()`, stop with `await stop()`; `holds_lock` says whether this one
    is the one delivering."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        allow_private: bool = False,
        poll_seconds: float = 0.2,
        retention: timedelta = timedelta(days=30),
        clock: Clock = utc_now,
        rng: random.Random | None = None,
    ) -> None:
        self.engine, self.poll_seconds, self.retention = engine, poll_seconds, retention
        self.clock = clock
        self._allow_private, self._rng = allow_private, rng
        self._task: asyncio.Task[None] | None = None
        self._running: dict[tuple[int, int], asyncio.Task[None]] = {}
        self._slots = asyncio.Semaphore(MAX_PARALLEL_ENDPOINTS)
        self._pruned_at = 0.0
        self.holds_lock = False

    @classmethod
    def from_settings(cls, engine: AsyncEngine, settings: Settings) -> Dispatcher:
        return cls(
            engine,
            allow_private=settings.webhook_allow_private,
            poll_seconds=settings.webhook_poll_seconds,
            retention=timedelta(days=settings.event_retention_days),
        )

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="webhook-dispatcher")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        # Redirects are not followed (a 3xx is a failure: the target must be the URL that
        # was checked) and no proxy from the environment is used (it would bypass the check).
        limits = httpx.Limits(max_connections=MAX_PARALLEL_ENDPOINTS)
        async with httpx.AsyncClient(
            timeout=TIMEOUT_SECONDS, follow_redirects=False, trust_env=False, limits=limits
        ) as client:
            sender = Sender(client, self._allow_private, self.clock, self._rng)
            unreachable = False
            while True:
                try:
                    await self._while_locked(sender)
                    unreachable = False
                except asyncio.CancelledError:
                    raise
                except _UNREACHABLE as error:  # one line an outage, not a traceback a try
                    if not unreachable:
                        log.warning("webhook dispatcher: database unreachable (%s)", error)
                    unreachable = True
                except Exception:  # anything else is ours: try again, as a new candidate
                    log.exception("webhook dispatcher failed; starting again")
                await asyncio.sleep(LOCK_RETRY_SECONDS)

    async def _while_locked(self, sender: Sender) -> None:
        async with self.engine.connect() as lock:
            # Autocommit: the lock is the session's; an open transaction would hold back
            # vacuum for as long as this process delivers.
            await lock.execution_options(isolation_level="AUTOCOMMIT")
            if not await lock.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": LOCK_KEY}):
                return
            self.holds_lock = True
            log.info("webhook dispatcher: delivering from this process")
            try:
                while True:
                    await lock.execute(text("SELECT 1"))  # still connected: still the one
                    await self._tick(sender)
                    await asyncio.sleep(self.poll_seconds)
            finally:
                self.holds_lock = False
                await self._cancel_running()
                await _release(lock)

    async def _tick(self, sender: Sender) -> None:
        async with self.engine.connect() as conn:
            due = await repo.due_endpoints(conn, self.clock(), limit=1000)
        for row in due:
            key: tuple[int, int] = (row.account_id, row.id)
            if key not in self._running:
                task = asyncio.create_task(self._drain(sender, key))
                self._running[key] = task
                task.add_done_callback(partial(self._finished, key))
        if time.monotonic() - self._pruned_at > PRUNE_EVERY_SECONDS:
            self._pruned_at = time.monotonic()
            await self.prune()

    async def _drain(self, sender: Sender, key: tuple[int, int]) -> None:
        """Send the endpoint's batches one after another while it has any and they succeed."""
        async with self._slots:
            try:
                while await step(self.engine, sender, *key):
                    pass
            except Exception:
                log.exception("webhook endpoint %s: a step failed", key[1])

    async def prune(self) -> int:
        """Delete events older than the retention that every enabled endpoint has delivered,
        and finished deliveries as old; how many events went."""
        before, pruned = self.clock() - self.retention, 0
        while True:
            async with self.engine.begin() as conn:
                count = await repo.prune_delivered_events(conn, before)
                await repo.prune_deliveries(conn, before)
            pruned += count
            if count < 10_000:
                return pruned

    def _finished(self, key: tuple[int, int], _task: asyncio.Task[None]) -> None:
        self._running.pop(key, None)

    async def _cancel_running(self) -> None:
        tasks = list(self._running.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def _release(lock: AsyncConnection) -> None:
    try:
        await asyncio.shield(lock.execute(text("SELECT pg_advisory_unlock_all()")))
    except Exception:  # the connection is gone, and the lock with it
        await lock.invalidate()
