"""One LISTEN connection per process, shared by every subscription it serves.

Each write of subscriber_events NOTIFYs repository.outbox.CHANNEL with its account's id
at commit; the listener sets the wake-up of each subscription of that account, which then
reads what is new from the table. The notification carries no event: the table is the
only source, so a missed or doubled notification costs a read, never an event.

The connection opens with the first subscription. If it is lost, every subscription is
woken (to read what it may have missed) and the next wait opens it again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator
from typing import Any

import asyncpg
from sqlalchemy.engine import URL

from substore.repository.outbox import CHANNEL

log = logging.getLogger("substore.events")


def asyncpg_dsn(url: URL) -> str:
    """An SQLAlchemy URL as asyncpg's own connect() takes it (socket `host=` kept)."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


class Listener:
    """LISTEN on CHANNEL over one connection; `watch(account_id)` gives an Event that is
    set when that account's events commit."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self._connection: Any = None
        self._opening = asyncio.Lock()
        self._waiters: dict[int, set[asyncio.Event]] = {}

    async def start(self) -> None:
        """Open the connection unless it is open (idempotent; concurrent calls share it)."""
        if self._connection is not None:
            return
        async with self._opening:
            if self._connection is None:
                connection = await asyncpg.connect(self.dsn)
                connection.add_termination_listener(self._lost)
                await connection.add_listener(CHANNEL, self._notified)
                self._connection = connection

    @contextlib.contextmanager
    def watch(self, account_id: int) -> Iterator[asyncio.Event]:
        woken = asyncio.Event()
        waiters = self._waiters.setdefault(account_id, set())
        waiters.add(woken)
        try:
            yield woken
        finally:
            waiters.discard(woken)
            if not waiters:
                self._waiters.pop(account_id, None)

    @property
    def watching(self) -> int:
        return sum(len(waiters) for waiters in self._waiters.values())

    async def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.remove_termination_listener(self._lost)
            with contextlib.suppress(Exception):  # closing: a lost connection is as good
                await connection.close(timeout=2)

    def _notified(self, _connection: Any, _pid: int, _channel: str, payload: object) -> None:
        with contextlib.suppress(ValueError):
            for woken in self._waiters.get(int(str(payload)), ()):
                woken.set()

    def _lost(self, _connection: Any) -> None:
        log.warning("the change feed's LISTEN connection was lost; reopening it")
        self._connection = None
        for waiters in self._waiters.values():
            for woken in waiters:
                woken.set()
