"""SQL for pages and counts of subscribers: the filters and the orders they page in.

Every query filters by account; each order has an index that starts with account_id.
"""

from __future__ import annotations

import functools
import operator
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from substore.repository import keyset
from substore.repository.subscribers import Record, subscriber_rows, subscribers
from substore.search import Search

# A cursor: the (order column, id) of the row it was made from.
Cursor = tuple[datetime, int]


@dataclass(frozen=True, slots=True)
class SubscriberFilter:
    region_code: str | None = None
    country_code: int | None = None
    status: str | None = None
    number_type: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    updated_after: datetime | None = None
    updated_before: datetime | None = None
    # Only subscribers that may be messaged at this moment, given the quiet hours.
    can_message_at: datetime | None = None
    quiet_hours: tuple[time, time] | None = None
    search: Search | None = None
    # Subscribers whose attributes contain this object (jsonb @>, the GIN index's operator).
    attributes: object = None  # a JSON object once services.check_filter has passed it


async def page_subscribers(
    conn: AsyncConnection,
    account_id: int,
    filter: SubscriberFilter,
    *,
    first: int,
    after: Cursor | None = None,
    order: str = "created_at",
    descending: bool = False,
) -> list[Record]:
    """Up to `first` subscribers in (`order`, id) order, strictly after the cursor;
    `descending` reads the same index backward (newest first)."""
    shape = _shape(filter)
    if shape is None:
        statement = select_page(account_id, filter, first, after, order, descending)
        return subscriber_rows(await conn.execute(statement))
    shaped = _shaped_page(shape, order, descending, after is not None)
    params = _params(account_id, filter, shape, first, after)
    return subscriber_rows(await conn.execute(shaped, params))


async def page_and_behind(
    conn: AsyncConnection,
    account_id: int,
    filter: SubscriberFilter,
    *,
    first: int,
    after: Cursor,
    order: str = "created_at",
    descending: bool = False,
) -> tuple[list[Record], bool]:
    """page_subscribers, and whether any row lies at or before the cursor (on the page's
    other side), in one statement: one index entry read the other way, or as many as the
    filter skips before it finds a row."""
    shape = _shape(filter)
    if shape is None:
        page = select_page(account_id, filter, first, after, order, descending)
        behind = select_page(account_id, filter, 1, after, order, not descending, inclusive=True)
        rows, found = await keyset.page_and_behind(conn, page, behind, (order, "id"), descending)
    else:
        statement = _shaped_page_and_behind(shape, order, descending)
        params = _params(account_id, filter, shape, first, after)
        rows, found = keyset.split(await conn.execute(statement, params))
    return subscriber_rows(rows), found


# --- statements made once per shape ---------------------------------------------------

# The filters that are plain comparisons with a column: a page filtered by those alone is
# one of a few statements, built once with parameters (building one costs ~40 us).
_EQUAL = ("region_code", "country_code", "status", "number_type")
_RANGES = {
    "created_after": ("created_at", operator.gt),
    "created_before": ("created_at", operator.lt),
    "updated_after": ("updated_at", operator.gt),
    "updated_before": ("updated_at", operator.lt),
}


def _shape(f: SubscriberFilter) -> tuple[str, ...] | None:
    """The filter's fields that are set, where all of them are plain comparisons."""
    if f.can_message_at is not None or f.search is not None or f.attributes is not None:
        return None
    return tuple(name for name in (*_EQUAL, *_RANGES) if getattr(f, name) is not None)


def _params(
    account_id: int, f: SubscriberFilter, shape: tuple[str, ...], first: int, after: Cursor | None
) -> dict[str, Any]:
    params = {"account_id": account_id, "first": first, **{n: getattr(f, n) for n in shape}}
    if after is not None:
        params["after_at"], params["after_id"] = after
    return params


@functools.lru_cache(maxsize=256)
def _shaped_page(
    shape: tuple[str, ...], order: str, descending: bool, after: bool, inclusive: bool = False
) -> sa.Select[Any]:
    c = subscribers.c
    conditions = [c.account_id == sa.bindparam("account_id")]
    for name in shape:
        column, compare = (name, operator.eq) if name in _EQUAL else _RANGES[name]
        conditions.append(compare(c[column], sa.bindparam(name)))
    keys = (c[order], c.id)
    statement = sa.select(subscribers).where(*conditions)
    if after:
        cursor: tuple[Any, Any] = (
            sa.bindparam("after_at", type_=c[order].type),
            sa.bindparam("after_id"),
        )
        beyond = _BEYOND[descending, inclusive]
        statement = statement.where(beyond(sa.tuple_(*keys), sa.tuple_(*cursor)))
    statement = statement.order_by(*(k.desc() if descending else k for k in keys))
    return statement.limit(1 if inclusive else sa.bindparam("first", type_=sa.Integer))


@functools.lru_cache(maxsize=256)
def _shaped_page_and_behind(shape: tuple[str, ...], order: str, descending: bool) -> sa.Select[Any]:
    page = _shaped_page(shape, order, descending, True)
    behind = _shaped_page(shape, order, not descending, True, inclusive=True)
    return keyset.union(page, behind, (order, "id"), descending)


# Strictly after the cursor, or at it too, in either direction: row comparisons, which a
# btree index on (account_id, column, id) answers in either direction.
_BEYOND = {
    (False, False): operator.gt,
    (True, False): operator.lt,
    (False, True): operator.ge,
    (True, True): operator.le,
}


def select_page(
    account_id: int,
    filter: SubscriberFilter,
    first: int,
    after: Cursor | None = None,
    order: str = "created_at",
    descending: bool = False,
    *,
    inclusive: bool = False,
) -> sa.Select[Any]:
    """The page query; each order has an index that starts with account_id."""
    keys = (subscribers.c[order], subscribers.c.id)
    statement = sa.select(subscribers).where(*_conditions(account_id, filter))
    if after is not None:
        beyond = _BEYOND[descending, inclusive]
        statement = statement.where(beyond(sa.tuple_(*keys), sa.tuple_(*after)))
    return statement.order_by(*(k.desc() if descending else k for k in keys)).limit(first)


async def count_subscribers(
    conn: AsyncConnection, account_id: int, filter: SubscriberFilter | None = None
) -> int:
    statement = sa.select(sa.func.count()).select_from(subscribers)
    statement = statement.where(*_conditions(account_id, filter or SubscriberFilter()))
    return (await conn.execute(statement)).scalar_one()


def _conditions(account_id: int, f: SubscriberFilter) -> list[Any]:
    c = subscribers.c
    conditions = [c.account_id == account_id]
    pairs = [
        (c.region_code, f.region_code),
        (c.country_code, f.country_code),
        (c.status, f.status),
        (c.number_type, f.number_type),
    ]
    conditions += [column == value for column, value in pairs if value is not None]
    if f.created_after is not None:
        conditions.append(c.created_at > f.created_after)
    if f.created_before is not None:
        conditions.append(c.created_at < f.created_before)
    if f.updated_after is not None:
        conditions.append(c.updated_at > f.updated_after)
    if f.updated_before is not None:
        conditions.append(c.updated_at < f.updated_before)
    if f.can_message_at is not None:
        conditions.append(_may_message(f.can_message_at, f.quiet_hours or (time(), time())))
    if f.search is not None:
        conditions.append(_matching(f.search))
    if f.attributes is not None:
        conditions.append(c.attributes.contains(f.attributes))
    return conditions


# Sorts after every character: a prefix p covers the strings from p up to p + _LAST.
_LAST = "\U0010ffff"


def _matching(search: Search) -> Any:
    """The search as ranges of the search indexes (see models._search_indexes): each word
    begins a name or the email, or the number begins with one of the prefixes."""
    c = subscribers.c
    if search.words:
        return sa.and_(
            *(
                sa.or_(*(_begins_lower(col, w) for col in (c.first_name, c.last_name, c.email)))
                for w in search.words
            )
        )
    numbers = [_begins(c.number, prefix) for prefix in search.national]
    numbers += [
        sa.and_(c.country_code == code, _begins(c.number, prefix))
        for code, prefix in search.international
    ]
    return sa.or_(*numbers) if numbers else sa.false()


def _begins_lower(column: Any, word: str) -> Any:
    # lower() on both sides in SQL, so that the word is folded exactly as the index is.
    key = sa.func.lower(column).collate("C")
    low, high = (sa.func.lower(sa.literal(v, sa.Text)) for v in (word, word + _LAST))
    return sa.and_(key >= low, key < high)


def _begins(column: Any, prefix: str) -> Any:
    key = column.collate("C")
    return sa.and_(key >= prefix, key < prefix + _LAST) if prefix else sa.true()


def _may_message(at: datetime, quiet_hours: tuple[time, time]) -> Any:
    """consent.quiet_hours.permission in SQL: subscribed, and outside quiet hours in every
    zone of the number (UTC for a number with none)."""
    start, end = quiet_hours
    subscribed = subscribers.c.status == "SUBSCRIBED"
    if start == end:
        return subscribed
    local = "(CAST(:may_at AS timestamptz) AT TIME ZONE z)::time"
    begins, ends = f"{local} >= CAST(:may_start AS time)", f"{local} < CAST(:may_end AS time)"
    quiet = f"{begins} AND {ends}" if start < end else f"({begins} OR {ends})"
    zones = (
        "unnest(CASE WHEN subscribers.time_zones = '' THEN ARRAY['UTC'] "
        "ELSE string_to_array(subscribers.time_zones, ' ') END) AS z"
    )
    outside = sa.text(f"NOT EXISTS (SELECT 1 FROM {zones} WHERE {quiet})")
    return sa.and_(subscribed, outside.bindparams(may_at=at, may_start=start, may_end=end))
