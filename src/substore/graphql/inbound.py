"""recordInboundMessage: a message a subscriber sent, and the keyword it carries."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from substore import services
from substore.consent.keywords import InboundAction as ActionValue
from substore.graphql import types as t
from substore.graphql.context import Info
from substore.graphql.enums import described_enum
from substore.graphql.scalars import PhoneNumber

InboundAction = ActionValue  # an alias (a type to mypy): strawberry.enum marks it in place
described_enum(
    InboundAction,
    "InboundAction",
    "What an inbound message did, by the keyword it is.",
    {
        "OPTED_OUT": "An opt-out keyword (STOP, UNSUBSCRIBE, CANCEL, END, QUIT ...): the "
        "number is UNSUBSCRIBED, stored as a suppression entry if it was not stored.",
        "OPTED_IN": "START, UNSTOP or YES: the number is SUBSCRIBED (stored if it was not), "
        "the message its consent; one older than the opt-out does not undo it.",
        "HELP": "HELP or INFO: nothing changed.",
        "NONE": "No keyword: nothing changed.",
    },
)


@strawberry.input(description="A message a subscriber sent to one of the account's numbers.")
class RecordInboundMessageInput:
    from_: PhoneNumber = strawberry.field(
        name="from", description="The sender, in any format (read in the account's region)."
    )
    text: str = strawberry.field(
        description="The message as received; only a whole-message keyword acts (any case, "
        "a trailing . or ! ignored)."
    )
    received_at: datetime | None = strawberry.field(
        default=None, description="When the message arrived (default now)."
    )


@strawberry.type(description="What recordInboundMessage did.")
class RecordInboundMessagePayload:
    action: InboundAction = strawberry.field(description="What the message did.")
    keyword: str | None = strawberry.field(
        description="The keyword as matched, upper case; null when there is none."
    )
    subscriber: t.Subscriber | None = strawberry.field(
        description="The sender's subscriber as the message left it; null when the input "
        "was refused, or a HELP or keyword-less message came from a number not stored."
    )
    user_errors: list[t.UserError] = strawberry.field(
        description="Why the message was refused (a number that cannot be read, a "
        "receivedAt in the future); nothing was recorded."
    )


async def record_inbound_message(
    info: Info,
    input: Annotated[
        RecordInboundMessageInput,
        strawberry.argument(description="The message, its sender and when it arrived."),
    ],
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
