"""A test database on a Citus cluster: SUBSTORE_TEST_DATABASE_URL names the coordinator.

Citus keeps its node list per database, so a new database needs the extension on every
node and the workers registered again. The workers are the ones registered in the URL's
own database (SELECT citus_add_node(...) there once, when setting the cluster up), reached
with the URL's user and password. On a server without Citus, nothing here runs.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import URL, make_url

from substore import db

_WORKERS = "SELECT nodename, nodeport FROM pg_dist_node WHERE groupid <> 0 AND isactive"


async def workers(server_url: str) -> list[tuple[str, int]] | None:
    """The coordinator's workers; None where the server's database has no Citus."""
    engine = db.create_engine(server_url, pool_size=1)
    try:
        async with engine.connect() as conn:
            citus = await conn.scalar(text("SELECT 1 FROM pg_extension WHERE extname = 'citus'"))
            if citus is None:
                return None
            return [(row.nodename, row.nodeport) for row in await conn.execute(text(_WORKERS))]
    finally:
        await engine.dispose()


async def _run(url: URL | str, *statements: str, **params: object) -> None:
    engine = db.create_engine(url if isinstance(url, str) else url.render_as_string(False))
    try:
        async with engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            for statement in statements:
                await conn.execute(text(statement), params)
    finally:
        await engine.dispose()


async def join(server_url: str, name: str, nodes: list[tuple[str, int]]) -> None:
    """Make database `name` (already on the coordinator) a Citus database on every node."""
    coordinator = make_url(server_url)
    for host, port in nodes:
        worker = coordinator.set(host=host, port=port)
        await _run(worker, f'CREATE DATABASE "{name}"')
        await _run(worker.set(database=name), "CREATE EXTENSION IF NOT EXISTS citus")
    await _run(
        coordinator.set(database=name),
        "CREATE EXTENSION IF NOT EXISTS citus",
        "SELECT citus_set_coordinator_host(:host, :port)",
        host=coordinator.host or "localhost",
        port=coordinator.port or 5432,
    )
    for host, port in nodes:
        await _run(coordinator.set(database=name), "SELECT citus_add_node(:h, :p)", h=host, p=port)


async def leave(server_url: str, name: str, nodes: list[tuple[str, int]]) -> None:
    coordinator = make_url(server_url)
    for host, port in nodes:
        await _run(coordinator.set(host=host, port=port), f'DROP DATABASE "{name}" WITH (FORCE)')
