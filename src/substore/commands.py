"""What the `substore` subcommands do, apart from argument parsing (which is cli.py's)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from substore import auth, db, repository, services
from substore.config import Settings
from substore.errors import ValidationError
from substore.repository import count_accounts

SCHEMA_FILE = Path("schema/schema.graphql")


async def _with_engine(settings: Settings, work):
    engine = await db.open_engine(settings, pool_size=1)
    try:
        return await work(engine)
    finally:
        await engine.dispose()


def create_account(settings: Settings, name: str, region: str) -> dict[str, object]:
    """A new account and its first write key: {id, name, defaultRegion, apiKey}."""

    async def work(engine) -> dict[str, object]:
        async with engine.begin() as conn:
            account = await services.create_account(conn, name, region)
            key = await auth.create_key(conn, account.id, "write")
        return {
            "id": account.id,
            "name": account.name,
            "defaultRegion": account.default_region,
            "apiKey": key.secret,
        }

    return asyncio.run(_with_engine(settings, work))


def create_key(settings: Settings, account_id: int, scope: str) -> dict[str, object]:
    async def work(engine) -> dict[str, object]:
        async with engine.begin() as conn:
            key = await auth.create_key(conn, account_id, scope)
        return {"apiKey": key.secret, "scope": key.scope.value, "account": account_id}

    return asyncio.run(_with_engine(settings, work))


def list_keys(settings: Settings, account_id: int) -> list[dict[str, object]]:
    async def work(engine) -> list[dict[str, object]]:
        async with engine.connect() as conn:
            rows = await repository.list_api_keys(conn, account_id)
        return [
            {
                "prefix": row.prefix,
                "scope": row.scope,
                "createdAt": row.created_at.isoformat(),
                "revokedAt": row.revoked_at.isoformat() if row.revoked_at else None,
            }
            for row in rows
        ]

    return asyncio.run(_with_engine(settings, work))


def revoke_key(settings: Settings, account_id: int, key_or_prefix: str) -> int:
    """Revoke the account's live keys that are, or start with, `key_or_prefix`; how many."""

    async def work(engine) -> int:
        async with engine.begin() as conn:
            keys = await repository.list_api_keys(conn, account_id)
            matches = [k for k in keys if k.revoked_at is None and _names(key_or_prefix, k.prefix)]
            if len(matches) > 1:
                raise ValidationError(
                    f"{key_or_prefix!r} matches {len(matches)} keys: give the whole key or a longer prefix.",
                    field=("key",),
                )
            for key in matches:
                await repository.revoke_api_key(conn, account_id, key.id)
            return len(matches)

    return asyncio.run(_with_engine(settings, work))


def _names(key_or_prefix: str, prefix: str) -> bool:
    return (
        key_or_prefix.startswith(prefix)
        if len(key_or_prefix) >= len(prefix)
        else prefix.startswith(key_or_prefix)
    )


def prepare_store(settings: Settings) -> dict[str, object] | None:
    """Migrate; on a store with no accounts, make one and return it with its write key."""

    async def work(engine) -> dict[str, object] | None:
        await db.migrate(engine)
        async with engine.begin() as conn:
            if await count_accounts(conn):
                return None
            account = await services.create_account(conn, "Default", settings.default_region)
            key = await auth.create_key(conn, account.id, "write")
        return {"id": account.id, "defaultRegion": account.default_region, "apiKey": key.secret}

    return asyncio.run(_with_engine(settings, work))


def first_run_banner(created: dict[str, object], url: str) -> str:
    header = json.dumps({"Authorization": f"Bearer {created['apiKey']}"})
    return "\n".join(
        [
            f"substore: created account {created['id']} (default region {created['defaultRegion']}).",
            f"  Its write API key, shown only this once: {created['apiKey']}",
            f"  Open {url} and paste into GraphiQL's Headers tab:",
            f"  {header}",
        ]
    )


def schema_sdl() -> str:
    from substore.graphql.schema import build_schema

    return str(build_schema()).rstrip() + "\n"


def export_schema(path: Path = SCHEMA_FILE) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(schema_sdl())


def schema_is_current(path: Path = SCHEMA_FILE) -> bool:
    return path.exists() and path.read_text() == schema_sdl()
