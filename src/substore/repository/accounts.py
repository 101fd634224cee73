"""SQL for accounts and API keys."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from substore.models import Account, ApiKey, table
from substore.repository.subscribers import Record

accounts = table(Account)
api_keys = table(ApiKey)


async def create_account(conn: AsyncConnection, name: str, default_region: str) -> Record:
    statement = (
        accounts.insert().values(name=name, default_region=default_region).returning(*accounts.c)
    )
    return (await conn.execute(statement)).one()


async def get_account(conn: AsyncConnection, account_id: int) -> Record | None:
    statement = sa.select(accounts).where(accounts.c.id == account_id)
    return (await conn.execute(statement)).first()


async def list_accounts(conn: AsyncConnection) -> list[Record]:
    return list(await conn.execute(sa.select(accounts).order_by(accounts.c.id)))


async def count_accounts(conn: AsyncConnection) -> int:
    return (await conn.execute(sa.select(sa.func.count()).select_from(accounts))).scalar_one()


async def update_account(
    conn: AsyncConnection, account_id: int, values: dict[str, Any]
) -> Record | None:
    statement = (
        accounts.update().where(accounts.c.id == account_id).values(**values).returning(*accounts.c)
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
