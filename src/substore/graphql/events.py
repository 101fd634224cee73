"""The change feed's types: an event as the webhooks name it, and its Relay connection.

Query.subscriberEvents pages the feed for replay; Subscription.subscriberChanges
(graphql/feed.py) sends the same events live. A cursor is the event's sequence in
decimal: a client may hand either to subscriberChanges(after:).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import strawberry
from strawberry.scalars import JSON

from substore import services
from substore.errors import SubstoreError
from substore.graphql import types as t
from substore.graphql.context import Info
from substore.graphql.paging import PageInfo, bad_cursor, query_error
from substore.graphql.scalars import MAX_SEQUENCE, Sequence

TYPE_DESCRIPTION = (
    "What happened, as the webhooks name it: subscriber.created, subscriber.updated, "
    "subscriber.deleted, subscriber.unsubscribed or subscriber.resubscribed."
)


@strawberry.type(description="The subscriber an event is about, as the change left it.")
class EventSubscriber:
    id: strawberry.ID = strawberry.field(description="The subscriber's global id.")
    e164_number: str = strawberry.field(
        description="Its number in E.164, e.g. +12015550123 (the key, as the change left it)."
    )
    status: t.SubscriberStatus = strawberry.field(description="Its status after the change.")
    changes: JSON = strawberry.field(
        description="The fields the change wrote, by their API names, as stored."
    )


@strawberry.type(description="One change of a subscriber (the outbox), as webhooks send it.")
class SubscriberEvent:
    id: strawberry.ID = strawberry.field(description="The event's own id (a UUID).")
    sequence: Sequence = strawberry.field(
        description="From 1 per account, in commit order, with no gaps; also its cursor."
    )
    type: str = strawberry.field(description=TYPE_DESCRIPTION)
    occurred_at: datetime = strawberry.field(
        description="When the change was made (a keyword message's receivedAt)."
    )
    source: str = strawberry.field(description="api, import or inbound (a keyword message).")
    actor: str | None = strawberry.field(
        description="Who made it: an API key's prefix or a token's subject; null for inbound."
    )
    subscriber: EventSubscriber = strawberry.field(
        description="The subscriber it is about, as the change left it."
    )

    @classmethod
    def of(cls, row: Any) -> SubscriberEvent:
        return cls(
            id=strawberry.ID(str(row.id)),
            sequence=row.sequence,
            type=row.type,
            occurred_at=row.occurred_at,
            source=row.source,
            actor=row.actor,
            subscriber=EventSubscriber(
                id=t.encode_id("Subscriber", row.subscriber_id),
                e164_number=row.e164_number,
                status=t.status_of(row.status),
                changes=row.changes,
            ),
        )


@strawberry.type(description="An event and its cursor.")
class SubscriberEventEdge:
    node: SubscriberEvent = strawberry.field(description="The event.")
    cursor: str = strawberry.field(
        description="The event's sequence in decimal: pass it as after, here or to "
        "subscriberChanges, to read the events after it."
    )


@strawberry.type(description="A page of the change feed, oldest first.")
class SubscriberEventConnection:
    edges: list[SubscriberEventEdge] = strawberry.field(
        description="The events of this page, in sequence order."
    )
    page_info: PageInfo = strawberry.field(
        description="Whether more events lie beyond this page, and its cursors."
    )


def cursor_of(sequence: int) -> str:
    return str(sequence)


def sequence_of(cursor: str | None) -> int:
    """The sequence a cursor names (None: before the first event)."""
    if cursor is None:
        return 0
    if not (cursor.isascii() and cursor.isdigit()) or int(cursor) > MAX_SEQUENCE:
        raise bad_cursor()
    return int(cursor)


async def subscriber_events(
    info: Info,
    first: Annotated[
        int | None,
        strawberry.argument(description="How many events to read, 0 to 500 (null: 100)."),
    ] = None,
    after: Annotated[
        str | None,
        strawberry.argument(
            description="A cursor (an event's sequence): read the events after it (null: "
            "from the first)."
        ),
    ] = None,
) -> SubscriberEventConnection:
    """Query.subscriberEvents: the account's events after the cursor, oldest first."""
    ctx = info.context
    try:
        page = await ctx.db(services.page_events, ctx.account, first, sequence_of(after))
    except SubstoreError as error:
        raise query_error(error.user_error) from None
    edges = [
        SubscriberEventEdge(node=SubscriberEvent.of(r), cursor=cursor_of(r.sequence))
        for r in page.rows
    ]
    page_info = PageInfo(
        has_previous_page=page.has_previous,
        has_next_page=page.has_next,
        start_cursor=edges[0].cursor if edges else None,
        end_cursor=edges[-1].cursor if edges else None,
    )
    return SubscriberEventConnection(edges=edges, page_info=page_info)
