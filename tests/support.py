"""Helpers for tests that run real servers on this machine."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import uvicorn
from sqlalchemy import text
from sqlalchemy.engine import make_url

from substore import db


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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
def serve_in_thread(app: Any, **config: Any) -> Iterator[str]:
    """`app` served by uvicorn on a free port in a thread; yields its base URL."""
    port = free_port()
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
        if nodes is not None:
            await cluster.join(server_url, name, nodes)
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
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
