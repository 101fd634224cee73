"""Use cases: pages and counts of an account's subscribers. No GraphQL or HTTP here.

Relay's paging arguments: `first` rows after the `after` cursor (forward), or the `last`
rows before the `before` cursor (backward); either way the rows come in the order's own
direction. Cursors arrive already read, as (order column, id) pairs.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, overload

from sqlalchemy.ext.asyncio import AsyncConnection

from substore import repository
from substore.errors import ErrorCode, ValidationError
from substore.preparation import check_attributes
from substore.repository import Cursor, Record, SubscriberFilter

DEFAULT_PAGE = 50  # rows when neither first nor last is given
MAX_PAGE = 500
MAX_COUNTRY_CODE = 999  # calling codes have at most three digits


@dataclass(frozen=True, slots=True)
class Page:
    rows: list[Record]
    has_next: bool
    has_previous: bool = False


@dataclass(frozen=True, slots=True)
class Window:
    """Relay's four arguments, checked: `size` rows beyond `cursor`, read `backward`
    (toward the start of the order) or forward."""

    size: int
    backward: bool = False
    cursor: Cursor | None = None


async def count_subscribers(
    conn: AsyncConnection, account: Record, where: SubscriberFilter | None = None
) -> int:
    return await repository.count_subscribers(conn, account.id, with_quiet_hours(account, where))


@overload
def with_quiet_hours(account: Record, where: SubscriberFilter) -> SubscriberFilter: ...
@overload
def with_quiet_hours(account: Record, where: None) -> None: ...


def with_quiet_hours(account: Record, where: SubscriberFilter | None) -> SubscriberFilter | None:
    if where is None or where.can_message_at is None:
        return where
    return replace(where, quiet_hours=(account.quiet_hours_start, account.quiet_hours_end))


async def page_subscribers(
    conn: AsyncConnection,
    account: Record,
    where: SubscriberFilter,
    *,
    first: int | None = None,
    after: Cursor | None = None,
    last: int | None = None,
    before: Cursor | None = None,
    order: str = "created_at",
    descending: bool = False,
) -> Page:
    """A page in (`order`, id) order, or newest first when `descending`.

    Whether rows lie beyond the page on the side it was read toward comes from reading
    one row more; on the cursor's side, from the row at or behind the cursor, read in the
    same statement (so hasPreviousPage is exact when paging forward, hasNextPage when
    paging back; with no cursor there is nothing on that side).
    """
    window = page_window(first, after, last, before)
    check_filter(where)
    where = with_quiet_hours(account, where)
    # Paging back reads the order's index the other way; its rows are turned round after.
    reverse = descending != window.backward
    if window.cursor is None:
        rows = await repository.page_subscribers(
            conn, account.id, where, first=window.size + 1, order=order, descending=reverse
        )
        behind = False
    else:
        rows, behind = await repository.page_and_behind(
            conn,
            account.id,
            where,
            first=window.size + 1,
            after=window.cursor,
            order=order,
            descending=reverse,
        )
    more, rows = len(rows) > window.size, rows[: window.size]
    if window.backward:
        return Page(rows[::-1], has_next=behind, has_previous=more)
    return Page(rows, has_next=more, has_previous=behind)


def page_window(
    first: int | None, after: Cursor | None, last: int | None, before: Cursor | None
) -> Window:
    """`first` with `after` pages forward, `last` with `before` back; mixing the two
    directions is refused rather than guessed at."""
    if first is not None and last is not None:
        raise _conflict("Give first (to page forward) or last (to page back), not both.", "last")
    if after is not None and before is not None:
        raise _conflict("Give after (with first) or before (with last), not both.", "before")
    if first is not None and before is not None:
        raise _conflict("before pages back: give it with last, not first.", "before")
    if last is not None and after is not None:
        raise _conflict("after pages forward: give it with first, not last.", "after")
    backward = last is not None or before is not None
    name, size = ("last", last) if backward else ("first", first)
    size = DEFAULT_PAGE if size is None else size
    if not 0 <= size <= MAX_PAGE:
        raise ValidationError(f"{name} must be between 0 and {MAX_PAGE}.", field=(name,))
    return Window(size, backward, before if backward else after)


def _conflict(message: str, name: str) -> ValidationError:
    return ValidationError(message, field=(name,), code=ErrorCode.CONFLICTING_PARAMETERS)


def check_filter(where: SubscriberFilter) -> None:
    if where.country_code is not None and not 1 <= where.country_code <= MAX_COUNTRY_CODE:
        raise ValidationError(
            f"countryCode is a country calling code from 1 to {MAX_COUNTRY_CODE} (e.g. 44).",
            field=("filter", "countryCode"),
        )
    for name, after, before in (
        ("created", where.created_after, where.created_before),
        ("updated", where.updated_after, where.updated_before),
    ):
        if after and before and after >= before:
            raise ValidationError(
                f"{name}After must be earlier than {name}Before.",
                field=("filter", f"{name}After"),
                code=ErrorCode.INVALID_DATE_RANGE,
            )
    _check_attributes(where.attributes)


def _check_attributes(attributes: Any) -> None:
    """A JSON object, storable as attributes are (one that could not be stored matches
    no subscriber, and jsonb would refuse some of them with a 500)."""
    if attributes is None:
        return
    if not isinstance(attributes, dict):
        raise ValidationError(
            'filter.attributes must be a JSON object, e.g. {"plan": "gold"}: it keeps the '
            "subscribers whose attributes contain it.",
            field=("filter", "attributes"),
        )
    try:
        check_attributes(attributes)
    except ValidationError as error:
        found = error.user_error
        raise ValidationError(
            f"filter.{found.message}",
            field=("filter", *found.field),
            code=found.code,
            reason=found.reason,
        ) from None
