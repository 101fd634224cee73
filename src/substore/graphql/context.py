"""The per-request context resolvers see: who calls, and the request's one connection."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Concatenate, TypeVar

from graphql import DocumentNode
from sqlalchemy.ext.asyncio import AsyncConnection
from strawberry.dataloader import DataLoader
from strawberry.types import Info as StrawberryInfo

from substore import services
from substore.auth import Principal
from substore.graphql.types import Subscriber
from substore.services import CpuRunner, Record

T = TypeVar("T")
Work = Callable[Concatenate[AsyncConnection, ...], Awaitable[T]]


@dataclass
class Context:
    principal: Principal
    account: Record
    request_id: str
    connection: AsyncConnection
    run_cpu: CpuRunner
    # Set by updateAccount: the endpoint drops its cached copy of the account.
    account_changed: bool = False
    # False where fields run one after another (a plan): nothing cancels a sibling.
    concurrent: bool = True
    # An importSubscribers call's rows where they were read before execution (rows.py).
    import_rows: list[services.SubscriberInput] | None = None
    # The document as the edge parsed it: the schema's parse step takes it (documents.py).
    document: DocumentNode | None = None
    # Webhook URLs on loopback and private networks, and http ones (development, tests).
    webhook_allow_private: bool = False
    # How subscriber(number:) reads its row: shared statements for reads outside a
    # transaction (web/lookups.py); None, a statement of its own on the connection.
    by_e164: services.ByE164 | None = None
    # graphql-core resolves sibling fields concurrently; one connection runs one
    # statement at a time, so resolvers take turns.
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _work: set[asyncio.Task[Any]] = field(default_factory=set)
    subscriber_loader: DataLoader[int, Subscriber | None] = field(init=False)

    def __post_init__(self) -> None:
        self.subscriber_loader = DataLoader(load_fn=self._load_subscribers)

    async def _load_subscribers(self, ids: list[int]) -> list[Subscriber | None]:
        found = await self.db(services.get_subscribers, self.account, ids)
        return [Subscriber.of(found[i]) if i in found else None for i in ids]

    async def db(self, work: Work[T], *args: Any, **kwargs: Any) -> T:
        """`work(connection, *args, **kwargs)`, run to its end even if the field is cancelled.

        When one field fails, graphql-core cancels its siblings; a statement cancelled
        half-way leaves the connection unusable for the rest of the request (and its
        commit). So the work runs in its own task, shielded, and `settle` waits for it.
        """
        if not self.concurrent:
            return await work(self.connection, *args, **kwargs)
        task = asyncio.ensure_future(self._locked(work, *args, **kwargs))
        self._work.add(task)
        task.add_done_callback(self._work.discard)
        return await asyncio.shield(task)

    async def _locked(self, work: Work[T], *args: Any, **kwargs: Any) -> T:
        async with self._lock:
            return await work(self.connection, *args, **kwargs)

    async def settle(self) -> None:
        """Wait for database work whose field was cancelled (before commit or rollback)."""
        while self._work:
            await asyncio.gather(*self._work, return_exceptions=True)


Info = StrawberryInfo[Context, None]
