"""Relay paging shared by every connection of the contract: PageInfo, opaque cursors,
and the GraphQL error a query answers expected problems with (queries have no
userErrors field)."""

from __future__ import annotations

import base64

import strawberry
from graphql import GraphQLError

from substore.errors import ErrorCode, UserError


@strawberry.type(description="Where a page lies in the whole list (Relay's PageInfo).")
class PageInfo:
    has_previous_page: bool = strawberry.field(
        description="Whether rows lie before this page: exact with last/before; with "
        "first/after, whether any row lies at or before `after` (false with no `after`)."
    )
    has_next_page: bool = strawberry.field(
        description="Whether rows lie after this page: exact with first/after; with "
        "last/before, whether any row lies at or after `before` (false with no `before`)."
    )
    start_cursor: str | None = strawberry.field(description="The first edge's cursor.")
    end_cursor: str | None = strawberry.field(description="The last edge's cursor.")


def query_error(error: UserError) -> GraphQLError:
    """An expected problem in a query, as a GraphQL error with extensions.code."""
    return GraphQLError(
        error.message,
        extensions={"code": str(error.code), "field": list(error.field), "reason": error.reason},
    )


def seal(text: str) -> str:
    """A cursor: opaque to callers, who must only hand it back."""
    return base64.urlsafe_b64encode(text.encode()).decode()


def unseal(cursor: str, argument: str = "after") -> str:
    """The text of a cursor `seal` made; `bad_cursor()` for anything else."""
    try:
        return base64.urlsafe_b64decode(cursor.encode()).decode()
    except ValueError:  # binascii.Error and UnicodeError are ValueErrors too
        raise bad_cursor(argument=argument) from None


def bad_cursor(detail: str = "", argument: str = "after") -> GraphQLError:
    """PARAMETER_INVALID on `argument` (after or before), the cursor it was given."""
    message = f"{argument} is not a cursor this API gave out{detail}."
    return query_error(UserError(ErrorCode.PARAMETER_INVALID, message, (argument,)))
