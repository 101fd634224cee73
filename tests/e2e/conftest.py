"""Fixtures of the e2e tests."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from tests.e2e.importing import live_servers
from tests.support import new_database, serve_in_thread

from substore import auth, services
from substore.config import Settings
from substore.web.app import create_app


@pytest.fixture(scope="module")
def servers(database_url: str) -> Iterator[dict[str, str]]:
    with live_servers(database_url) as urls:
        yield urls


@pytest.fixture
def fresh_database(server_url: str) -> Iterator[str]:
    """An empty database (on every node of a Citus cluster), so serve meets a store with
    no accounts."""
    with asyncio.Runner() as runner:
        database = new_database(server_url, "substore_e2e")
        url = runner.run(database.__aenter__())
        try:
            yield url
        finally:
            runner.run(database.__aexit__(None, None, None))


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
