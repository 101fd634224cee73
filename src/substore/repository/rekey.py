"""SQL of `substore rekey`: reading keys in keyset batches, moving keys, merging two rows
of one person, and counting rows keyed by another phonenumbers version.

Every write is set-based or per merge, inside the caller's short transaction, with its
events in the outbox (outbox.py) and in the subscriber's history (consent_events) in the
same statements. A write only touches a row still as it was read (same key, same version):
a row a live write has changed meanwhile is left for the next run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from substore.repository import outbox, routing, subscribers
from substore.repository.consent import Provenance
from substore.repository.writes import array_literal

# What a re-read may change: every key column but the number as it was sent.
KEY_COLUMNS = tuple(c for c in subscribers.KEY_COLUMNS if c != "raw_number")
_READ = "id, e164_number, number, raw_number, country_code, region_code, number_type, " + (
    "country_code_source, default_region, normalizer_version, time_zones"
)
_TYPES = {"id": "bigint", "country_code": "smallint"}


@dataclass(frozen=True, slots=True)
class Move:
    """One row's key columns as the installed version makes them; `note` says why."""

    id: int
    old_e164: str
    old_version: str
    key: dict[str, Any]
    note: str


async def begin_snapshot(conn: AsyncConnection) -> None:
    """Make the connection's new transaction one read-only snapshot (the check's batches
    all see the same rows, and can write nothing)."""
    await conn.execute(sa.text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"))


async def account_ids(conn: AsyncConnection, only: int | None = None) -> list[int]:
    where = "" if only is None else "WHERE id = :only"
    result = await conn.execute(
        sa.text(f"SELECT id FROM accounts {where} ORDER BY id"), {"only": only}
    )
    return list(result.scalars())


async def count_rows(
    conn: AsyncConnection, account_id: int | None, stale_from: str | None = None
) -> int:
    """The rows of an account (None: of all), or of them those keyed by another version."""
    where = ["true"]
    if account_id is not None:
        where.append("account_id = :account_id")
    if stale_from is not None:
        where.append("normalizer_version <> :version")
    statement = sa.text(f"SELECT count(*) FROM subscribers WHERE {' AND '.join(where)}")
    params = {"account_id": account_id, "version": stale_from}
    return int(await conn.scalar(statement, params) or 0)


async def read_batch(
    conn: AsyncConnection, account_id: int, after: int, limit: int, stale_from: str | None = None
) -> list[tuple[Any, ...]]:
    """Up to `limit` rows' key columns after id `after`, by id (the primary key's order);
    with `stale_from`, only rows keyed by another version than it."""
    stale = "" if stale_from is None else "AND normalizer_version <> :version"
    statement = sa.text(
        f"SELECT {_READ} FROM subscribers WHERE account_id = :account_id AND id > :after "
        f"{stale} ORDER BY id LIMIT :limit"
    )
    params = {"account_id": account_id, "after": after, "limit": limit, "version": stale_from}
    return [tuple(row) for row in await conn.execute(statement, params)]


async def key_holders(
    conn: AsyncConnection, account_id: int, keys: Sequence[str], *, lock: bool = False
) -> dict[str, int]:
    """The ids of the rows that hold `keys` now (locked for update with `lock`)."""
    if not keys:
        return {}
    statement = sa.text(
        "SELECT e164_number, id FROM subscribers WHERE account_id = :account_id "
        "AND e164_number = ANY(CAST(:keys AS text[])) ORDER BY id" + (" FOR UPDATE" if lock else "")
    )
    result = await conn.execute(statement, {"account_id": account_id, "keys": list(keys)})
    return {e164: id_ for e164, id_ in result}


async def stale_counts(conn: AsyncConnection, version: str) -> dict[str, int]:
    """How many subscribers, of every account, each other phonenumbers version keyed."""
    statement = sa.text(
        "SELECT normalizer_version, count(*) FROM subscribers "
        "WHERE normalizer_version <> :version GROUP BY 1 ORDER BY 1"
    )
    return {v: int(n) for v, n in await conn.execute(statement, {"version": version})}


async def stamp_version(
    conn: AsyncConnection, account_id: int, rows: Sequence[tuple[int, str]], version: str
) -> int:
    """Record that `version` reads these rows' keys as they are: (id, version read) pairs."""
    if not rows:
        return 0
    statement = sa.text(
        """UPDATE subscribers s SET normalizer_version = CAST(:version AS text)
FROM unnest(CAST(:ids AS bigint[]), CAST(:versions AS text[])) AS i(id, version)
WHERE s.account_id = :account_id AND s.id = i.id AND s.normalizer_version = i.version"""
    )
    params = {
        "account_id": account_id,
        "version": version,
        "ids": [id_ for id_, _ in rows],
        "versions": [v for _, v in rows],
    }
    result = await conn.execute(statement, params)
    return int(result.rowcount)


def _move_sql() -> str:
    columns = ("id", "old_e164", "old_version", *KEY_COLUMNS, "note")
    arrays = ", ".join(f"CAST(CAST(:{c} AS text) AS {_TYPES.get(c, 'text')}[])" for c in columns)
    sets = ", ".join(f"{c} = i.{c}" for c in KEY_COLUMNS)
    changes = outbox.changes(KEY_COLUMNS)
    return f"""WITH i AS (SELECT * FROM unnest({arrays}) AS i({", ".join(columns)})),
up AS (
  UPDATE subscribers s SET {sets}, updated_at = now()
  FROM i WHERE s.account_id = CAST(:account_id AS bigint) AND s.id = i.id
    AND s.e164_number = i.old_e164 AND s.normalizer_version = i.old_version
  RETURNING s.id, s.e164_number, s.status, false AS created, false AS changed, i.old_e164,
    i.note, ({changes}::jsonb || jsonb_build_object('previousE164Number', i.old_e164,
      'rekey', i.note))::json AS changes
),
{outbox.ctes()},
history AS (
  INSERT INTO consent_events (id, account_id, subscriber_id, at, action, source, detail)
  SELECT nextval('consent_events_id_seq'), CAST(:account_id AS bigint), up.id,
    CAST(:at AS timestamptz), 'REKEYED',
    CAST(:source AS text), up.old_e164 || ' -> ' || up.e164_number || ' (' || up.note || ')'
  FROM up WHERE up.old_e164 <> up.e164_number
)
SELECT up.id FROM up"""


async def move_keys(
    conn: AsyncConnection, account_id: int, moves: Sequence[Move], provenance: Provenance
) -> set[int]:
    """Give each row its new key columns, where it is still as read; the ids moved."""
    if not moves:
        return set()
    params: dict[str, Any] = {
        "account_id": account_id,
        "at": provenance.at,
        "source": provenance.source,
        **outbox.params(provenance),
        "id": array_literal([m.id for m in moves]),
        "old_e164": array_literal([m.old_e164 for m in moves]),
        "old_version": array_literal([m.old_version for m in moves]),
        "note": array_literal([m.note for m in moves]),
    }
    params |= {c: array_literal([m.key[c] for m in moves]) for c in KEY_COLUMNS}
    # On Citus, on the account's node (routing.py): its CTEs write the outbox too.
    return set((await routing.execute(conn, account_id, _move_sql(), params)).scalars())


async def lock_rows(
    conn: AsyncConnection, account_id: int, ids: Sequence[int]
) -> dict[int, dict[str, Any]]:
    """Whole rows by id, locked for update in id order (so two merges cannot deadlock)."""
    statement = sa.text(
        "SELECT * FROM subscribers WHERE account_id = :account_id "
        "AND id = ANY(CAST(:ids AS bigint[])) ORDER BY id FOR UPDATE"
    )
    result = await conn.execute(statement, {"account_id": account_id, "ids": list(ids)})
    return {row.id: dict(row._mapping) for row in result}
