"""The per-request context resolvers see: who calls, and the request's one connection."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection
from strawberry.dataloader import DataLoader
from strawberry.types import Info as StrawberryInfo

from substore import services
from substore.auth import Principal
from substore.graphql.types import Subscriber
from substore.services import CpuRunner, Record


@dataclass
class Context:
    principal: Principal
    account: Record
    request_id: str
    connection: AsyncConnection
    run_cpu: CpuRunner
    # graphql-core resolves sibling fields concurrently; one connection runs one
    # statement at a time, so resolvers take turns.
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    subscriber_loader: DataLoader[int, Any] = field(init=False)

    def __post_init__(self) -> None:
        self.subscriber_loader = DataLoader(load_fn=self._load_subscribers)

    async def _load_subscribers(self, ids: list[int]) -> list[Any]:
        async with self.db() as conn:
            found = await services.get_subscribers(conn, self.account, ids)
        return [Subscriber.of(found[i]) if i in found else None for i in ids]

    @asynccontextmanager
    async def db(self) -> AsyncIterator[AsyncConnection]:
        async with self._lock:
            yield self.connection


Info = StrawberryInfo[Context, None]
