"""Query and Mutation: thin resolvers that call services and convert the results."""

from __future__ import annotations

from typing import Annotated, Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import AddValidationRules
from strawberry.permission import BasePermission
from strawberry.schema.config import StrawberryConfig

from substore import phone, services
from substore.errors import ErrorCode, SubstoreError, UserError
from substore.graphql import typed
from substore.graphql import types as t
from substore.graphql import webhooks as hooks
from substore.graphql.context import Info
from substore.graphql.documents import KnownDocuments
from substore.graphql.events import SubscriberEventConnection, subscriber_events
from substore.graphql.feed import Subscription
from substore.graphql.imports import ImportSubscribersPayload, import_subscribers
from substore.graphql.inbound import RecordInboundMessagePayload, record_inbound_message
from substore.graphql.inputs import AccountInput, SubscriberFilter, SubscriberInput
from substore.graphql.listing import SubscriberConnection, SubscriberOrder, list_subscribers
from substore.graphql.paging import query_error
from substore.graphql.scalars import SCALARS, PhoneNumber, phone_number
from substore.graphql.validation import StorableStrings, ThreadedValidation


def _problem(code: ErrorCode, message: str, *field: str) -> GraphQLError:
    return query_error(UserError(code, message, field))


class CanWrite(BasePermission):
    message = "This API key is read-only: mutations need a key with the write scope."
    error_extensions = {"code": "FORBIDDEN"}  # noqa: RUF012 (strawberry reads it from the class)

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return info.context.principal.can_write


FORGET_OPT_OUT = (
    "True deletes a subscriber who opted out entirely (an erasure request); false or null "
    "keeps it as a suppression entry."
)


def _subscriber_pk(global_id: str) -> int | None:
    decoded = t.decode_id(global_id)
    return decoded[1] if decoded and decoded[0] == "Subscriber" else None


@strawberry.type(
    description="What can be read. Every query sees only the caller's account; a read key "
    "or token is enough."
)
class Query:
    @typed.field(description="The caller's account.")
    async def account(self, info: Info) -> t.Account:
        ctx = info.context
        count = await ctx.db(services.count_subscribers, ctx.account)
        return t.Account.of(ctx.account, count)

    @typed.field(
        description="The Subscriber or Account with this global id; null when the caller's "
        "account has none."
    )
    async def node(
        self,
        info: Info,
        id: Annotated[
            strawberry.ID,
            strawberry.argument(description="A global id, as a Subscriber's or Account's id."),
        ],
    ) -> t.Node | None:
        ctx = info.context
        decoded = t.decode_id(id)
        if decoded == ("Account", ctx.account.id):
            return await Query.account(self, info)
        if decoded is None or decoded[0] != "Subscriber":
            return None
        row = await ctx.db(services.get_subscriber, ctx.account, decoded[1])
        return t.Subscriber.of(row) if row else None

    @typed.field(description="One subscriber, by id or by its number in any format.")
    async def subscriber(
        self,
        info: Info,
        id: Annotated[
            strawberry.ID | None,
            strawberry.argument(description="The subscriber's global id; not with number."),
        ] = None,
        number: Annotated[
            PhoneNumber | None,
            strawberry.argument(
                description="The number in any spelling, read in the account's region; not with id."
            ),
        ] = None,
    ) -> t.Subscriber | None:
        if (id is None) == (number is None):
            raise _problem(
                ErrorCode.ONE_OF_SEVERAL_PARAMETERS_REQUIRED, "Give exactly one of id or number."
            )
        ctx = info.context
        if number is not None:
            try:
                row = await ctx.db(services.find_subscriber, ctx.account, number, ctx.by_e164)
            except SubstoreError as error:  # not a number: say why (null means "not stored")
                raise query_error(error.user_error) from None
        else:
            assert id is not None  # exactly one of the two, as checked above
            pk = _subscriber_pk(id)
            row = None if pk is None else await ctx.db(services.get_subscriber, ctx.account, pk)
        return t.Subscriber.of(row) if row else None

    @typed.field(
        description="Subscribers in pages of at most 500 (50 unless first or last says): "
        "first/after pages forward, last/before back (the rows of either in the order's "
        "direction), oldest first unless orderBy says otherwise."
    )
    async def subscribers(
        self,
        info: Info,
        first: Annotated[
            int | None,
            strawberry.argument(
                description="How many subscribers to read forward, 0 to 500 (null: 50); not "
                "with last."
            ),
        ] = None,
        after: Annotated[
            str | None,
            strawberry.argument(
                description="A cursor of this list and orderBy: read the subscribers after it."
            ),
        ] = None,
        last: Annotated[
            int | None,
            strawberry.argument(
                description="How many subscribers to read back, 0 to 500 (null: 50); not with "
                "first."
            ),
        ] = None,
        before: Annotated[
            str | None,
            strawberry.argument(
                description="A cursor of this list and orderBy: read the subscribers before "
                "it (with last)."
            ),
        ] = None,
        filter: Annotated[
            SubscriberFilter | None,
            strawberry.argument(description="Which subscribers to list (null: all of them)."),
        ] = None,
        order_by: Annotated[
            SubscriberOrder,
            strawberry.argument(
                description="The order of the list; a cursor is good only for its own order."
            ),
        ] = SubscriberOrder.CREATED_AT,
    ) -> SubscriberConnection:
        return await list_subscribers(
            info,
            first=first,
            after=after,
            last=last,
            before=before,
            filter=filter,
            order_by=order_by,
        )

    subscriber_events: SubscriberEventConnection = strawberry.field(
        resolver=subscriber_events,
        description="The account's change feed for replay, oldest first, at most 500 a page "
        "(100 unless first says); a cursor is an event's sequence.",
    )
    webhook_endpoints: list[hooks.WebhookEndpoint] = strawberry.field(
        resolver=hooks.webhook_endpoints, description="The account's webhook endpoints."
    )
    webhook_deliveries: hooks.WebhookDeliveryConnection = strawberry.field(
        resolver=hooks.webhook_deliveries,
        description="An endpoint's batches of events, newest first: attempts, the last "
        "status code or error, the next try.",
    )

    @typed.field(description="Normalise a number as createSubscriber would; stores nothing.")
    def normalize_phone_number(
        self,
        info: Info,
        number: Annotated[
            PhoneNumber | None,
            strawberry.argument(description="The number in any format."),
        ] = None,
        e164_number: Annotated[
            str | None,
            strawberry.argument(
                description="The number in E.164 (+ and at most 15 digits); wins over number."
            ),
        ] = None,
        default_region: Annotated[
            str | None,
            strawberry.argument(
                description="The ISO 3166-1 alpha-2 region to read a number without a "
                "country code in (null: the account's)."
            ),
        ] = None,
        strict_country_code: Annotated[
            bool,
            strawberry.argument(
                description="True turns the country-code fallback off (no INFERRED "
                "reading), as importSubscribers' option does."
            ),
        ] = False,
    ) -> t.PhoneNumberCheck:
        try:
            key = phone.normalize(
                phone_number(number),
                e164_number,
                default_region=default_region or info.context.account.default_region,
                strict_country_code=strict_country_code,
            )
        except SubstoreError as error:
            return t.PhoneNumberCheck(valid=False, error=t.UserError.of(error.user_error))
        return t.PhoneNumberCheck.of(key)


@strawberry.type(
    description="What can be changed; every mutation needs a key or token with the write scope."
)
class Mutation:
    @typed.mutation(permission_classes=[CanWrite], description="Create, or update by number.")
    async def create_subscriber(
        self,
        info: Info,
        input: Annotated[
            SubscriberInput,
            strawberry.argument(description="The subscriber; number or e164Number is required."),
        ],
    ) -> t.CreateSubscriberPayload:
        ctx = info.context
        provenance = services.by_api(ctx.principal.actor)
        result = await ctx.db(
            services.save_subscriber, ctx.account, input.to_service(), provenance=provenance
        )
        return t.CreateSubscriberPayload(
            subscriber=t.Subscriber.of(result.subscriber) if result.subscriber else None,
            created=result.created,
            user_errors=t.user_errors(result.user_errors),
            warnings=t.user_errors(result.warnings),
        )

    @typed.mutation(
        permission_classes=[CanWrite],
        description="Change a subscriber by id, its number too: omitted fields keep their "
        "value, an explicit null clears one.",
    )
    async def update_subscriber(
        self,
        info: Info,
        id: Annotated[
            strawberry.ID, strawberry.argument(description="The subscriber's global id.")
        ],
        input: Annotated[
            SubscriberInput,
            strawberry.argument(
                description="The fields to change; a number given moves the subscriber to it."
            ),
        ],
    ) -> t.UpdateSubscriberPayload:
        ctx = info.context
        result = await ctx.db(
            services.update_subscriber,
            ctx.account,
            _subscriber_pk(id) or 0,
            input.to_service(),
            actor=ctx.principal.actor,
            label=id,
        )
        return t.UpdateSubscriberPayload(
            subscriber=t.Subscriber.of(result.subscriber) if result.subscriber else None,
            user_errors=t.user_errors(result.user_errors),
            warnings=t.user_errors(result.warnings),
        )

    @typed.mutation(
        permission_classes=[CanWrite],
        description="Delete a subscriber. One who opted out stays as a suppression entry "
        "(number kept, UNSUBSCRIBED, profile cleared) unless forgetOptOut: true.",
    )
    async def delete_subscriber(
        self,
        info: Info,
        id: Annotated[
            strawberry.ID, strawberry.argument(description="The subscriber's global id.")
        ],
        forget_opt_out: Annotated[
            bool | None, strawberry.argument(description=FORGET_OPT_OUT)
        ] = False,
    ) -> t.DeleteSubscriberPayload:
        ctx = info.context
        try:
            await ctx.db(
                services.delete_subscriber,
                ctx.account,
                _subscriber_pk(id),
                id,
                bool(forget_opt_out),
                ctx.principal.actor,
            )
        except SubstoreError as error:
            return t.DeleteSubscriberPayload(
                deleted_subscriber_id=None, user_errors=[t.UserError.of(error.user_error)]
            )
        return t.DeleteSubscriberPayload(deleted_subscriber_id=id, user_errors=[])

    @typed.mutation(
        permission_classes=[CanWrite],
        description="Delete up to 1000 subscribers in one statement; as deleteSubscriber "
        "for those who opted out.",
    )
    async def delete_subscribers(
        self,
        info: Info,
        ids: Annotated[
            list[strawberry.ID],
            strawberry.argument(
                description="Subscribers' global ids, at most 1000; unknown ones come back "
                "not deleted."
            ),
        ],
        forget_opt_out: Annotated[
            bool | None, strawberry.argument(description=FORGET_OPT_OUT)
        ] = False,
    ) -> t.DeleteSubscribersPayload:
        ctx = info.context
        pks = [_subscriber_pk(i) for i in ids]
        try:
            deleted = await ctx.db(
                services.delete_subscribers,
                ctx.account,
                pks,
                bool(forget_opt_out),
                ctx.principal.actor,
            )
        except SubstoreError as error:
            raise query_error(error.user_error) from None
        results = [
            t.DeleteSubscriberResult(
                id=given,
                deleted=done,
                # The same answer for unknown, malformed and other accounts' ids.
                user_errors=[] if done else [t.UserError.of(services.not_found(given).user_error)],
            )
            for given, done in zip(ids, deleted, strict=True)
        ]
        count = len({pk for pk, done in zip(pks, deleted, strict=True) if done})
        return t.DeleteSubscribersPayload(deleted_count=count, results=results)

    @typed.mutation(
        permission_classes=[CanWrite],
        description="Change the caller's account: its home region or quiet hours.",
    )
    async def update_account(
        self,
        info: Info,
        input: Annotated[AccountInput, strawberry.argument(description="The settings to change.")],
    ) -> t.UpdateAccountPayload:
        ctx = info.context
        try:
            row = await ctx.db(services.update_account, ctx.account, input.to_service())
            ctx.account_changed = True
            count = await ctx.db(services.count_subscribers, row)
        except SubstoreError as error:
            return t.UpdateAccountPayload(
                account=None, user_errors=[t.UserError.of(error.user_error)]
            )
        return t.UpdateAccountPayload(account=t.Account.of(row, count), user_errors=[])

    record_inbound_message: RecordInboundMessagePayload = strawberry.mutation(
        resolver=record_inbound_message,
        permission_classes=[CanWrite],
        description="A message a subscriber sent: STOP and the other opt-out keywords opt "
        "the number out (even one never stored), START/UNSTOP/YES opt it in, HELP/INFO "
        "change nothing.",
    )

    import_subscribers: ImportSubscribersPayload = strawberry.mutation(
        resolver=import_subscribers,
        permission_classes=[CanWrite],
        description="Create or update up to 1000 subscribers; one result per row, in order.",
    )

    create_webhook_endpoint: hooks.WebhookEndpointPayload = strawberry.mutation(
        resolver=hooks.create_webhook_endpoint,
        permission_classes=[CanWrite],
        description="POST the account's subscriber events to a URL (https, public); the "
        "payload shows its signing secret, once.",
    )
    update_webhook_endpoint: hooks.WebhookEndpointPayload = strawberry.mutation(
        resolver=hooks.update_webhook_endpoint,
        permission_classes=[CanWrite],
        description="Enable, disable, change events or URL, or rotate the secret (shown once).",
    )
    delete_webhook_endpoint: hooks.DeleteWebhookEndpointPayload = strawberry.mutation(
        resolver=hooks.delete_webhook_endpoint,
        permission_classes=[CanWrite],
        description="Delete an endpoint: nothing more is sent to it.",
    )
    redeliver_webhook_events: hooks.WebhookEndpointPayload = strawberry.mutation(
        resolver=hooks.redeliver_webhook_events,
        permission_classes=[CanWrite],
        description="Send the account's events again, from fromSequence to the newest, in order.",
    )


class Schema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        """Log nothing here: strawberry logs every error with a traceback, expected
        refusals included, so real bugs drowned. The HTTP edge logs the unexpected
        ones, once each, under the request id it answers with."""


def build_schema() -> strawberry.Schema:
    return Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=[t.Subscriber, t.Account],
        config=StrawberryConfig(scalar_map=SCALARS),
        # A fresh extension per request; the document and validation caches are shared.
        # Token, depth, field and alias limits are checked at the HTTP edge (web/operation.py
        # with graphql/limits.py), which also parses new documents off the event loop.
        extensions=[
            lambda: AddValidationRules([StorableStrings]),
            KnownDocuments,
            ThreadedValidation,
        ],
    )
