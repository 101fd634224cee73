"""SQL for subscribers, accounts and API keys. Every subscriber query filters by account.

Functions take the caller's `AsyncConnection`, so a use case decides the transaction.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from substore.errors import DuplicateError
from substore.models import Account, ApiKey, Subscriber

subscribers = Subscriber.__table__
accounts = Account.__table__
api_keys = ApiKey.__table__

# Set from each new submission, never kept from the stored row.
KEY_COLUMNS = (
    "e164_number",
    "number",
    "raw_number",
    "country_code",
    "region_code",
    "number_type",
    "country_code_source",
    "default_region",
    "normalizer_version",
)
# Changed only when the caller provides them; an explicit None clears them.
PROFILE_COLUMNS = ("first_name", "last_name", "email", "attributes", "status")
_PG_TYPES = {
    "country_code": "smallint",
    "attributes": "jsonb",
}


@dataclass(frozen=True, slots=True)
class SubscriberWrite:
    """One subscriber to store: its key columns and the profile fields the caller gave."""

    key: dict[str, Any]
    profile: dict[str, Any] = field(default_factory=dict)


# A stored row: SQLAlchemy's Row reads like a record (row.e164_number) and costs far less
# to build than an ORM instance, which matters at 1000 rows a batch.
Record = sa.Row[Any]


@dataclass(frozen=True, slots=True)
class Upserted:
    id: int
    e164_number: str
    created: bool
    subscriber: Record | None = None  # the whole stored row, when asked for


@dataclass(frozen=True, slots=True)
class SubscriberFilter:
    region_code: str | None = None
    country_code: int | None = None
    status: str | None = None
    number_type: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None


# --- subscribers: writes -------------------------------------------------------------


async def upsert_subscribers(
    conn: AsyncConnection,
    account_id: int,
    rows: Sequence[SubscriberWrite],
    *,
    full_rows: bool = False,
) -> list[Upserted]:
    """Insert or update `rows` (distinct E.164s); results in input order.

    Without `full_rows` only id, E.164 and created come back: reading every column of
    every row back through SQLAlchemy costs more than the upsert itself.

    One INSERT ... SELECT FROM unnest ... ON CONFLICT statement per set of provided
    profile fields: `excluded` cannot say which fields a row left out, so rows that
    leave out different fields cannot share a DO UPDATE list. A file import has one
    shape, hence one statement.
    """
    groups: dict[tuple[str, ...], list[int]] = defaultdict(list)
    for index, row in enumerate(rows):
        groups[tuple(c for c in PROFILE_COLUMNS if c in row.profile)].append(index)
    results: list[Upserted | None] = [None] * len(rows)
    for provided, indexes in sorted(groups.items()):
        # Rows go in sorted by key so that concurrent batches lock rows in one order;
        # in input order, two batches holding each other's numbers deadlock.
        indexes.sort(key=lambda i: rows[i].key["e164_number"])
        group = [rows[i] for i in indexes]
        stored = await _upsert_group(conn, account_id, group, provided, full_rows)
        for i, row in zip(indexes, group, strict=True):
            results[i] = stored[row.key["e164_number"]]
    return results  # type: ignore[return-value]


async def upsert_subscriber(
    conn: AsyncConnection, account_id: int, row: SubscriberWrite
) -> Upserted:
    [result] = await upsert_subscribers(conn, account_id, [row], full_rows=True)
    return result


async def _upsert_group(
    conn: AsyncConnection,
    account_id: int,
    rows: list[SubscriberWrite],
    provided: tuple[str, ...],
    full_rows: bool,
) -> dict[str, Upserted]:
    columns = (*KEY_COLUMNS, *provided)
    params: dict[str, Any] = {"account_id": account_id}
    for column in KEY_COLUMNS:
        params[column] = [row.key[column] for row in rows]
    for column in provided:
        params[column] = [_db_value(column, row.profile[column]) for row in rows]
    result = await conn.execute(sa.text(_upsert_sql(columns, provided, full_rows)), params)
    return {
        row.e164_number: Upserted(row.id, row.e164_number, row.created, row if full_rows else None)
        for row in result
    }


def _upsert_sql(columns: tuple[str, ...], provided: tuple[str, ...], full_rows: bool) -> str:
    arrays = ", ".join(f"CAST(:{c} AS {_PG_TYPES.get(c, 'text')}[])" for c in columns)
    updates = ", ".join(f"{c} = excluded.{c}" for c in (*KEY_COLUMNS[1:], *provided))
    return (
        f"INSERT INTO subscribers (account_id, {', '.join(columns)}) "
        f"SELECT CAST(:account_id AS bigint), * FROM unnest({arrays}) "
        "ON CONFLICT (account_id, e164_number) DO UPDATE "
        f"SET {updates}, updated_at = now() "
        # xmax is 0 only on a row this statement inserted: exact even under concurrency.
        f"RETURNING {'*' if full_rows else 'id, e164_number'}, (xmax = 0) AS created"
    )


def _db_value(column: str, value: Any) -> Any:
    if column == "attributes":
        return json.dumps(value if value is not None else {})
    if column == "status" and value is None:
        return "SUBSCRIBED"
    return value


async def update_subscriber(
    conn: AsyncConnection, account_id: int, subscriber_id: int, row: SubscriberWrite
) -> Record | None:
    """Change one subscriber by id, its number too; None if it is not in the account."""
    values = {**row.key, **{c: _db_value(c, v) for c, v in row.profile.items()}}
    if "attributes" in values:
        values["attributes"] = sa.cast(values["attributes"], subscribers.c.attributes.type)
    statement = (
        subscribers.update()
        .where(subscribers.c.account_id == account_id, subscribers.c.id == subscriber_id)
        .values(**values, updated_at=sa.func.now())
        .returning(*subscribers.c)
    )
    try:
        async with conn.begin_nested():
            found = (await conn.execute(statement)).first()
    except IntegrityError as error:
        if "uq_subscribers_account_id_e164_number" not in str(error.orig):
            raise
        raise DuplicateError(
            f"another subscriber already has {row.key.get('e164_number')}.",
            field=("input", "number"),
        ) from None
    return found


async def delete_subscriber(
    conn: AsyncConnection, account_id: int, subscriber_id: int
) -> Record | None:
    statement = (
        subscribers.delete()
        .where(subscribers.c.account_id == account_id, subscribers.c.id == subscriber_id)
        .returning(*subscribers.c)
    )
    return (await conn.execute(statement)).first()


# --- subscribers: reads --------------------------------------------------------------


async def get_subscriber(
    conn: AsyncConnection, account_id: int, subscriber_id: int
) -> Record | None:
    return await _one(conn, account_id, subscribers.c.id == subscriber_id)


async def get_subscribers(
    conn: AsyncConnection, account_id: int, ids: Sequence[int]
) -> dict[int, Record]:
    """Many subscribers by id in one query, keyed by id; unknown ids are left out."""
    statement = sa.select(subscribers).where(
        subscribers.c.account_id == account_id, subscribers.c.id.in_(list(ids))
    )
    return {row.id: row for row in await conn.execute(statement)}


async def get_subscriber_by_e164(
    conn: AsyncConnection, account_id: int, e164_number: str
) -> Record | None:
    return await _one(conn, account_id, subscribers.c.e164_number == e164_number)


async def _one(conn: AsyncConnection, account_id: int, where: Any) -> Record | None:
    statement = sa.select(subscribers).where(subscribers.c.account_id == account_id, where)
    return (await conn.execute(statement)).first()


async def page_subscribers(
    conn: AsyncConnection,
    account_id: int,
    filter: SubscriberFilter,
    *,
    first: int,
    after: tuple[datetime, int] | None = None,
) -> list[Record]:
    """Up to `first` subscribers in (created_at, id) order, strictly after the cursor."""
    statement = sa.select(subscribers).where(*_conditions(account_id, filter))
    if after is not None:
        statement = statement.where(
            sa.tuple_(subscribers.c.created_at, subscribers.c.id) > sa.tuple_(*after)
        )
    statement = statement.order_by(subscribers.c.created_at, subscribers.c.id).limit(first)
    return list(await conn.execute(statement))


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
    return conditions


# --- accounts and API keys -----------------------------------------------------------


async def create_account(conn: AsyncConnection, name: str, default_region: str) -> Record:
    statement = (
        accounts.insert().values(name=name, default_region=default_region).returning(*accounts.c)
    )
    return (await conn.execute(statement)).one()


async def get_account(conn: AsyncConnection, account_id: int) -> Record | None:
    statement = sa.select(accounts).where(accounts.c.id == account_id)
    return (await conn.execute(statement)).first()


async def count_accounts(conn: AsyncConnection) -> int:
    return (await conn.execute(sa.select(sa.func.count()).select_from(accounts))).scalar_one()


async def set_default_region(
    conn: AsyncConnection, account_id: int, default_region: str
) -> Record | None:
    statement = (
        accounts.update()
        .where(accounts.c.id == account_id)
        .values(default_region=default_region)
        .returning(*accounts.c)
    )
    return (await conn.execute(statement)).first()


async def create_api_key(
    conn: AsyncConnection, account_id: int, scope: str, prefix: str, key_hash: str
) -> Record:
    statement = (
        api_keys.insert()
        .values(account_id=account_id, scope=scope, prefix=prefix, hash=key_hash)
        .returning(*api_keys.c)
    )
    return (await conn.execute(statement)).one()


async def find_api_key(conn: AsyncConnection, key_hash: str) -> Record | None:
    """The live (not revoked) key with this hash."""
    statement = sa.select(api_keys).where(
        api_keys.c.hash == key_hash, api_keys.c.revoked_at.is_(None)
    )
    return (await conn.execute(statement)).first()


async def list_api_keys(conn: AsyncConnection, account_id: int) -> list[Record]:
    statement = (
        sa.select(
            api_keys.c.id,
            api_keys.c.prefix,
            api_keys.c.scope,
            api_keys.c.created_at,
            api_keys.c.revoked_at,
        )
        .where(api_keys.c.account_id == account_id)
        .order_by(api_keys.c.id)
    )
    return list(await conn.execute(statement))


async def revoke_api_key(conn: AsyncConnection, account_id: int, key_id: int) -> bool:
    statement = (
        api_keys.update()
        .where(api_keys.c.account_id == account_id, api_keys.c.id == key_id)
        .where(api_keys.c.revoked_at.is_(None))
        .values(revoked_at=sa.func.now())
    )
    return (await conn.execute(statement)).rowcount == 1
