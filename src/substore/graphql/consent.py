"""Consent in the contract: a subscriber's history, canMessage, the account's quiet hours.

The resolvers here are attached to Subscriber in types.py; they take strawberry's plain
Info (not the typed one of context.py, which imports types.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry

from substore import models, services
from substore.consent.quiet_hours import BlockReason
from substore.errors import SubstoreError
from substore.graphql.paging import PageInfo, bad_cursor, query_error, seal, unseal

# strawberry.enum marks each class in place: the names are aliases, types to mypy.
ConsentAction = models.ConsentAction
MessageBlockReason = BlockReason
strawberry.enum(ConsentAction, name="ConsentAction")
strawberry.enum(MessageBlockReason, name="MessageBlockReason")


@strawberry.type(description="One change of a subscriber's consent (or a refused one).")
class ConsentEvent:
    at: datetime
    action: ConsentAction
    source: str | None = strawberry.field(description='"api", "import", "keyword:STOP" ...')
    detail: str | None = strawberry.field(
        description="The keyword message, or who made the change: the prefix of their API "
        "key, or the subject (sub) of their JWT."
    )


@strawberry.type
class ConsentEventEdge:
    node: ConsentEvent
    cursor: str


@strawberry.type(description="Consent events, oldest first.")
class ConsentEventConnection:
    edges: list[ConsentEventEdge]
    page_info: PageInfo


@strawberry.type(description="Whether a message may go out now (or at the time asked).")
class MessagePermission:
    allowed: bool
    reason: MessageBlockReason | None
    next_allowed_at: datetime | None = strawberry.field(
        description="When quiet hours end in every one of the number's time zones; null "
        "when opted out, or when those zones never leave quiet hours together."
    )


@strawberry.type(description='Local "HH:MM" times between which no message may go out.')
class QuietHours:
    start: str
    end: str


def _cursor(event_id: int) -> str:
    return seal(f"ConsentEvent:{event_id}")


def _after(cursor: str | None) -> int:
    if cursor is None:
        return 0
    kind, _, digits = unseal(cursor).partition(":")
    event_id = int(digits) if digits.isascii() and digits.isdigit() else -1
    if kind != "ConsentEvent" or not 0 <= event_id < 2**63:
        raise bad_cursor()
    return event_id


async def consent_events(
    root: Any, info: strawberry.Info, first: int = 50, after: str | None = None
) -> ConsentEventConnection:
    ctx = info.context
    try:
        page = await ctx.db(
            services.consent_events, ctx.account, root.pk, first=first, after=_after(after)
        )
    except SubstoreError as error:
        raise query_error(error.user_error) from None
    edges = [
        ConsentEventEdge(
            node=ConsentEvent(at=r.at, action=r.action, source=r.source, detail=r.detail),
            cursor=_cursor(r.id),
        )
        for r in page.rows
    ]
    return ConsentEventConnection(
        edges=edges,
        page_info=PageInfo(
            has_previous_page=page.has_previous,
            has_next_page=page.has_next,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
    )


def can_message(root: Any, info: strawberry.Info, at: datetime | None = None) -> MessagePermission:
    found = services.can_message(info.context.account, root.row, at)
    return MessagePermission(
        allowed=found.allowed, reason=found.reason, next_allowed_at=found.next_allowed_at
    )


def quiet_hours(account: services.Record) -> QuietHours:
    return QuietHours(
        start=account.quiet_hours_start.strftime("%H:%M"),
        end=account.quiet_hours_end.strftime("%H:%M"),
    )
