"""Helpers for tests that run real servers on this machine."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil
import uvicorn
from sqlalchemy import event, text
from sqlalchemy.engine import make_url

from substore import db


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def postmaster_pid(data_dir: Path) -> int | None:
    """The pid the embedded PostgreSQL of `data_dir` wrote in postmaster.pid, if it is there."""
    try:
        return int((data_dir / "pgdata" / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def running(pid: int | None) -> bool:
    """Whether `pid` is a process that has not ended (a zombie only awaits its parent)."""
    try:
        return pid is not None and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def eventually(check: Callable[[], bool], seconds: float = 15) -> bool:
    """Whether `check()` comes true within `seconds` (a bound for a loaded machine)."""
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def stop_postgres(data_dir: Path) -> None:
    """Stop the embedded PostgreSQL of `data_dir` if it runs: for a test that failed
    before its server could."""
    if running(pid := postmaster_pid(data_dir)):
        os.kill(pid, signal.SIGINT)  # fast shutdown
        eventually(lambda: not running(pid))


def wait_until_healthy(url: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.05)
    raise AssertionError(f"{url} did not come up")


@contextlib.contextmanager
def serve_in_thread(app: Any, port: int | None = None, **config: Any) -> Iterator[str]:
    """`app` served by uvicorn on `port` (else a free one) in a thread; yields its base URL."""
    port = port or free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", **config)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(f"{base}/healthz")
        yield base
    finally:
        server.should_exit = True
        thread.join(timeout=20)


@contextlib.asynccontextmanager
async def new_database(server_url: str, prefix: str) -> AsyncIterator[str]:
    """A new, empty database on the test server (on every node of a Citus cluster, with
    the extension and the workers registered); dropped afterwards. Yields its URL."""
    from tests import cluster

    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    nodes = await cluster.workers(server_url)
    admin = db.create_engine(server_url, pool_size=1)
    try:
        async with admin.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            if nodes is not None:
                await cluster.join(server_url, name, nodes)
            yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
        finally:  # a test that failed or skipped inside leaves no database behind
            async with admin.connect() as conn:
                await conn.execution_options(isolation_level="AUTOCOMMIT")
                await conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
            if nodes:
                await cluster.leave(server_url, name, nodes)
    finally:
        await admin.dispose()


@contextlib.asynccontextmanager
async def asgi_client(app: Any, **kwargs: Any) -> AsyncIterator[httpx.AsyncClient]:
    """A client of `app` in process, the app started and stopped around it as a server
    starts and stops it (its lifespan)."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        kwargs.setdefault("base_url", "http://substore.test")
        async with httpx.AsyncClient(transport=transport, **kwargs) as client:
            yield client


@contextlib.asynccontextmanager
async def empty_store(server_url: str, connections: int = 1) -> AsyncIterator[tuple[Any, int]]:
    """A migrated database of its own with one account and no subscribers: an engine on
    it (of `connections`) and the account's id."""
    from substore import repository

    async with new_database(server_url, "substore_empty") as url:
        engine = db.create_engine(url, pool_size=connections, overflow=0)
        try:
            await db.migrate(engine)
            async with engine.begin() as conn:
                account = await repository.create_account(conn, "empty", "US")
            yield engine, account.id
        finally:
            await engine.dispose()


async def fill(engine: Any, account_id: int, rows: int) -> None:
    """`rows` subscribers in the account, written as one statement."""
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO subscribers (account_id, e164_number, number, raw_number, "
                "country_code, number_type, country_code_source, normalizer_version) "
                "SELECT :a, '+1202' || lpad(g::text, 7, '0'), 'x', 'x', 1, 'MOBILE', "
                "'PLUS_SIGN', 'test' FROM generate_series(1, :n) AS g"
            ),
            {"a": account_id, "n": rows},
        )


# A lookup by number that reads every row of the account and filters them, and one that
# goes straight to the number in the account's unique index.
SCANS = "Filter: ((e164_number)::text = $2)"
SEEKS = "Index Cond: ((account_id = $1) AND ((e164_number)::text = $2))"


async def lookup_plan(conn: Any, account_id: int) -> str:
    """The plan the connection's prepared lookup by number runs now, after it has run
    enough times for PostgreSQL to keep one plan for it."""
    from substore import citus, repository
    from substore.repository.subscribers import _BY_E164

    if await citus.has_citus(conn):
        import pytest

        pytest.skip("on Citus the worker plans each routed lookup with its values: no generic plan")
    for _ in range(8):  # five custom plans, then PostgreSQL may settle on a generic one
        await repository.get_subscriber_by_e164(conn, account_id, "+12025550100")
    driver = (await conn.get_raw_connection()).driver_connection
    name = await driver.fetchval(
        "SELECT name FROM pg_prepared_statements WHERE statement = $1", _BY_E164
    )
    plan = await driver.fetch(f"EXPLAIN EXECUTE {name}({account_id}, '+12025550100')")
    return "\n".join(row[0] for row in plan)


async def statement_plans(engine: Any, call: Callable[[Any], Any]) -> list[str]:
    """PostgreSQL's plan of each statement `call(conn)` sends."""
    sent: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        sent.append((statement, parameters))

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        async with engine.connect() as conn:
            await call(conn)
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)
    found = []
    async with engine.connect() as conn:
        for statement, parameters in sent:
            rows = await conn.exec_driver_sql(f"EXPLAIN {statement}", parameters)
            found.append("\n".join(row[0] for row in rows))
    return found


def save_workbook(path: Path, sheets: dict[str, list[list[Any]]]) -> Path:
    """An .xlsx at `path` with these sheets (openpyxl), in order."""
    from openpyxl import Workbook

    book = Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    book.save(path)
    return path


def substore(*args: str, url: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """The `substore` command on the database at `url`, as a user runs it."""
    env = {**os.environ, "SUBSTORE_DATABASE_URL": url}
    return subprocess.run(
        [sys.executable, "-m", "substore.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )
