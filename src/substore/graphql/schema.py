"""Query and Mutation: thin resolvers that call services and convert the results."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import AddValidationRules, MaxTokensLimiter, ParserCache, ValidationCache
from strawberry.extensions.max_aliases import create_validator as alias_rule
from strawberry.extensions.query_depth_limiter import create_validator as depth_rule
from strawberry.permission import BasePermission
from strawberry.schema.config import StrawberryConfig

from substore import phone, services
from substore.errors import ErrorCode, SubstoreError, UserError
from substore.graphql import types as t
from substore.graphql.context import Info
from substore.graphql.imports import ImportSubscribersPayload, import_subscribers
from substore.graphql.inputs import AccountInput, SubscriberFilter, SubscriberInput
from substore.graphql.limits import introspection_depth_rule
from substore.graphql.scalars import SCALARS, PhoneNumber

MAX_DEPTH = 15  # GraphiQL's own introspection query is 13 levels deep
MAX_TOKENS = 20_000  # a 1000-row import with every field set stays well under this
MAX_ALIASES = 30


def query_error(error: UserError) -> GraphQLError:
    """An expected problem in a query (which has no userErrors field), as a GraphQL error."""
    return GraphQLError(
        error.message,
        extensions={"code": str(error.code), "field": list(error.field), "reason": error.reason},
    )


def _problem(code: ErrorCode, message: str, *field: str) -> GraphQLError:
    return query_error(UserError(code, message, field))


class CanWrite(BasePermission):
    message = "This API key is read-only: mutations need a key with the write scope."
    error_extensions = {"code": "FORBIDDEN"}  # noqa: RUF012 (strawberry reads it from the class)

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return info.context.principal.can_write


def _subscriber_pk(global_id: str) -> int | None:
    decoded = t.decode_id(global_id)
    return decoded[1] if decoded and decoded[0] == "Subscriber" else None


# --- cursors -------------------------------------------------------------------------


def encode_cursor(row: Any) -> str:
    return base64.urlsafe_b64encode(f"{row.created_at.isoformat()}|{row.id}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        stamp, _, pk = base64.urlsafe_b64decode(cursor.encode()).decode().partition("|")
        return datetime.fromisoformat(stamp), int(pk)
    except ValueError:
        raise _problem(
            ErrorCode.PARAMETER_INVALID, "after is not a cursor this API gave out.", "after"
        ) from None


@strawberry.type
class Query:
    @strawberry.field(description="The caller's account.")
    async def account(self, info: Info) -> t.Account:
        ctx = info.context
        async with ctx.db() as conn:
            count = await services.count_subscribers(conn, ctx.account)
        return t.Account.of(ctx.account, count)

    @strawberry.field
    async def node(self, info: Info, id: strawberry.ID) -> t.Node | None:
        ctx = info.context
        decoded = t.decode_id(id)
        if decoded == ("Account", ctx.account.id):
            return await Query.account(self, info)
        if decoded is None or decoded[0] != "Subscriber":
            return None
        async with ctx.db() as conn:
            row = await services.get_subscriber(conn, ctx.account, decoded[1])
        return t.Subscriber.of(row) if row else None

    @strawberry.field(description="One subscriber, by id or by its number in any format.")
    async def subscriber(
        self,
        info: Info,
        id: strawberry.ID | None = None,
        number: PhoneNumber | None = None,  # type: ignore[valid-type]
    ) -> t.Subscriber | None:
        if (id is None) == (number is None):
            raise _problem(
                ErrorCode.ONE_OF_SEVERAL_PARAMETERS_REQUIRED, "Give exactly one of id or number."
            )
        ctx = info.context
        async with ctx.db() as conn:
            if number is not None:
                row = await services.find_subscriber(conn, ctx.account, number)
            else:
                pk = _subscriber_pk(id)
                row = pk and await services.get_subscriber(conn, ctx.account, pk)
        return t.Subscriber.of(row) if row else None

    @strawberry.field(description="Subscribers, oldest first, in pages of at most 500.")
    async def subscribers(
        self,
        info: Info,
        first: int | None = 50,
        after: str | None = None,
        filter: SubscriberFilter | None = None,
    ) -> SubscriberConnection:
        where = (filter or SubscriberFilter()).to_service()
        cursor = decode_cursor(after) if after else None
        ctx = info.context
        try:
            async with ctx.db() as conn:
                page = await services.page_subscribers(
                    conn, ctx.account, where, first=50 if first is None else first, after=cursor
                )
        except SubstoreError as error:
            raise query_error(error.user_error) from None
        edges = [
            t.SubscriberEdge(node=t.Subscriber.of(r), cursor=encode_cursor(r)) for r in page.rows
        ]
        return SubscriberConnection(
            edges=edges,
            page_info=t.PageInfo(
                has_next_page=page.has_next, end_cursor=edges[-1].cursor if edges else None
            ),
            account=ctx.account,
            where=where,
        )

    @strawberry.field(description="Normalise a number as createSubscriber would; stores nothing.")
    def normalize_phone_number(
        self,
        info: Info,
        number: PhoneNumber | None = None,  # type: ignore[valid-type]
        e164_number: str | None = None,
        default_region: str | None = None,
        strict_country_code: bool = False,
    ) -> t.PhoneNumberCheck:
        try:
            key = phone.normalize(
                number,
                e164_number,
                default_region=default_region or info.context.account.default_region,
                strict_country_code=strict_country_code,
            )
        except SubstoreError as error:
            return t.PhoneNumberCheck(valid=False, error=t.UserError.of(error.user_error))
        return t.PhoneNumberCheck.of(key)


@strawberry.type
class SubscriberConnection:
    edges: list[t.SubscriberEdge]
    page_info: t.PageInfo
    account: strawberry.Private[services.Record]
    where: strawberry.Private[services.SubscriberFilter]

    @strawberry.field(description="Subscribers matching the filter, over all pages.")
    async def total_count(self, info: Info) -> int:
        # Counted only when asked for: a COUNT over a large account is not free.
        async with info.context.db() as conn:
            return await services.count_subscribers(conn, self.account, self.where)


@strawberry.type
class Mutation:
    @strawberry.mutation(permission_classes=[CanWrite], description="Create, or update by number.")
    async def create_subscriber(
        self, info: Info, input: SubscriberInput
    ) -> t.CreateSubscriberPayload:
        ctx = info.context
        async with ctx.db() as conn:
            result = await services.save_subscriber(conn, ctx.account, input.to_service())
        return t.CreateSubscriberPayload(
            subscriber=t.Subscriber.of(result.subscriber) if result.subscriber else None,
            created=result.created,
            user_errors=t.user_errors(result.user_errors),
            warnings=t.user_errors(result.warnings),
        )

    @strawberry.mutation(permission_classes=[CanWrite])
    async def update_subscriber(
        self, info: Info, id: strawberry.ID, input: SubscriberInput
    ) -> t.UpdateSubscriberPayload:
        ctx = info.context
        async with ctx.db() as conn:
            result = await services.update_subscriber(
                conn, ctx.account, _subscriber_pk(id) or 0, input.to_service()
            )
        return t.UpdateSubscriberPayload(
            subscriber=t.Subscriber.of(result.subscriber) if result.subscriber else None,
            user_errors=t.user_errors(result.user_errors),
            warnings=t.user_errors(result.warnings),
        )

    @strawberry.mutation(permission_classes=[CanWrite])
    async def delete_subscriber(self, info: Info, id: strawberry.ID) -> t.DeleteSubscriberPayload:
        ctx = info.context
        try:
            async with ctx.db() as conn:
                await services.delete_subscriber(conn, ctx.account, _subscriber_pk(id) or 0)
        except SubstoreError as error:
            return t.DeleteSubscriberPayload(
                deleted_subscriber_id=None, user_errors=[t.UserError.of(error.user_error)]
            )
        return t.DeleteSubscriberPayload(deleted_subscriber_id=id, user_errors=[])

    @strawberry.mutation(permission_classes=[CanWrite])
    async def update_account(self, info: Info, input: AccountInput) -> t.UpdateAccountPayload:
        ctx = info.context
        try:
            async with ctx.db() as conn:
                row = await services.update_account(conn, ctx.account, input.default_region)
                count = await services.count_subscribers(conn, row)
        except SubstoreError as error:
            return t.UpdateAccountPayload(
                account=None, user_errors=[t.UserError.of(error.user_error)]
            )
        return t.UpdateAccountPayload(account=t.Account.of(row, count), user_errors=[])

    import_subscribers: ImportSubscribersPayload = strawberry.mutation(
        resolver=import_subscribers,
        permission_classes=[CanWrite],
        description="Create or update up to 1000 subscribers; one result per row, in order.",
    )


# Built once: ValidationCache keys on the rule classes, and QueryDepthLimiter and
# MaxAliasesLimiter make a new class per instance, so per-request instances of them
# (strawberry's extension factories) would make every validation a cache miss.
LIMIT_RULES = [
    depth_rule(MAX_DEPTH, None, None),
    introspection_depth_rule(MAX_DEPTH),
    alias_rule(MAX_ALIASES),
]


def build_schema() -> strawberry.Schema:
    return strawberry.Schema(
        query=Query,
        mutation=Mutation,
        types=[t.Subscriber, t.Account],
        config=StrawberryConfig(scalar_map=SCALARS),
        # Factories: a fresh extension per request. The parser and validation caches
        # still share one LRU per maxsize across requests (strawberry keeps them global).
        extensions=[
            lambda: AddValidationRules(LIMIT_RULES),
            lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
            lambda: ParserCache(maxsize=256),
            lambda: ValidationCache(maxsize=256),
        ],
    )
