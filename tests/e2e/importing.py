"""A live import setup for the e2e tests: servers on the test database (plain, flaky,
slow, late, and one with a small body limit), accounts, and `substore import` as a process."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from tests.support import serve_in_thread

from substore import auth, repository, services
from substore.config import Settings
from substore.web.app import create_app

SMALL_BODY = 60_000


# --- a live server -------------------------------------------------------------------


class Flaky:
    """Answers 503 before, or 429 after, processing some /graphql requests."""

    def __init__(self, app, pattern: str) -> None:
        self.app, self.pattern, self.calls = app, pattern, 0

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["path"] != "/graphql":
            return await self.app(scope, receive, send)
        self.calls += 1
        mode = self.pattern[self.calls % len(self.pattern)]
        if mode == "b":  # refused before doing anything
            return await _answer(send, 503)
        if mode == "a":  # done, but the answer is lost on the way back
            await self.app(scope, receive, _swallow)
            return await _answer(send, 429)
        if mode == "s":
            await asyncio.sleep(0.05)
        if mode == "l":  # done and committed, and the answer comes late
            return await self.app(scope, receive, _late(send))
        return await self.app(scope, receive, send)


def _late(send):
    async def late(message) -> None:
        if message["type"] == "http.response.start":
            await asyncio.sleep(0.2)
        await send(message)

    return late


async def _swallow(message) -> None:
    return None


async def _answer(send, status: int) -> None:
    headers = [(b"content-type", b"application/json"), (b"retry-after", b"0")]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b'{"errors": []}'})


@contextlib.contextmanager
def live_servers(database_url: str) -> Iterator[dict[str, str]]:
    """Servers on the test database: plain, flaky, slow, late (answers 0.2 s after the
    commit), small (a small body limit) and limited (4 requests a second per key, 2 at
    once)."""
    settings = Settings(database_url=database_url, auth_cache_seconds=0, normalize_workers=1)
    small = settings.model_copy(update={"max_body_bytes": SMALL_BODY})
    limited = settings.model_copy(update={"rate_limit_per_second": 4, "rate_limit_burst": 2})
    kinds = (("plain", ".", settings), ("flaky", "..b.a", settings), ("slow", "s", settings))
    kinds += (("late", "l", settings),)
    more = (("small", ".", small), ("limited", ".", limited))
    with contextlib.ExitStack() as stack:
        urls = {
            name: stack.enter_context(serve_in_thread(Flaky(create_app(config), pattern)))
            + "/graphql"
            for name, pattern, config in (*kinds, *more)
        }
        yield urls


async def new_account(engine, region: str = "US"):
    async with engine.begin() as conn:
        account = await services.create_account(conn, "import-test", region)
        key = await auth.create_key(conn, account.id, "write")
    return account, key.secret


async def store_of(engine, account) -> set[tuple]:
    async with engine.connect() as conn:
        rows = await repository.page_subscribers(
            conn, account.id, repository.SubscriberFilter(), first=100_000
        )
    return {(r.e164_number, r.raw_number, r.first_name, r.email, r.status) for r in rows}


def substore_import(path: Path, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "substore.cli", "import", str(path), "--url", url, *args]
    return subprocess.run(command, capture_output=True, text=True)
