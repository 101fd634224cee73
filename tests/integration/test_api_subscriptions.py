"""Subscription.subscriberChanges over a real server on 127.0.0.1: graphql-transport-ws on
the /graphql WebSocket, and GraphQL over SSE (a POST with Accept: text/event-stream)."""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from tests.support import serve_in_thread
from tests.tokens import claims, hs256, jwt_settings
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from substore import auth, repository
from substore.config import Settings
from substore.trusted.manifest import digest
from substore.web.app import create_app
from substore.web.server import CountedWebSocketProtocol, DeadlineHttpToolsProtocol

CREATE = """mutation($n: PhoneNumber!) { createSubscriber(input: {number: $n}) {
  subscriber { id } } }"""
CHANGES = """subscription($after: Sequence) { subscriberChanges(after: $after) {
  id sequence type occurredAt source actor subscriber { id e164Number status changes } } }"""
PROTOCOL = "graphql-transport-ws"
MAX_PER_KEY = 3
PER_CLIENT = 6


@pytest.fixture(scope="module")
def base(database_url: str) -> Iterator[str]:
    settings = Settings(
        database_url=database_url,
        auth_cache_seconds=0,
        rate_limit_per_second=0,
        max_subscriptions_per_key=MAX_PER_KEY,
        max_connections_per_client=PER_CLIENT,
    )
    before = DeadlineHttpToolsProtocol.peers
    DeadlineHttpToolsProtocol.configure(settings)  # the per-client cap, as serve sets it
    try:
        with serve_in_thread(
            create_app(settings),
            http=DeadlineHttpToolsProtocol,
            ws=CountedWebSocketProtocol,
            ws_max_size=settings.max_body_bytes,  # as serve sets it
        ) as url:
            yield url
    finally:
        DeadlineHttpToolsProtocol.peers = before


@pytest.fixture(scope="module")
def trusted_base(database_url: str) -> Iterator[str]:
    """A server that runs only registered documents for JWT callers."""
    settings = jwt_settings(database_url=database_url, trusted_documents_only=True)
    with serve_in_thread(
        create_app(settings), ws=CountedWebSocketProtocol, ws_max_size=settings.max_body_bytes
    ) as url:
        yield url


async def _key(engine, account) -> str:
    async with engine.begin() as conn:
        return (await auth.create_key(conn, account.id, "write")).secret


@pytest.fixture
async def key(engine, account) -> str:
    return await _key(engine, account)


async def create(base: str, key: str, number: str) -> None:
    async with httpx.AsyncClient() as client:
        response = await client.post(
            f"{base}/graphql",
            json={"query": CREATE, "variables": {"n": number}},
            headers={"Authorization": f"Bearer {key}"},
        )
    assert "errors" not in response.json(), response.text


def ws_url(base: str) -> str:
    return base.replace("http://", "ws://") + "/graphql"


async def opened(base: str, key: str | None) -> ClientConnection:
    socket = await connect(ws_url(base), subprotocols=[PROTOCOL])  # type: ignore[list-item]
    payload = {"Authorization": f"Bearer {key}"} if key else {}
    await socket.send(json.dumps({"type": "connection_init", "payload": payload}))
    return socket


async def receive(socket: ClientConnection, seconds: float = 5) -> dict[str, Any]:
    while True:
        message = json.loads(await asyncio.wait_for(socket.recv(), seconds))
        if message["type"] != "ping":
            return message
        await socket.send(json.dumps({"type": "pong"}))


async def subscribe(socket: ClientConnection, after: Any = None, id: str = "1") -> None:
    variables = {} if after is None else {"after": after}
    payload = {"query": CHANGES, "variables": variables}
    await socket.send(json.dumps({"type": "subscribe", "id": id, "payload": payload}))


async def acked(base: str, key: str) -> ClientConnection:
    socket = await opened(base, key)
    assert await receive(socket) == {"type": "connection_ack"}
    return socket


async def test_a_change_arrives_as_next(base, key):
    async with await acked(base, key) as socket:
        await subscribe(socket)
        await asyncio.sleep(0.2)  # "from now": the subscription has read its start
        started = time.perf_counter()
        await create(base, key, "+12015550100")
        message = await receive(socket)
        lag = time.perf_counter() - started
        assert message["type"] == "next" and message["id"] == "1"
        event = message["payload"]["data"]["subscriberChanges"]
        assert event["type"] == "subscriber.created" and event["source"] == "api"
        assert event["subscriber"]["e164Number"] == "+12015550100"
        assert event["subscriber"]["status"] == "SUBSCRIBED"
        assert lag < 1.0, lag  # the 0.2 s poll, not the 5 s fallback read
        await socket.send(json.dumps({"type": "ping"}))
        assert json.loads(await socket.recv()) == {"type": "pong"}


async def test_refused_without_or_with_a_bad_key(base):
    for key in (None, "sk_nonsense"):
        socket = await opened(base, key)
        with pytest.raises(ConnectionClosed) as closed:
            await receive(socket)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403


async def test_subscribe_before_init_is_unauthorized(base):
    async with connect(ws_url(base), subprotocols=[PROTOCOL]) as socket:  # type: ignore[list-item]
        await subscribe(socket)
        with pytest.raises(ConnectionClosed) as closed:
            await receive(socket)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401


async def test_resume_after_reconnect_misses_nothing(base, key):
    async with await acked(base, key) as socket:
        await subscribe(socket, after=0)
        await create(base, key, "+12015550101")
        first = (await receive(socket))["payload"]["data"]["subscriberChanges"]
    last = first["sequence"]
    for n in range(2, 5):  # while no one listens
        await create(base, key, f"+1201555010{n}")
    async with await acked(base, key) as socket:
        await subscribe(socket, after=str(last))  # a cursor works as well as a sequence
        seen = [(await receive(socket))["payload"]["data"]["subscriberChanges"] for _ in range(3)]
        await create(base, key, "+12015550109")
        seen.append((await receive(socket))["payload"]["data"]["subscriberChanges"])
    assert [e["sequence"] for e in seen] == [last + 1, last + 2, last + 3, last + 4]
    assert seen[-1]["subscriber"]["e164Number"] == "+12015550109"


async def test_an_account_never_sees_another_accounts_events(base, key, engine, other_account):
    other_key = await _key(engine, other_account)
    async with await acked(base, key) as socket:
        await subscribe(socket, after=0)
        await create(base, other_key, "+12015550120")
        await create(base, key, "+12015550121")
        event = (await receive(socket))["payload"]["data"]["subscriberChanges"]
        assert event["subscriber"]["e164Number"] == "+12015550121"
        with pytest.raises(TimeoutError):
            await receive(socket, 0.3)


async def test_subscriptions_per_key_are_limited(base, key):
    async with await acked(base, key) as socket:
        for n in range(MAX_PER_KEY):
            await subscribe(socket, after=0, id=str(n))
        await asyncio.sleep(0.2)
        await subscribe(socket, after=0, id="over")
        refused = await receive(socket)
        assert refused["id"] == "over", refused
        # An error of the source stream: a `next` with the error, then `complete`.
        assert refused["type"] == "next" and not refused["payload"]["data"]
        assert refused["payload"]["errors"][0]["extensions"]["code"] == "TOO_MANY_REQUESTS"
        assert await receive(socket) == {"type": "complete", "id": "over"}
        await socket.send(json.dumps({"type": "complete", "id": "0"}))
        await asyncio.sleep(0.2)
        await subscribe(socket, after=0, id="again")  # a slot was given back
        await create(base, key, "+12015550130")
        ids = {(await receive(socket))["id"] for _ in range(MAX_PER_KEY)}
        assert "again" in ids


async def test_only_subscriptions_run_over_the_socket(base, key):
    async with await acked(base, key) as socket:
        payload = {"query": "{ account { id } }"}
        await socket.send(json.dumps({"type": "subscribe", "id": "q", "payload": payload}))
        refused = await receive(socket)
        assert refused["type"] == "error" and refused["id"] == "q"


async def test_closed_sockets_give_back_their_connection_slots(base, key):
    for _ in range(PER_CLIENT + 2):  # more than one client may hold open at once
        async with await acked(base, key):
            pass
    async with await acked(base, key) as socket:
        await socket.send(json.dumps({"type": "ping"}))
        assert json.loads(await socket.recv()) == {"type": "pong"}


async def sse_events(response: httpx.Response) -> AsyncIterator[tuple[str, str]]:
    event = None
    async for line in response.aiter_lines():
        if line.startswith("event: "):
            event = line.removeprefix("event: ")
        elif line.startswith("data:") and event is not None:
            yield event, line.removeprefix("data:").strip()
            event = None


async def test_sse_streams_changes_and_resumes(base, key):
    await create(base, key, "+12015550140")
    headers = {"Authorization": f"Bearer {key}", "Accept": "text/event-stream"}
    body = {"query": CHANGES, "variables": {"after": 0}}
    async with (
        httpx.AsyncClient(timeout=5) as client,
        client.stream("POST", f"{base}/graphql", json=body, headers=headers) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        events = sse_events(response)
        kind, data = await anext(events)
        assert kind == "next"
        first = json.loads(data)["data"]["subscriberChanges"]
        assert first["sequence"] == 1
        await create(base, key, "+12015550141")
        kind, data = await asyncio.wait_for(anext(events), 5)
        second = json.loads(data)["data"]["subscriberChanges"]
        assert second["sequence"] == 2 and second["subscriber"]["e164Number"] == "+12015550141"
    body = {"query": CHANGES, "variables": {"after": 1}}
    async with (
        httpx.AsyncClient(timeout=5) as client,
        client.stream("POST", f"{base}/graphql", json=body, headers=headers) as response,
    ):
        kind, data = await anext(sse_events(response))
        assert json.loads(data)["data"]["subscriberChanges"]["sequence"] == 2


async def test_sse_needs_a_credential_and_plain_post_is_refused(base, key):
    async with httpx.AsyncClient(timeout=5) as client:
        body = {"query": CHANGES}
        anonymous = await client.post(
            f"{base}/graphql", json=body, headers={"Accept": "text/event-stream"}
        )
        assert anonymous.status_code == 401
        plain = await client.post(
            f"{base}/graphql", json=body, headers={"Authorization": f"Bearer {key}"}
        )
        assert plain.status_code == 400
        assert "text/event-stream" in plain.json()["errors"][0]["message"]


async def test_trusted_documents_only_binds_tokens_over_the_socket(
    trusted_base, base, key, engine, account
):
    registered = CHANGES.replace("subscription", f"subscription T{secrets.token_hex(6)}", 1)
    async with engine.begin() as conn:
        await repository.add_documents(conn, {digest(registered): registered})
    token = hs256(claims(account.id, "read"))
    async with await acked(trusted_base, token) as socket:
        await subscribe(socket, after=0, id="free")  # a document of its own: refused
        refused = await receive(socket)
        assert refused["type"] == "error" and refused["id"] == "free", refused
        assert refused["payload"][0]["extensions"]["code"] == "TRUSTED_DOCUMENT_REQUIRED"
        payload = {"documentId": f"sha256:{digest(registered)}", "variables": {"after": 0}}
        await socket.send(json.dumps({"type": "subscribe", "id": "by-id", "payload": payload}))
        await create(base, key, "+12015550150")
        ran = await receive(socket)
        assert ran["type"] == "next" and ran["id"] == "by-id", ran
        event = ran["payload"]["data"]["subscriberChanges"]
        assert event["subscriber"]["e164Number"] == "+12015550150"


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


async def test_a_frame_too_deep_or_too_large_closes_without_a_traceback(base, key):
    records = _Records()
    logger = logging.getLogger("uvicorn.error")  # where an ASGI app's exception is logged
    logger.addHandler(records)
    try:
        for frame in ("[" * 5_000 + "]" * 5_000, '{"type": ' + "[" * 5_000):
            async with connect(ws_url(base), subprotocols=[PROTOCOL]) as socket:  # type: ignore[list-item]
                await socket.send(frame)  # before connection_init
                with pytest.raises(ConnectionClosed) as closed:
                    await receive(socket)
                assert closed.value.rcvd is not None and closed.value.rcvd.code == 4400
        big = json.dumps({"type": "connection_init", "payload": {"x": "a" * 2 * 1024 * 1024}})
        async with connect(ws_url(base), subprotocols=[PROTOCOL]) as socket:  # type: ignore[list-item]
            await socket.send(big)  # over max_body_bytes: refused before it is decoded
            with pytest.raises(ConnectionClosed) as closed:
                await receive(socket)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
        await asyncio.sleep(0.1)  # the server's side of the close
    finally:
        logger.removeHandler(records)
    assert not [r for r in records.records if r.exc_info], [r.getMessage() for r in records.records]
    async with await acked(base, key) as socket:  # still serving
        await socket.send(json.dumps({"type": "ping"}))
        assert json.loads(await socket.recv()) == {"type": "pong"}


async def test_a_revoked_key_ends_its_open_subscriptions(base, engine, account):
    key = await _key(engine, account)
    async with await acked(base, key) as socket:
        await subscribe(socket, after=0, id="live")
        await asyncio.sleep(0.2)
        async with engine.begin() as conn:
            await auth.revoke_key(conn, account.id, key)
        started = time.perf_counter()
        ended = await receive(socket, 5)  # rechecked every max(1, auth_cache_seconds) s
        assert time.perf_counter() - started < 4
        assert ended["id"] == "live" and ended["type"] == "next", ended
        assert ended["payload"]["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        assert await receive(socket) == {"type": "complete", "id": "live"}


async def test_a_tokens_subscriptions_end_at_its_exp(trusted_base, engine, account):
    registered = CHANGES.replace("subscription", f"subscription E{secrets.token_hex(6)}", 1)
    async with engine.begin() as conn:
        await repository.add_documents(conn, {digest(registered): registered})
    token = hs256(claims(account.id, "read", exp=int(time.time()) + 2))
    async with await acked(trusted_base, token) as socket:
        payload = {"documentId": f"sha256:{digest(registered)}"}
        await socket.send(json.dumps({"type": "subscribe", "id": "t", "payload": payload}))
        ended = await receive(socket, 5)
        assert ended["id"] == "t" and ended["type"] == "next", ended
        assert ended["payload"]["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        assert await receive(socket) == {"type": "complete", "id": "t"}
