"""import_batches: idempotency keys of importSubscribers calls, and what each answered.

A call claims its key with an insert before it writes anything; that row stays locked
until the call's transaction ends, so a repeat arriving meanwhile waits on it and then
reads the answer the first call committed (or, if that call rolled back, claims the key
itself). Times come from the caller, never now(): Citus refuses now() in an upsert's
DO UPDATE on a distributed table.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from substore.models import ImportBatch, table
from substore.repository.subscribers import Record

import_batches = table(ImportBatch)


async def claim_import(
    conn: AsyncConnection,
    account_id: int,
    key: str,
    digest: str,
    now: datetime,
    expired_before: datetime,
) -> Record | None:
    """None: this call holds `key` now (new, or an expired one taken over). Otherwise the
    earlier call's row (digest, results), read once that call has ended."""
    c = import_batches.c
    fresh = {"digest": digest, "created_at": now, "results": None}
    statement = (
        insert(import_batches)
        .values(account_id=account_id, key=key, **fresh)
        .on_conflict_do_update(
            index_elements=[c.account_id, c.key],
            set_=fresh,
            where=c.created_at < expired_before,
        )
        .returning(c.key)
    )
    if await conn.scalar(statement) is not None:
        return None
    earlier = sa.select(import_batches).where(c.account_id == account_id, c.key == key)
    return (await conn.execute(earlier)).one()


async def record_import(conn: AsyncConnection, account_id: int, key: str, results: Any) -> None:
    c = import_batches.c
    statement = (
        import_batches.update()
        .where(c.account_id == account_id, c.key == key)
        .values(results=results)
    )
    await conn.execute(statement)


async def release_import(conn: AsyncConnection, account_id: int, key: str) -> None:
    """Give a claimed key back: the call wrote nothing, a repeat must run again."""
    c = import_batches.c
    await conn.execute(import_batches.delete().where(c.account_id == account_id, c.key == key))


async def prune_imports(
    conn: AsyncConnection, account_id: int, expired_before: datetime, limit: int = 100
) -> int:
    """Delete up to `limit` of the account's expired keys; how many went. Keys another
    transaction holds are skipped, so concurrent imports never wait on each other here."""
    c = import_batches.c
    expired = (
        sa.select(c.key)
        .where(c.account_id == account_id, c.created_at < expired_before)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    statement = import_batches.delete().where(c.account_id == account_id, c.key.in_(expired))
    return (await conn.execute(statement)).rowcount
