"""The subscribers list: its orders, their cursors, and its connection (Relay style).

Query.subscribers (schema.py) is the field; this module answers it.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from functools import partial
from typing import Any

import strawberry

from substore import services
from substore.errors import SubstoreError
from substore.graphql import typed
from substore.graphql import types as t
from substore.graphql.context import Info
from substore.graphql.inputs import SubscriberFilter
from substore.graphql.paging import PageInfo, bad_cursor, query_error, seal, unseal


@strawberry.enum(description="The order of a subscribers page (each has its own cursors).")
class SubscriberOrder(Enum):
    _value_: str  # strawberry makes each enum_value's value the member's own
    # Values: the column, and " desc" where the order reads its index backward.
    CREATED_AT = strawberry.enum_value("created_at", description="Oldest first.")
    UPDATED_AT = strawberry.enum_value(
        "updated_at",
        description="Least recently changed first (a sync: see the docs, Sync and export).",
    )
    CREATED_AT_DESC = strawberry.enum_value("created_at desc", description="Newest first.")
    UPDATED_AT_DESC = strawberry.enum_value(
        "updated_at desc", description="Most recently changed first."
    )

    @property
    def column(self) -> str:
        return self._value_.split()[0]

    @property
    def descending(self) -> bool:
        return self._value_.endswith(" desc")


# A cursor names its order: "u|" for UPDATED_AT and so on. Cursors given out before
# orders existed carry no tag and are CREATED_AT ones.
_CURSOR_TAGS = {
    SubscriberOrder.CREATED_AT: "",
    SubscriberOrder.UPDATED_AT: "u|",
    SubscriberOrder.CREATED_AT_DESC: "cd|",
    SubscriberOrder.UPDATED_AT_DESC: "ud|",
}


def encode_cursor(row: Any, order: SubscriberOrder = SubscriberOrder.CREATED_AT) -> str:
    stamp = getattr(row, order.column).isoformat()
    return seal(f"{_CURSOR_TAGS[order]}{stamp}|{row.id}")


def _order_of(text: str) -> SubscriberOrder:
    tagged = (o for o, tag in _CURSOR_TAGS.items() if tag and text.startswith(tag))
    return next(tagged, SubscriberOrder.CREATED_AT)


def decode_cursor(
    cursor: str, order: SubscriberOrder = SubscriberOrder.CREATED_AT, argument: str = "after"
) -> tuple[datetime, int]:
    """The (order column, id) a cursor of `order` holds; PARAMETER_INVALID on `argument`
    for anything else, a cursor of another order included."""
    text = unseal(cursor, argument)
    if _order_of(text) is not order:
        raise bad_cursor(" for this orderBy", argument)
    stamp, _, digits = text.removeprefix(_CURSOR_TAGS[order]).partition("|")
    try:
        at, pk = datetime.fromisoformat(stamp), int(digits)
    except ValueError:
        raise bad_cursor(argument=argument) from None
    if at.tzinfo is None or not 0 < pk <= t.MAX_PK:
        raise bad_cursor(argument=argument)
    return at, pk


@strawberry.type(description="A page of subscribers (a Relay connection).")
class SubscriberConnection:
    edges: list[t.SubscriberEdge] = strawberry.field(
        description="The subscribers of this page, in the order asked for."
    )
    page_info: PageInfo = strawberry.field(
        description="Whether more subscribers lie beyond this page, and its cursors."
    )
    account: strawberry.Private[services.Record]
    where: strawberry.Private[services.SubscriberFilter]

    @typed.field(description="Subscribers matching the filter, over all pages.")
    async def total_count(self, info: Info) -> int:
        # Counted only when asked for: a COUNT over a large account is not free.
        return await info.context.db(services.count_subscribers, self.account, self.where)


async def list_subscribers(
    info: Info,
    *,
    first: int | None,
    after: str | None,
    last: int | None,
    before: str | None,
    filter: SubscriberFilter | None,
    order_by: SubscriberOrder,
) -> SubscriberConnection:
    """Query.subscribers: its arguments read, the page asked of the service, its edges."""
    ctx = info.context
    try:
        where = (filter or SubscriberFilter()).to_service()
        page = await ctx.db(
            services.page_subscribers,
            ctx.account,
            where,
            first=first,
            after=decode_cursor(after, order_by) if after else None,
            last=last,
            before=decode_cursor(before, order_by, "before") if before else None,
            order=order_by.column,
            descending=order_by.descending,
        )
    except SubstoreError as error:
        raise query_error(error.user_error) from None
    edges = [
        t.SubscriberEdge(node=t.Subscriber.of(r), make_cursor=partial(encode_cursor, r, order_by))
        for r in page.rows
    ]
    page_info = PageInfo(
        has_previous_page=page.has_previous,
        has_next_page=page.has_next,
        start_cursor=edges[0].make_cursor() if edges else None,
        end_cursor=edges[-1].make_cursor() if edges else None,
    )
    return SubscriberConnection(edges=edges, page_info=page_info, account=ctx.account, where=where)
