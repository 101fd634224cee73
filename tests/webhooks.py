"""Helpers for the webhook tests: a receiver on 127.0.0.1 that verifies signatures with
the standardwebhooks library, a clock tests move by hand, and a store of their own."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from substore import auth, db, services
from substore.config import Settings
from substore.web.app import create_app
from tests.api import Api
from tests.support import asgi_client, new_database


@dataclass
class Received:
    webhook_id: str
    body: dict[str, Any]
    verified: bool

    @property
    def events(self) -> list[dict[str, Any]]:
        return self.body["data"]["events"]


@dataclass
class Receiver:
    """Records every POST to /hook; answers `statuses` in turn, then 200."""

    secret: str | None = None
    statuses: list[int] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def app(self) -> Starlette:
        async def hook(request: Request) -> Response:
            body = await request.body()
            verified = self._verify(body, dict(request.headers))
            with self._lock:
                self.received.append(
                    Received(request.headers["webhook-id"], orjson.loads(body), verified)
                )
                status = self.statuses.pop(0) if self.statuses else 200
            return Response(status_code=status)

        async def healthz(request: Request) -> Response:
            return JSONResponse({"status": "ok"})

        routes = [Route("/hook", hook, methods=["POST"]), Route("/healthz", healthz)]
        return Starlette(routes=routes)

    def _verify(self, body: bytes, headers: dict[str, str]) -> bool:
        try:
            Webhook(self.secret or "whsec_AAAA").verify(body, headers)
        except WebhookVerificationError:
            return False
        return True

    def events(self) -> list[dict[str, Any]]:
        with self._lock:
            return [e for r in self.received for e in r.events]


class FakeClock:
    """What the dispatcher's schedule takes for now; `advance` moves it."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


async def wait_for(check: Callable[[], bool], seconds: float = 15) -> bool:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.02)
    return True


async def poll(read: Callable[[], Awaitable[Any]], seconds: float = 10) -> Any:
    """The first truthy value `read()` gives within `seconds` (else its last)."""
    for _ in range(int(seconds / 0.05)):
        if found := await read():
            return found
        await asyncio.sleep(0.05)
    return await read()


@dataclass
class Store:
    """A database of its own (a dispatcher sees every account in it), an account and a
    client of the API with a write key."""

    engine: Any
    url: str
    account: Any
    api: Api


@contextlib.asynccontextmanager
async def own_store(server_url: str) -> AsyncIterator[Store]:
    async with new_database(server_url, "substore_hooks") as url:
        engine = db.create_engine(url, pool_size=10)
        try:
            await db.migrate(engine)
            async with engine.begin() as conn:
                account = await services.create_account(conn, f"h-{uuid.uuid4().hex[:6]}", "US")
                key = (await auth.create_key(conn, account.id, "write")).secret
            settings = Settings(
                auth_cache_seconds=0, rate_limit_per_second=0, webhook_allow_private=True
            )
            async with asgi_client(create_app(settings, engine=engine)) as client:
                yield Store(engine, url, account, Api(client, key))
        finally:
            await engine.dispose()


CREATE_ENDPOINT = """mutation($input: CreateWebhookEndpointInput!) {
  createWebhookEndpoint(input: $input) {
    endpoint { id url events enabled disabledReason deliveredSequence } secret
    userErrors { code field message reason } } }"""


async def add_endpoint(api: Api, url: str, **input: Any) -> tuple[str, str]:
    """A new endpoint's id and secret."""
    data = await api.data(CREATE_ENDPOINT, input={"url": url, **input})
    made = data["createWebhookEndpoint"]
    assert made["userErrors"] == [], made["userErrors"]
    return made["endpoint"]["id"], made["secret"]
