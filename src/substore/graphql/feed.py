"""Subscription.subscriberChanges: the change feed live, over graphql-transport-ws or SSE
(web/transport_ws.py, web/sse.py). A subscription has no request connection: it reads
through the process's Feed (events/feed.py)."""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, TypeVar

import strawberry
from graphql import GraphQLError
from strawberry.types import Info as StrawberryInfo

from substore.auth import Principal
from substore.errors import RequestCode
from substore.events.feed import Feed, TooManySubscriptions
from substore.graphql import typed
from substore.graphql.events import SubscriberEvent
from substore.graphql.scalars import Sequence


@dataclass
class FeedContext:
    """What a subscription's resolvers see: who subscribes, and the feed."""

    feed: Feed
    principal: Principal | None = None  # None on a WebSocket until connection_init admits it
    # graphql-transport-ws's connection_init payload (strawberry's handler sets it).
    connection_params: dict[str, Any] = field(default_factory=dict)
    # Whether the credential the principal was admitted with still admits (an API key not
    # revoked since), asked every `recheck_seconds` while a subscription is open; None:
    # never asked. A token's subscriptions end at its exp (Principal.expires_at).
    still_admitted: Callable[[], Awaitable[bool]] | None = None
    recheck_seconds: float = 5.0

    @property
    def caller(self) -> str:
        """Whom the subscription limit counts: an API key, or a token's subject."""
        p = self.principal
        assert p is not None
        return f"{p.account_id}:{p.method}:{p.actor}"


FeedInfo = StrawberryInfo[FeedContext, None]


@strawberry.type(
    description="Live updates, over graphql-transport-ws (WebSocket) or server-sent events."
)
class Subscription:
    @typed.subscription(
        description="Each change of a subscriber as it commits, in sequence order. With "
        "`after` (a sequence or a cursor), first every event after it: a client that "
        "reconnects with the last sequence it saw misses nothing. Without, changes from now."
    )
    async def subscriber_changes(
        self,
        info: FeedInfo,
        after: Annotated[
            Sequence | None,
            strawberry.argument(
                description="The last sequence (or cursor) the client saw: the events after "
                "it are sent first (null: only changes from now)."
            ),
        ] = None,
    ) -> AsyncGenerator[SubscriberEvent, None]:
        ctx = info.context
        assert ctx.principal is not None  # subscriptions run only once admitted
        account_id = ctx.principal.account_id
        try:
            with ctx.feed.slot(ctx.caller):
                start = after if after is not None else await ctx.feed.last_sequence(account_id)
                async for row in _while_admitted(ctx, ctx.feed.follow(account_id, start)):
                    yield SubscriberEvent.of(row)
        except TooManySubscriptions as error:
            code = str(RequestCode.TOO_MANY_REQUESTS)
            raise GraphQLError(str(error), extensions={"code": code}) from None


T = TypeVar("T")


async def _while_admitted(ctx: FeedContext, items: AsyncIterator[T]) -> AsyncIterator[T]:
    """`items` while the subscriber's credential admits it: a GraphQLError (UNAUTHENTICATED)
    at its token's exp, or once its API key no longer authenticates (looked up again every
    `recheck_seconds`), whether or not items are coming."""
    principal = ctx.principal
    assert principal is not None
    interval = max(1.0, ctx.recheck_seconds)
    next_check = time.monotonic() + interval if ctx.still_admitted is not None else math.inf
    pending: asyncio.Future[T] | None = None
    try:
        while True:
            if principal.expires_at is not None and time.time() >= principal.expires_at:
                raise _unauthenticated("The token has expired: subscribe again with a new one.")
            if ctx.still_admitted is not None and time.monotonic() >= next_check:
                if not await ctx.still_admitted():
                    raise _unauthenticated("The API key no longer authenticates (revoked).")
                next_check = time.monotonic() + interval
            if pending is None:
                pending = asyncio.ensure_future(anext(items))
            waits = [next_check - time.monotonic()]
            if principal.expires_at is not None:
                waits.append(principal.expires_at - time.time())
            timeout = max(0.0, min(waits))
            done, _ = await asyncio.wait(
                {pending}, timeout=None if math.isinf(timeout) else timeout
            )
            if pending in done:
                try:
                    item = pending.result()
                except StopAsyncIteration:
                    return
                finally:
                    pending = None
                yield item
    finally:
        if pending is not None:
            pending.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await pending
        if isinstance(items, AsyncGenerator):
            await items.aclose()


def _unauthenticated(message: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": str(RequestCode.UNAUTHENTICATED)})
