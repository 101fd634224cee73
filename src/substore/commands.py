"""What the `substore` subcommands do, apart from argument parsing (which is cli.py's)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from substore import auth, citus, db, phone, services
from substore.config import Settings
from substore.errors import NotFoundError
from substore.repository import Record
from substore.services import rekey

SCHEMA_FILE = Path("schema/schema.graphql")

T = TypeVar("T")


async def with_engine(settings: Settings, work: Callable[[AsyncEngine], Awaitable[T]]) -> T:
    """`work(engine)` on a database migrated (and on Citus distributed) first, as serve
    does: a store that was never served has no tables, and every command met that as a
    traceback."""
    engine = await db.open_engine(settings, pool_size=1)
    try:
        await db.migrate(engine)
        return await work(engine)
    finally:
        await engine.dispose()


async def _account(conn: AsyncConnection, account_id: int) -> Record:
    account = await services.get_account(conn, account_id)
    if account is None:
        raise NotFoundError(f"no account {account_id}: `substore accounts list` shows them.")
    return account


def create_account(settings: Settings, name: str, region: str) -> dict[str, object]:
    """A new account and its first write key: {id, name, defaultRegion, apiKey}."""

    async def work(engine: AsyncEngine) -> dict[str, object]:
        async with engine.begin() as conn:
            account = await services.create_account(conn, name, region)
            key = await auth.create_key(conn, account.id, "write")
        return {
            "id": account.id,
            "name": account.name,
            "defaultRegion": account.default_region,
            "apiKey": key.secret,
        }

    return asyncio.run(with_engine(settings, work))


def create_key(settings: Settings, account_id: int, scope: str) -> dict[str, object]:
    async def work(engine: AsyncEngine) -> dict[str, object]:
        async with engine.begin() as conn:
            await _account(conn, account_id)
            key = await auth.create_key(conn, account_id, scope)
        return {"apiKey": key.secret, "scope": key.scope.value, "account": account_id}

    return asyncio.run(with_engine(settings, work))


def list_keys(settings: Settings, account_id: int) -> list[dict[str, object]]:
    async def work(engine: AsyncEngine) -> list[dict[str, object]]:
        async with engine.connect() as conn:
            await _account(conn, account_id)
            rows = await auth.list_keys(conn, account_id)
        return [
            {
                "prefix": row.prefix,
                "scope": row.scope,
                "createdAt": row.created_at.isoformat(),
                "revokedAt": row.revoked_at.isoformat() if row.revoked_at else None,
            }
            for row in rows
        ]

    return asyncio.run(with_engine(settings, work))


def revoke_key(settings: Settings, account_id: int, key_or_prefix: str) -> dict[str, str]:
    """Revoke a key; {prefix, scope} of the key revoked."""

    async def work(engine: AsyncEngine) -> dict[str, str]:
        async with engine.begin() as conn:
            await _account(conn, account_id)
            key = await auth.revoke_key(conn, account_id, key_or_prefix)
        return {"prefix": key.prefix, "scope": key.scope}

    return asyncio.run(with_engine(settings, work))


def list_accounts(settings: Settings) -> list[dict[str, object]]:
    async def work(engine: AsyncEngine) -> list[dict[str, object]]:
        async with engine.connect() as conn:
            rows = await services.list_accounts(conn)
        return [
            {
                "id": row.id,
                "name": row.name,
                "defaultRegion": row.default_region,
                "createdAt": row.created_at.isoformat(),
            }
            for row in rows
        ]

    return asyncio.run(with_engine(settings, work))


def migrate(
    settings: Settings, *, distribute: bool = True
) -> tuple[str | None, str | None, citus.Distribution | None]:
    """Upgrade the schema, then distribute the tables where the database has Citus:
    (the revision before, the revision now, what distributing did, if it ran)."""

    async def run() -> tuple[str | None, str | None, citus.Distribution | None]:
        engine = await db.open_engine(settings, pool_size=1)
        try:
            done = await db.migrate(engine, distribute=distribute)
            return done.before, await db.current_revision(engine), done.distribution
        finally:
            await engine.dispose()

    return asyncio.run(run())


def prepare_store(settings: Settings) -> dict[str, object]:
    """Migrate; on a store with no accounts, make one and return it with its write key,
    else how many accounts there are."""

    async def work(engine: AsyncEngine) -> dict[str, object]:
        async with engine.begin() as conn:
            if count := await services.count_accounts(conn):
                return {"accounts": count, "stale": await rekey.stale_counts(conn)}
            account = await services.create_account(conn, "Default", settings.default_region)
            key = await auth.create_key(conn, account.id, "write")
        return {"id": account.id, "defaultRegion": account.default_region, "apiKey": key.secret}

    return asyncio.run(with_engine(settings, work))


CLI = ".venv/bin/substore"


def start_banner(store: dict[str, object], url: str) -> str:
    if "apiKey" in store:
        return first_run_banner(store, url)

    # The commands as they run after `make run`, which installs into .venv/ and puts
    # nothing on PATH: a bare `substore` would be "command not found".
    return (
        f"substore: {store['accounts']} account(s) here; `{CLI} accounts list` shows them, "
        f"and `{CLI} keys create --account ID --scope write` makes a key for GraphiQL "
        "(write: it runs mutations too)."
    )


def stale_keys_warning(stale: dict[str, int]) -> str:
    """What serve says when rows were keyed by other phonenumbers versions (their keys may
    be stale: a new write of the same person can make a duplicate beside them)."""
    versions = ", ".join(f"{count:,} by {version}" for version, count in stale.items())
    return (
        f"substore: warning: {sum(stale.values()):,} subscribers were keyed by another "
        f"phonenumbers version than the installed {phone.NORMALIZER_VERSION} ({versions}); "
        f"their keys may be stale. Run `{CLI} rekey --check` to see what changes, then "
        f"`{CLI} rekey --apply`."
    )


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
