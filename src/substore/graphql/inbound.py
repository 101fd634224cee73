"""recordInboundMessage: a message a subscriber sent, and the keyword it carries."""

from __future__ import annotations

from datetime import datetime

import strawberry

from substore import services
from substore.consent.keywords import InboundAction as ActionValue
from substore.graphql import types as t
from substore.graphql.context import Info
from substore.graphql.scalars import PhoneNumber

InboundAction = ActionValue  # an alias (a type to mypy): strawberry.enum marks it in place
strawberry.enum(InboundAction, name="InboundAction")


@strawberry.input(description="A message a subscriber sent to one of the account's numbers.")
class RecordInboundMessageInput:
    from_: PhoneNumber = strawberry.field(
        name="from", description="The sender, in any format (read in the account's region)."
    )
    text: str
    received_at: datetime | None = strawberry.field(
        default=None, description="When the message arrived (default now)."
    )


@strawberry.type
class RecordInboundMessagePayload:
    action: InboundAction
    keyword: str | None = strawberry.field(description="The keyword as matched, upper case.")
    subscriber: t.Subscriber | None
    user_errors: list[t.UserError]


async def record_inbound_message(
    info: Info, input: RecordInboundMessageInput
) -> RecordInboundMessagePayload:
    ctx = info.context
    result = await ctx.db(
        services.record_inbound_message,
        ctx.account,
        input.from_,
        input.text,
        input.received_at,
    )
    return RecordInboundMessagePayload(
        action=result.action,
        keyword=result.keyword,
        subscriber=t.Subscriber.of(result.subscriber) if result.subscriber else None,
        user_errors=t.user_errors(result.user_errors),
    )
