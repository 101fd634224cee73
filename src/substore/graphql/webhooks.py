"""Webhook endpoints in the contract: types, inputs and thin resolvers over
services/webhooks.py. Secrets appear once, in the payload that made them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import strawberry

from substore import models
from substore.errors import ErrorCode, UserError
from substore.graphql import types as t
from substore.graphql.context import Info
from substore.graphql.enums import described_enum
from substore.graphql.paging import PageInfo, bad_cursor, query_error, seal, unseal
from substore.services import webhooks as hooks

DeliveryStatus = models.DeliveryStatus
described_enum(
    DeliveryStatus,
    "WebhookDeliveryStatus",
    "Where a batch of events stands.",
    {
        "PENDING": "Not delivered yet: being sent, or waiting for its next attempt.",
        "SUCCEEDED": "The endpoint answered 2xx within 10 s.",
        "FAILED": "Retries ran out (3 days): the endpoint was disabled.",
        "CANCELLED": "Dropped for a redelivery that sends its events again.",
    },
)
KIND = "WebhookEndpoint"


@strawberry.type(description="Where the account's subscriber events are POSTed.")
class WebhookEndpoint:
    id: strawberry.ID = strawberry.field(description="The endpoint's global id.")
    url: str = strawberry.field(description="The https URL events are POSTed to.")
    events: list[str] = strawberry.field(description="The event types it is sent.")
    enabled: bool = strawberry.field(
        description="Whether events are sent to it (false: disabled by a caller or by substore)."
    )
    disabled_reason: str | None = strawberry.field(
        description="Why it was disabled, when substore disabled it (retries ran out)."
    )
    delivered_sequence: int = strawberry.field(
        description="Every event numbered up to this one has been delivered."
    )
    created_at: datetime = strawberry.field(description="When the endpoint was made.")
    updated_at: datetime = strawberry.field(description="When it was last changed.")

    @classmethod
    def of(cls, row: Any) -> WebhookEndpoint:
        return cls(
            id=t.encode_id(KIND, row.id),
            url=row.url,
            events=list(row.event_types or hooks.EVENT_TYPES),
            enabled=row.enabled,
            disabled_reason=row.disabled_reason,
            delivered_sequence=row.delivered_sequence,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


@strawberry.type(description="One batch of events (up to 100) and its attempts.")
class WebhookDelivery:
    webhook_id: str = strawberry.field(description="The webhook-id header, on every attempt.")
    first_sequence: int = strawberry.field(description="The sequence of its first event.")
    last_sequence: int = strawberry.field(description="The sequence of its last event.")
    event_count: int = strawberry.field(description="How many events it carries (up to 100).")
    status: DeliveryStatus = strawberry.field(description="Where it stands.")
    attempts: int = strawberry.field(description="How many times it was sent.")
    last_status_code: int | None = strawberry.field(
        description="The HTTP status of the last attempt (null: no answer)."
    )
    last_error: str | None = strawberry.field(
        description="Why the last attempt failed, when it did (timeout, refused, a status)."
    )
    created_at: datetime = strawberry.field(description="When the batch was made.")
    last_attempt_at: datetime | None = strawberry.field(description="When it was last sent.")
    next_attempt_at: datetime | None = strawberry.field(
        description="When it will be sent again (null: not to be retried)."
    )
    delivered_at: datetime | None = strawberry.field(description="When it succeeded.")

    @classmethod
    def of(cls, row: Any) -> WebhookDelivery:
        return cls(
            webhook_id=row.message_id,
            first_sequence=row.first_sequence,
            last_sequence=row.last_sequence,
            event_count=row.event_count,
            status=models.DeliveryStatus(row.status),
            attempts=row.attempts,
            last_status_code=row.last_status_code,
            last_error=row.last_error,
            created_at=row.created_at,
            last_attempt_at=row.last_attempt_at,
            next_attempt_at=row.next_attempt_at,
            delivered_at=row.delivered_at,
        )


@strawberry.type(description="A delivery and its cursor.")
class WebhookDeliveryEdge:
    node: WebhookDelivery = strawberry.field(description="The delivery.")
    cursor: str = strawberry.field(description="Pass as `after` for the deliveries after it.")


@strawberry.type(description="An endpoint's deliveries, newest first.")
class WebhookDeliveryConnection:
    edges: list[WebhookDeliveryEdge] = strawberry.field(description="This page's deliveries.")
    page_info: PageInfo = strawberry.field(description="Where this page stands in the list.")


@strawberry.input(description="A new webhook endpoint.")
class CreateWebhookEndpointInput:
    url: str = strawberry.field(description="https, resolving to a public address.")
    events: list[str] | None = strawberry.field(
        default=None, description="Event types to send (subscriber.created, ...); all if omitted."
    )


@strawberry.input(description="Omitted fields keep their value.")
class UpdateWebhookEndpointInput:
    url: str | None = strawberry.field(
        default=None, description="A new https URL, checked as at creation."
    )
    enabled: bool | None = strawberry.field(
        default=None, description="true resumes delivery (a waiting batch is sent at once)."
    )
    events: list[str] | None = strawberry.field(
        default=strawberry.UNSET, description="null: every type."
    )
    rotate_secret: bool = strawberry.field(
        default=False, description="A new secret (shown once in this payload) signs from now on."
    )


@strawberry.type(description="The endpoint a mutation made or changed, or why it could not.")
class WebhookEndpointPayload:
    endpoint: WebhookEndpoint | None = strawberry.field(
        description="The endpoint (null: see userErrors)."
    )
    secret: str | None = strawberry.field(
        description="The whsec_ signing secret: only here, when it was just made."
    )
    user_errors: list[t.UserError] = strawberry.field(description="Expected problems.")

    @classmethod
    def of(cls, result: hooks.EndpointResult) -> WebhookEndpointPayload:
        endpoint = WebhookEndpoint.of(result.endpoint) if result.endpoint else None
        errors = t.user_errors(result.user_errors)
        return cls(endpoint=endpoint, secret=result.secret, user_errors=errors)


@strawberry.type(description="What deleteWebhookEndpoint did.")
class DeleteWebhookEndpointPayload:
    deleted_endpoint_id: strawberry.ID | None = strawberry.field(
        description="The id deleted (null: see userErrors)."
    )
    user_errors: list[t.UserError] = strawberry.field(description="Expected problems.")


def endpoint_pk(global_id: str) -> int | None:
    decoded = t.decode_id(global_id)
    return decoded[1] if decoded and decoded[0] == KIND else None


async def webhook_endpoints(info: Info) -> list[WebhookEndpoint]:
    ctx = info.context
    return [WebhookEndpoint.of(r) for r in await ctx.db(hooks.list_endpoints, ctx.account)]


async def create_webhook_endpoint(
    info: Info,
    input: Annotated[CreateWebhookEndpointInput, strawberry.argument(description="The endpoint.")],
) -> WebhookEndpointPayload:
    ctx = info.context
    # The URL's lookup (up to 5 s) before any database work: nothing waits on it.
    url = await hooks.check_url(input.url, ctx.webhook_allow_private, "input", "url")
    result = await ctx.db(hooks.create_endpoint, ctx.account, url, input.events)
    return WebhookEndpointPayload.of(result)


async def update_webhook_endpoint(
    info: Info,
    id: Annotated[strawberry.ID, strawberry.argument(description="The endpoint's id.")],
    input: Annotated[
        UpdateWebhookEndpointInput, strawberry.argument(description="What to change.")
    ],
) -> WebhookEndpointPayload:
    ctx = info.context
    # The URL's lookup (up to 5 s) before any database work: nothing waits on it.
    url = None
    if input.url is not None:
        url = await hooks.check_url(input.url, ctx.webhook_allow_private, "input", "url")
    changes = hooks.EndpointChanges(
        url=url,
        enabled=input.enabled,
        event_types=input.events or None,
        all_events=input.events is None,
        rotate_secret=input.rotate_secret,
    )
    result = await ctx.db(hooks.update_endpoint, ctx.account, endpoint_pk(id), id, changes)
    return WebhookEndpointPayload.of(result)


async def delete_webhook_endpoint(
    info: Info, id: Annotated[strawberry.ID, strawberry.argument(description="The endpoint's id.")]
) -> DeleteWebhookEndpointPayload:
    ctx = info.context
    problems = await ctx.db(hooks.delete_endpoint, ctx.account, endpoint_pk(id), id)
    deleted = None if problems else id
    return DeleteWebhookEndpointPayload(
        deleted_endpoint_id=deleted, user_errors=t.user_errors(problems)
    )


async def redeliver_webhook_events(
    info: Info,
    endpoint_id: Annotated[strawberry.ID, strawberry.argument(description="The endpoint's id.")],
    from_sequence: Annotated[
        int, strawberry.argument(description="Send again every kept event from this one on.")
    ],
) -> WebhookEndpointPayload:
    ctx = info.context
    pk = endpoint_pk(endpoint_id)
    result = await ctx.db(hooks.redeliver, ctx.account, pk, endpoint_id, from_sequence)
    return WebhookEndpointPayload.of(result)


async def webhook_deliveries(
    info: Info,
    endpoint_id: Annotated[strawberry.ID, strawberry.argument(description="The endpoint's id.")],
    first: Annotated[int, strawberry.argument(description="How many, newest first.")] = 20,
    after: Annotated[
        str | None, strawberry.argument(description="A cursor: the deliveries older than it.")
    ] = None,
) -> WebhookDeliveryConnection:
    ctx = info.context
    if not 0 <= first <= hooks.MAX_DELIVERY_PAGE:
        problem = UserError(
            ErrorCode.PARAMETER_INVALID,
            f"first must be between 0 and {hooks.MAX_DELIVERY_PAGE}.",
            ("first",),
        )
        raise query_error(problem)
    pk = endpoint_pk(endpoint_id)
    found: tuple[list[Any], bool] | None = None
    if pk:
        found = await ctx.db(hooks.page_deliveries, ctx.account, pk, _before(after), first)
    if found is None:
        raise query_error(hooks.not_found(endpoint_id, "endpointId"))
    rows, more = found
    edges = [WebhookDeliveryEdge(node=WebhookDelivery.of(r), cursor=_cursor(r.id)) for r in rows]
    page_info = PageInfo(
        has_previous_page=after is not None,
        has_next_page=more,
        start_cursor=edges[0].cursor if edges else None,
        end_cursor=edges[-1].cursor if edges else None,
    )
    return WebhookDeliveryConnection(edges=edges, page_info=page_info)


def _cursor(delivery_id: int) -> str:
    return seal(f"WebhookDelivery:{delivery_id}")


def _before(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    kind, _, digits = unseal(cursor).partition(":")
    if kind != "WebhookDelivery" or not (digits.isascii() and digits.isdigit()):
        raise bad_cursor()
    return int(digits)
