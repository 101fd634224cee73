"""When the database is down: tell callers to retry (503), log once, come back by itself.

A database outage used to look like a bug: a masked 500 and a traceback per request
(1,112 in 13 s). Now each request that meets it gets SERVICE_UNAVAILABLE with
Retry-After, the log gets one line when the outage starts and one when it ends, and
SQLAlchemy's pool, which drops its connections on the first disconnect it sees,
reconnects when the database is back. An embedded PostgreSQL that died is started
again by `watch_embedded`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator

import asyncpg
import sqlalchemy.exc
from sqlalchemy.ext.asyncio import AsyncEngine

from substore import embedded

log = logging.getLogger("substore.database")

RETRY_AFTER_SECONDS = 2
_UNAVAILABLE = (
    OSError,  # refused, reset, no socket file, timed out, out of file descriptors
    sqlalchemy.exc.TimeoutError,  # every pooled connection busy for pool_timeout
    asyncpg.PostgresConnectionError,
    asyncpg.ConnectionDoesNotExistError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
)


def _chain(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = (
            getattr(current, "original_error", None)  # GraphQLError
            or getattr(current, "orig", None)  # SQLAlchemy's DBAPIError
            or current.__cause__
            or current.__context__
        )


# A transaction PostgreSQL ended to break a deadlock, or could not serialise: nothing of it
# was stored, and running it again is the documented remedy.
_CONFLICTS = (asyncpg.DeadlockDetectedError, asyncpg.SerializationError)


def is_conflict(error: BaseException) -> bool:
    """Whether `error` means a concurrent transaction made this one fail (retry it)."""
    return any(isinstance(link, _CONFLICTS) for link in _chain(error))


def is_unavailable(error: BaseException) -> bool:
    """Whether `error` means the database cannot be reached (not a bug of ours)."""
    for link in _chain(error):
        if isinstance(link, _UNAVAILABLE):
            return True
        if isinstance(link, sqlalchemy.exc.DBAPIError) and link.connection_invalidated:
            return True
    return False


def one_line(error: BaseException) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) <= 200 else text[:197] + "..."


class Availability:
    """Whether the database answered last time; logs only when that changes."""

    def __init__(self) -> None:
        self.down_since: float | None = None

    def failed(self, error: BaseException) -> None:
        if self.down_since is None:
            self.down_since = time.monotonic()
            log.error("database unavailable, answering 503 until it is back: %s", one_line(error))

    def succeeded(self) -> None:
        if self.down_since is not None:
            log.warning("database is back after %.1f s", time.monotonic() - self.down_since)
            self.down_since = None


async def watch_embedded(engine: AsyncEngine, interval: float = 1.0) -> None:
    """Start the embedded PostgreSQL again whenever it stops, until cancelled."""
    failing = False
    while True:
        await asyncio.sleep(interval)
        try:
            restarted = await asyncio.to_thread(embedded.restart_if_stopped)
        except Exception as error:  # it may take a few tries while the old one exits
            if not failing:
                log.error("embedded PostgreSQL stopped; starting it again: %s", one_line(error))
            failing = True
            continue
        if restarted:
            log.warning("embedded PostgreSQL had stopped and was started again")
            await engine.dispose()  # pooled connections point at the dead server
        failing = False
