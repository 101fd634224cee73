"""Connections kept open for reads, handed from one query operation to the next.

Checking a connection out of SQLAlchemy's pool, switching it to autocommit, reaching its
driver connection and checking it back in each pass through a greenlet: about 80 us of a
200 us lookup. A read needs none of that per request: it runs in autocommit (no BEGIN, no
COMMIT) on a connection nobody else holds. So up to `size` of them stay checked out,
already in autocommit, and each query operation borrows one. Writes still check out their
own, with their one transaction.

A reader is handed back only after a clean request: one that failed (an exception, or an
answer of 500 or more) or lost its connection goes back to SQLAlchemy's pool, which resets
or discards it. After `engine.dispose()` (the watchdog does that when the embedded server
restarts) the readers opened before it are not used again.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from substore import db


class Lease:
    """One borrowed reader; `keep = False` sends it back to the pool instead of the shelf."""

    __slots__ = ("connection", "keep")

    def __init__(self, connection: AsyncConnection) -> None:
        self.connection = connection
        self.keep = True


class Readers:
    def __init__(self, engine: AsyncEngine, size: int) -> None:
        self.engine = engine
        self.size = size
        self._idle: list[tuple[AsyncConnection, Any]] = []  # (connection, its pool)

    @contextlib.asynccontextmanager
    async def lease(self) -> AsyncIterator[Lease]:
        # The pool it came from, taken before the request: a dispose() during it marks the
        # connection as one from before the restart.
        pool = self.engine.sync_engine.pool
        connection = await self._take(pool)
        lease = Lease(connection)
        try:
            yield lease
        except BaseException:
            await connection.close()
            raise
        if self._reusable(lease) and len(self._idle) < self.size:
            self._idle.append((connection, pool))
        else:
            await connection.close()

    async def _take(self, pool: Any) -> AsyncConnection:
        while self._idle:
            connection, opened_in = self._idle.pop()
            if opened_in is pool:
                await db.drop_old_plans(connection)  # see db.PLAN_MAX_AGE_SECONDS
                return connection
            await _drop(connection)  # from before a dispose(): the server restarted
        connection = await self.engine.connect()
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        return connection

    @staticmethod
    def _reusable(lease: Lease) -> bool:
        connection = lease.connection
        return (
            lease.keep
            and not connection.closed
            and not connection.invalidated
            and not connection.in_transaction()
        )

    async def close(self) -> None:
        while self._idle:
            connection, _ = self._idle.pop()
            await _close_quietly(connection)


async def _close_quietly(connection: AsyncConnection) -> None:
    with contextlib.suppress(Exception):  # its server may be gone: nothing to hand back
        await connection.close()


async def _drop(connection: AsyncConnection) -> None:
    """Close the socket itself: its pool was disposed of, and keeps no connection."""
    with contextlib.suppress(Exception):
        await connection.invalidate()
