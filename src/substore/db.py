"""Where the database is, and how to reach it: URL, engine, migrations (the embedded server
is embedded.py's).

Nothing here runs at import time; the app's lifespan or a CLI command calls `open_engine`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlsplit

from sqlalchemy import Connection, event, text
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.util import await_only

from substore import citus, embedded
from substore.config import Settings
from substore.errors import ConfigError

if TYPE_CHECKING:  # alembic is imported where it is used, not with this module
    from alembic.config import Config

log = logging.getLogger(__name__)

_PROJECT_ROOT = Path(__file__).resolve().parents[2]
_MIGRATION_LOCK = 0x5B5_C0DE  # any constant shared by every substore process


def async_url(url: str) -> str:
    """Any accepted PostgreSQL URL as SQLAlchemy's asyncpg form (socket `host=` kept)."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme not in ("postgresql", "postgres", "postgresql+asyncpg"):
        raise ConfigError(f"not a PostgreSQL URL: {redact(url)}")
    return f"postgresql+asyncpg://{rest}"


def redact(url: str) -> str:
    """The URL without its password, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return url.replace(f":{parts.password}@", ":***@", 1)


def database_url(settings: Settings, *, hold: bool = True) -> str:
    """The configured URL, or the embedded server's (started if it is not running; this
    process holds it unless `hold` is false: embedded.start)."""
    if settings.database_url:
        return async_url(settings.database_url)
    return async_url(embedded.start(settings.data_dir, hold=hold))


def create_engine(url: str, *, pool_size: int = 10, overflow: int | None = None) -> AsyncEngine:
    overflow = pool_size if overflow is None else overflow
    engine = create_async_engine(
        async_url(url), pool_size=pool_size, max_overflow=overflow, json_deserializer=_json
    )
    event.listen(engine.sync_engine, "checkout", _drop_old_plans)  # kept by dispose()
    return engine


def _json(text: str) -> Any:
    # Most subscribers carry no attributes: a page decodes '{}' for each row otherwise.
    return {} if text == "{}" else json.loads(text)


# PostgreSQL keeps the plan it made for a prepared statement, and asyncpg and SQLAlchemy
# keep their statements as long as the connection lives. A lookup prepared while the
# table was nearly empty (where any plan is as good) went on reading every row of the
# account through the primary key as an import filled it (docs: Performance). So a
# connection in use drops its plans (DISCARD PLANS; its statements stay) once a second,
# and each statement is planned again for the table as it is now.
PLAN_MAX_AGE_SECONDS = 1.0
_DISCARD_PLANS = "DISCARD PLANS"


def plans_are_old(info: dict[str, Any]) -> bool:
    """Whether the connection whose `info` this is should drop its plans now; if so, it
    counts as done."""
    now = time.monotonic()
    if now - info.setdefault("plans_since", now) < PLAN_MAX_AGE_SECONDS:
        return False
    info["plans_since"] = now
    return True


async def drop_old_plans(connection: AsyncConnection) -> None:
    """For a connection kept checked out (a reader): what checkout does for the others."""
    if plans_are_old(connection.info):
        await connection.exec_driver_sql(_DISCARD_PLANS)


def _drop_old_plans(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    if not plans_are_old(record.info):
        return
    try:  # checkout runs in SQLAlchemy's greenlet: await_only
        await_only(dbapi_connection.driver_connection.execute(_DISCARD_PLANS))
    except Exception as error:
        # A pooled connection whose server went away: the pool drops it and connects
        # anew (answered 503 if that fails too), as for a connection that fails its ping.
        raise DisconnectionError(f"dropping plans failed: {error}") from error


async def check_connection(engine: AsyncEngine) -> None:
    """Fail with one clear line when the database cannot be reached."""
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except (OSError, ConnectionError) as error:
        raise ConfigError(
            f"cannot reach PostgreSQL at {redact(str(engine.url))}: {error}"
        ) from None
    except Exception as error:
        if type(error).__module__.startswith(("asyncpg", "sqlalchemy")):
            raise ConfigError(
                f"cannot use PostgreSQL at {redact(str(engine.url))}: {error}"
            ) from None
        raise


async def open_engine(
    settings: Settings, *, pool_size: int = 10, overflow: int | None = None
) -> AsyncEngine:
    """An engine on a reachable database; the caller disposes of it."""
    engine = create_engine(database_url(settings), pool_size=pool_size, overflow=overflow)
    try:
        await check_connection(engine)
    except ConfigError:
        await engine.dispose()
        raise
    return engine


def alembic_config(url: str | None = None) -> Config:
    from alembic.config import Config

    ini = _PROJECT_ROOT / "alembic.ini"
    config = Config(str(ini if ini.exists() else "alembic.ini"))
    config.set_main_option("script_location", str(_PROJECT_ROOT / "migrations"))
    if url:
        config.attributes["url"] = async_url(url)
    return config


@dataclass(frozen=True, slots=True)
class Migrated:
    before: str | None  # the revision found under the lock (None: a database never migrated)
    distribution: citus.Distribution | None  # what distributing did, if it ran


async def migrate(
    engine: AsyncEngine, revision: str = "head", *, distribute: bool = True
) -> Migrated:
    """Upgrade the schema to `revision` with Alembic, on the engine's database; then, where
    the database has Citus and `distribute`, distribute the tables (citus.py)."""
    from alembic import command

    def _upgrade(sync_conn: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = sync_conn
        command.upgrade(config, revision)

    async with engine.connect() as conn:
        # Two processes (the server and a CLI command) may migrate at once: one waits, and
        # finds the schema upgraded and the tables distributed.
        await conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _MIGRATION_LOCK})
        await conn.commit()
        try:
            async with conn.begin():
                before = await _revision(conn)
                await conn.run_sync(_upgrade)
            if not distribute or revision != "head":  # an older schema is not distributed
                return Migrated(before, None)
            async with conn.begin():
                return Migrated(before, await citus.distribute_tables(conn))
        finally:
            await conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _MIGRATION_LOCK})
            await conn.commit()


async def current_revision(engine: AsyncEngine) -> str | None:
    """The schema's Alembic revision; None for a database that was never migrated."""
    async with engine.connect() as conn:
        return await _revision(conn)


async def _revision(conn: AsyncConnection) -> str | None:
    exists = await conn.scalar(text("SELECT to_regclass('alembic_version') IS NOT NULL"))
    if not exists:
        return None
    # A text() query's scalar is untyped to SQLAlchemy: version_num is a varchar.
    return cast(str | None, await conn.scalar(text("SELECT version_num FROM alembic_version")))


@contextlib.contextmanager
def scratch_server(url: str | None) -> Iterator[str]:
    """`url` if given, else a throwaway embedded PostgreSQL (for tests and benchmarks)."""
    if url:
        yield async_url(url)
        return
    with tempfile.TemporaryDirectory(prefix="substore-scratch-") as data_dir:
        url = embedded.start(Path(data_dir))
        try:
            yield async_url(url)
        finally:  # before its files go: postmaster.pid names the server to stop
            embedded.leave(embedded.pgdata_of(Path(data_dir)))
