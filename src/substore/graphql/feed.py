"""Subscription.subscriberChanges: the change feed live, over graphql-transport-ws or SSE
(web/transport_ws.py, web/sse.py). A subscription has no request connection: it reads
through the process's Feed (events/feed.py)."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from typing import Annotated, Any

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
                async for row in ctx.feed.follow(account_id, start):
                    yield SubscriberEvent.of(row)
        except TooManySubscriptions as error:
            code = str(RequestCode.TOO_MANY_REQUESTS)
            raise GraphQLError(str(error), extensions={"code": code}) from None
