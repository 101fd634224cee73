"""Consent in the contract: a subscriber's history, canMessage, the account's quiet hours.

The resolvers here are attached to Subscriber in types.py; they take strawberry's plain
Info (not the typed one of context.py, which imports types.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import strawberry

from substore import models, services
from substore.consent.quiet_hours import BlockReason
from substore.errors import SubstoreError
from substore.graphql.enums import described_enum
from substore.graphql.paging import PageInfo, bad_cursor, query_error, seal, unseal

# strawberry.enum marks each class in place: the names are aliases, types to mypy.
ConsentAction = models.ConsentAction
MessageBlockReason = BlockReason
described_enum(
    ConsentAction,
    "ConsentAction",
    "What a consent event did.",
    {
        "SUBSCRIBED": "Consent given: the subscriber became, or stayed, SUBSCRIBED.",
        "UNSUBSCRIBED": "An opt-out (a keyword, an API call or an import), or a further STOP "
        "from a number already opted out.",
        "RESUBSCRIBE_REFUSED": "SUBSCRIBED was asked for a number that opted out, with no "
        "consent given after the opt-out: it stays UNSUBSCRIBED.",
        "REKEYED": "`substore rekey --apply` changed the subscriber's e164Number: the "
        "phonenumbers metadata now reads its number differently (detail: old -> new).",
        "MERGED": "`substore rekey --apply` found another subscriber to be the same number "
        "and merged it into this one: its events are here now, and detail says how consent "
        "was decided (an opt-out on either wins unless consent was given after it).",
    },
)
described_enum(
    MessageBlockReason,
    "MessageBlockReason",
    "Why a message may not go out.",
    {
        "UNSUBSCRIBED": "The subscriber opted out.",
        "QUIET_HOURS": "It is quiet hours in at least one of the number's time zones.",
    },
)


@strawberry.type(
    description="One change of a subscriber's consent (or a refused one), or of its key "
    "(REKEYED, MERGED: `substore rekey --apply`)."
)
class ConsentEvent:
    at: datetime = strawberry.field(
        description="When the change happened (a keyword message's receivedAt)."
    )
    action: ConsentAction = strawberry.field(description="What the change was.")
    source: str | None = strawberry.field(description='"api", "import", "keyword:STOP" ...')
    detail: str | None = strawberry.field(
        description="The keyword message, or who made the change: the prefix of their API "
        "key, or the subject (sub) of their JWT."
    )


@strawberry.type(description="A consent event and its cursor.")
class ConsentEventEdge:
    node: ConsentEvent = strawberry.field(description="The consent event.")
    cursor: str = strawberry.field(
        description="Pass it as consentEvents(after:) to read the events after this one."
    )


@strawberry.type(description="Consent events, oldest first.")
class ConsentEventConnection:
    edges: list[ConsentEventEdge] = strawberry.field(
        description="The events of this page, oldest first."
    )
    page_info: PageInfo = strawberry.field(
        description="Whether more events lie beyond this page, and its cursors."
    )


@strawberry.type(description="Whether a message may go out now (or at the time asked).")
class MessagePermission:
    allowed: bool = strawberry.field(description="Whether a message may go out at that moment.")
    reason: MessageBlockReason | None = strawberry.field(description="Why not; null when allowed.")
    next_allowed_at: datetime | None = strawberry.field(
        description="When quiet hours end in every one of the number's time zones; null "
        "when opted out, or when those zones never leave quiet hours together."
    )


@strawberry.type(description='Local "HH:MM" times between which no message may go out.')
class QuietHours:
    start: str = strawberry.field(description='Local "HH:MM" when quiet hours begin.')
    end: str = strawberry.field(
        description='Local "HH:MM" when they end; equal to start, there are no quiet hours.'
    )


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
    root: Any,
    info: strawberry.Info,
    first: Annotated[
        int, strawberry.argument(description="How many events to read, 0 to 500.")
    ] = 50,
    after: Annotated[
        str | None,
        strawberry.argument(
            description="A cursor of this list: read the events after it (null: from the first)."
        ),
    ] = None,
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


def can_message(
    root: Any,
    info: strawberry.Info,
    at: Annotated[
        datetime | None,
        strawberry.argument(description="The moment to ask about (null: now)."),
    ] = None,
) -> MessagePermission:
    found = services.can_message(info.context.account, root.row, at)
    return MessagePermission(
        allowed=found.allowed, reason=found.reason, next_allowed_at=found.next_allowed_at
    )


def quiet_hours(account: services.Record) -> QuietHours:
    return QuietHours(
        start=account.quiet_hours_start.strftime("%H:%M"),
        end=account.quiet_hours_end.strftime("%H:%M"),
    )
