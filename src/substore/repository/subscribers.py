"""SQL for reading and deleting subscribers, and the shapes the writes share.

Every query filters by account; upserts and updates are in writes.py, pages and
counts in pages.py.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple

import asyncpg
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from substore.models import Subscriber, table
from substore.repository import outbox, routing
from substore.repository.consent import Provenance

subscribers = table(Subscriber)

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
    "time_zones",  # space-separated
)
# Changed only when the caller provides them; an explicit None clears them (status and
# consent follow the consent rules instead: see consent.py).
PROFILE_COLUMNS = (
    "first_name",
    "last_name",
    "email",
    "attributes",
    "status",
    "consented_at",
    "consent_source",
    "unsubscribed_at",
    "unsubscribe_source",
)


@dataclass(frozen=True, slots=True)
class SubscriberWrite:
    """One subscriber to store: its key columns and the profile fields the caller gave."""

    key: dict[str, Any]
    profile: dict[str, Any] = field(default_factory=dict)


# A stored row: SQLAlchemy's Row reads like a record (row.e164_number) and costs far less
# to build than an ORM instance, which matters at 1000 rows a batch.
Record = sa.Row[Any]


class Upserted(NamedTuple):
    """A written row's outcome; a NamedTuple, made a row of every import batch."""

    id: int
    e164_number: str
    created: bool
    status: str  # what the write left: UNSUBSCRIBED where an opt-out was kept
    subscriber: Record | None = None  # the whole stored row, when asked for


# --- subscribers: writes -------------------------------------------------------------


async def delete_subscribers(
    conn: AsyncConnection,
    account_id: int,
    ids: Sequence[int],
    forget_opt_out: bool,
    provenance: Provenance | None = None,
) -> set[int]:
    """Delete the account's subscribers among `ids`, in one statement; the ids it found.

    An opted-out subscriber is not removed unless `forget_opt_out`: its profile is cleared
    and its number stays, UNSUBSCRIBED, as a suppression entry, so that no later import can
    subscribe it again. The status is read under each row's lock, so an opt-out racing the
    delete is never lost.
    """
    statement = (
        """WITH target AS (SELECT unnest(CAST(:ids AS bigint[])) AS id),
gone AS (
  DELETE FROM subscribers s USING target t
  WHERE s.account_id = CAST(:account_id AS bigint) AND s.id = t.id
    AND (CAST(:forget AS boolean) OR s.status <> 'UNSUBSCRIBED')
  RETURNING s.id, s.e164_number, s.status
),
kept AS (
  UPDATE subscribers s SET first_name = NULL, last_name = NULL, email = NULL,
    attributes = '{}'::jsonb, updated_at = now()
  FROM target t
  WHERE s.account_id = CAST(:account_id AS bigint) AND s.id = t.id
    AND NOT CAST(:forget AS boolean) AND s.status = 'UNSUBSCRIBED'
  RETURNING s.id, s.e164_number, s.status
),
removed AS (
  SELECT id, e164_number, status, '{}'::json AS changes FROM gone
  UNION ALL SELECT id, e164_number, status, '{"suppressionKept": true}'::json FROM kept
),
"""
        + outbox.ctes("removed", outbox.DELETED)
        + "\nSELECT id FROM removed"
    )
    provenance = provenance or Provenance(datetime.now(UTC), "api")
    params = {
        "ids": list(ids),
        "account_id": account_id,
        "forget": forget_opt_out,
        "at": provenance.at,
        **outbox.params(provenance),
    }
    return {row.id for row in await routing.execute(conn, account_id, statement, params)}


# --- subscribers: reads --------------------------------------------------------------


# The lookups a frontend makes before each message go to asyncpg itself, on the request's
# own connection (and so in its transaction, if it has begun one): SQLAlchemy's statement
# and result machinery cost 70 us a lookup, more than the statement. The row comes back
# as a named tuple in the table's column order, read like SQLAlchemy's rows.
_COLUMNS = tuple(c.name for c in subscribers.c)
_SELECT = f"SELECT {', '.join(_COLUMNS)} FROM subscribers WHERE account_id = $1"
_BY_ID = f"{_SELECT} AND id = $2"
_BY_E164 = f"{_SELECT} AND e164_number = $2"
_BY_E164S = f"{_SELECT} AND e164_number = ANY($2::text[])"
# The ignore: mypy reads a namedtuple's fields only from a literal, not from the table.
SubscriberRow = namedtuple("SubscriberRow", _COLUMNS)  # type: ignore[misc]


def subscriber_rows(rows: Iterable[Any]) -> list[Record]:
    """SQLAlchemy rows of `SELECT subscribers.*` (and any columns after) as SubscriberRows:
    a page reads ~20 attributes of each row, and a named tuple's take a tenth of the time
    of a Row's."""
    width = len(_COLUMNS)
    # The ignore: as in _fetch_one.
    return [SubscriberRow(*row[:width]) for row in rows]  # type: ignore[misc]


async def _fetch(conn: AsyncConnection, sql: str, *args: Any) -> list[Record]:
    driver: Any = await _driver(conn)
    try:
        found = await driver.fetch(sql, *args)
    except (asyncpg.InterfaceError, asyncpg.PostgresConnectionError, OSError) as error:
        if isinstance(error, asyncpg.InterfaceError) and not driver.is_closed():
            raise  # a misuse of the connection: a bug, not an outage
        # What SQLAlchemy does with a disconnect it meets itself: the pool must not
        # hand this connection out again; the edge answers 503.
        await conn.invalidate()
        raise ConnectionError(f"lost the database connection: {error}") from error
    # The ignore: a SubscriberRow is no sa.Row, but callers read a Record by attribute only.
    return [SubscriberRow(*row) for row in found]  # type: ignore[misc]


async def _fetch_one(conn: AsyncConnection, sql: str, *args: Any) -> Record | None:
    found = await _fetch(conn, sql, *args)
    return found[0] if found else None


async def _driver(conn: AsyncConnection) -> Any:
    """The asyncpg connection under `conn`: read directly while SQLAlchemy holds it (its
    own getter passes through a greenlet, 15 us), through that getter when it must
    reconnect first."""
    sync = conn.sync_connection
    if sync is not None and not sync.invalidated and not sync.closed:
        return sync.connection.driver_connection
    return (await conn.get_raw_connection()).driver_connection


async def get_subscriber(
    conn: AsyncConnection, account_id: int, subscriber_id: int
) -> Record | None:
    return await _fetch_one(conn, _BY_ID, account_id, subscriber_id)


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
    return await _fetch_one(conn, _BY_E164, account_id, e164_number)


async def get_subscribers_by_e164(
    conn: AsyncConnection, account_id: int, e164_numbers: Sequence[str]
) -> dict[str, Record]:
    """The account's subscribers with these keys, by key (one statement, one index)."""
    rows = await _fetch(conn, _BY_E164S, account_id, e164_numbers)
    return {row.e164_number: row for row in rows}
