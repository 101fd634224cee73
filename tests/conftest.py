"""Shared fixtures: a real PostgreSQL for the whole run, one fresh account per test.

The server is SUBSTORE_TEST_DATABASE_URL when set (a Citus coordinator too: the tables
are then distributed), else an embedded PostgreSQL in a temporary directory. Each run
gets its own database, migrated with Alembic; each test gets its own account, and every
query is account-scoped, so tests cannot see each other.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from hypothesis import settings as hypothesis_settings
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from substore import auth, db, services
from substore.config import Settings
from substore.repository import Record as Account
from substore.web.app import create_app
from tests.api import Api
from tests.support import asgi_client, new_database

# Properties, not timings: a slow CI machine must not fail them (no per-example deadline).
hypothesis_settings.register_profile("substore", deadline=None, print_blob=True)
hypothesis_settings.load_profile("substore")


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    """A URL of a PostgreSQL server we may create databases on."""
    with db.scratch_server(os.environ.get("SUBSTORE_TEST_DATABASE_URL")) as url:
        yield url


@pytest.fixture(scope="session")
async def database_url(server_url: str) -> AsyncIterator[str]:
    async with new_database(server_url, "substore_test") as url:
        engine = db.create_engine(url, pool_size=1)
        await db.migrate(engine)  # on a Citus coordinator it distributes the tables too
        await engine.dispose()
        yield url


@pytest.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = db.create_engine(database_url, pool_size=20)
    yield engine
    await engine.dispose()


@pytest.fixture
async def conn(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection in a transaction that commits when the test ends without error."""
    async with engine.begin() as conn:
        yield conn


@pytest.fixture
async def account(engine: AsyncEngine) -> Account:
    async with engine.begin() as conn:
        return await services.create_account(conn, f"test-{uuid.uuid4().hex[:8]}", "US")


@pytest.fixture
async def other_account(engine: AsyncEngine) -> Account:
    async with engine.begin() as conn:
        return await services.create_account(conn, f"other-{uuid.uuid4().hex[:8]}", "GB")


@pytest.fixture
async def http(engine: AsyncEngine) -> AsyncIterator[httpx.AsyncClient]:
    # Key caching off, so a revocation in a test bites at once (see test_api_auth); no
    # rate limit, which tests of their own set (test_api_ratelimit).
    app = create_app(Settings(auth_cache_seconds=0, rate_limit_per_second=0), engine=engine)
    async with asgi_client(app) as client:
        yield client


async def _key(engine: AsyncEngine, account: Account, scope: str) -> str:
    async with engine.begin() as conn:
        return (await auth.create_key(conn, account.id, scope)).secret


@pytest.fixture
async def api(http, engine, account) -> Api:
    """The account's client with a write key."""
    return Api(http, await _key(engine, account, "write"))


@pytest.fixture
async def read_api(http, engine, account) -> Api:
    return Api(http, await _key(engine, account, "read"))


@pytest.fixture
async def other_api(http, engine, other_account) -> Api:
    """Another account's client with a write key."""
    return Api(http, await _key(engine, other_account, "write"))
