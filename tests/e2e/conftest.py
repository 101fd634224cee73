"""Fixtures of the e2e tests."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from tests.e2e.importing import live_servers
from tests.support import serve_in_thread

from substore import auth, services
from substore.config import Settings
from substore.web.app import create_app


@pytest.fixture(scope="module")
def servers(database_url: str) -> Iterator[dict[str, str]]:
    with live_servers(database_url) as urls:
        yield urls


@pytest.fixture
def fresh_database(server_url: str) -> Iterator[str]:
    """An empty database, so serve meets a store with no accounts."""
    name = f"substore_e2e_{uuid.uuid4().hex[:10]}"
    admin = make_url(server_url).set(drivername="postgresql+asyncpg")
    yield from _with_database(admin, name)


def _with_database(admin, name: str) -> Iterator[str]:
    import asyncio

    from sqlalchemy.ext.asyncio import create_async_engine

    async def run(sql: str) -> None:
        engine = create_async_engine(admin, isolation_level="AUTOCOMMIT")
        async with engine.connect() as conn:
            await conn.execute(text(sql))
        await engine.dispose()

    asyncio.run(run(f'CREATE DATABASE "{name}"'))
    yield admin.set(database=name).render_as_string(hide_password=False)
    asyncio.run(run(f'DROP DATABASE "{name}" WITH (FORCE)'))


@pytest.fixture(scope="module")
async def key(engine) -> str:
    """A read key of a new account named "Browser" (the page tests look for its name)."""
    async with engine.begin() as conn:
        account = await services.create_account(conn, "Browser", "US")
        return (await auth.create_key(conn, account.id, "read")).secret


@pytest.fixture(scope="module")
def base(database_url: str) -> Iterator[str]:
    """The app on the test database, served over HTTP on loopback."""
    settings = Settings(database_url=database_url, normalize_workers=0)
    with serve_in_thread(create_app(settings)) as url:
        yield url
