"""Lookups by number that arrive together share one statement.

A frontend checks a number before each message, so lookups come many at a time. Each
on its own is a round trip and a statement for PostgreSQL, and most of a lookup's CPU
there goes to the statement, not to the row. Here, while `statements` are in flight in
this process, the lookups that arrive wait, and the next statement asks for all of an
account's at once (`e164_number = ANY(...)` on the same index, one shard on Citus). A
lookup that finds a statement free and nobody waiting runs at once on its request's own
connection, as it would without any of this.

Only reads outside a transaction come here (query operations, on autocommit readers):
each statement reads the latest committed rows, as a lookup of its own would.
"""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from substore import repository
from substore.repository import Record
from substore.web.readers import Readers

# One account's waiting lookups: number -> the futures of the requests that asked.
Waiting = dict[str, list[asyncio.Future[Record | None]]]


class Lookups:
    def __init__(self, readers: Readers, statements: int) -> None:
        self.readers = readers
        self.statements = statements  # in flight at once, at most
        self._waiting: dict[int, Waiting] = {}
        self._busy = 0
        self._tasks: set[asyncio.Task[None]] = set()

    async def by_e164(self, conn: AsyncConnection, account_id: int, e164: str) -> Record | None:
        """The account's subscriber with this key (services.find_subscriber's `by_e164`):
        at once on the request's own connection while a statement is free and nobody
        waits, else with the next shared statement."""
        if self._busy < self.statements and not self._waiting:
            self._busy += 1
            try:
                return await repository.get_subscriber_by_e164(conn, account_id, e164)
            finally:
                self._busy -= 1
                self._start()
        future: asyncio.Future[Record | None] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(account_id, {}).setdefault(e164, []).append(future)
        self._start()
        return await future

    def _start(self) -> None:
        """A shared statement for those waiting, if a statement is free."""
        if self._waiting and self._busy < self.statements:
            self._busy += 1
            task = asyncio.create_task(self._drain())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _drain(self) -> None:
        try:
            while self._waiting:
                account_id = next(iter(self._waiting))
                await self._fetch(account_id, self._waiting.pop(account_id))
        finally:
            self._busy -= 1

    async def _fetch(self, account_id: int, waiting: Waiting) -> None:
        try:
            async with self.readers.lease() as lease:
                found = await repository.get_subscribers_by_e164(
                    lease.connection, account_id, list(waiting)
                )
        except Exception as error:
            _fail(waiting, error)
            return
        except BaseException:  # cancelled (shutting down): nobody is answered
            for futures in waiting.values():
                for future in futures:
                    future.cancel()
            raise
        for e164, futures in waiting.items():
            row = found.get(e164)
            for future in futures:
                if not future.done():  # its request may have gone
                    future.set_result(row)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


def _fail(waiting: Waiting, error: BaseException) -> None:
    """Each request gets an error of its own: one instance raised in several tasks would
    gather every task's traceback."""
    for futures in waiting.values():
        for future in futures:
            if not future.done():
                future.set_exception(_copy(error))


def _copy(error: BaseException) -> BaseException:
    if isinstance(error, ConnectionError):
        copied: Any = ConnectionError(*error.args)
        copied.__cause__ = error.__cause__
        return copied  # type: ignore[no-any-return]
    return error
