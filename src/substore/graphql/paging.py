"""Relay paging shared by every connection of the contract: PageInfo, opaque cursors,
and the GraphQL error a query answers expected problems with (queries have no
userErrors field)."""

from __future__ import annotations

import base64

import strawberry
from graphql import GraphQLError

from substore.errors import ErrorCode, UserError


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


def query_error(error: UserError) -> GraphQLError:
    """An expected problem in a query, as a GraphQL error with extensions.code."""
    return GraphQLError(
        error.message,
        extensions={"code": str(error.code), "field": list(error.field), "reason": error.reason},
    )


def seal(text: str) -> str:
    """A cursor: opaque to callers, who must only hand it back."""
    return base64.urlsafe_b64encode(text.encode()).decode()


def unseal(cursor: str) -> str:
    """The text of a cursor `seal` made; `bad_cursor()` for anything else."""
    try:
        return base64.urlsafe_b64decode(cursor.encode()).decode()
    except ValueError:  # binascii.Error and UnicodeError are ValueErrors too
        raise bad_cursor() from None


def bad_cursor(detail: str = "") -> GraphQLError:
    message = f"after is not a cursor this API gave out{detail}."
    return query_error(UserError(ErrorCode.PARAMETER_INVALID, message, ("after",)))
