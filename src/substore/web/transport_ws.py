"""GraphQL subscriptions over a WebSocket: the graphql-transport-ws protocol on /graphql.

strawberry's handler speaks the protocol (connection_init/ack, ping/pong, subscribe,
next, error, complete and the 44xx close codes); this module gives it our edge:

- authentication through the Gate, with the credential from connection_init's payload
  (`Authorization` or `authorization`: "Bearer <key or JWT>", or the bare credential);
  a refusal closes with 4403 and the reason;
- each subscribe payload resolved as a POST's body is (web/trusted.py: documentId and
  persisted-query hashes, and SUBSTORE_TRUSTED_DOCUMENTS_ONLY for the connection's
  principal), its document checked as a POST's is (web/operation.py: its size and cost),
  and only subscriptions run: queries and mutations go over POST;
- a frame that is not JSON, or nests deeper than a POST's body may, closes with 4400
  (strawberry's NonJsonMessageReceived), and is never decoded past that depth;
- a protocol ping every `keepalive` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from datetime import timedelta
from typing import Any

from graphql import GraphQLError, OperationType
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http.exceptions import (
    NonJsonMessageReceived,
    NonTextMessageReceived,
    WebSocketDisconnected,
)
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import SubscribeMessage
from strawberry.types.unset import UNSET

from substore.auth import Principal
from substore.graphql.feed import FeedContext
from substore.text import nested_deeper
from substore.web.operation import BODY_DEPTH, RequestError, operation_of

# The Authorization value and the client's address to a principal; it may give the context
# what re-checks that credential (FeedContext.still_admitted).
Admit = Callable[[str | None, str, FeedContext], Awaitable[Principal]]
# A subscribe payload with the document it names filled in, for the principal (trusted.py).
Resolve = Callable[[Any, Principal], Awaitable[Any]]
_REASON_BYTES = 123  # a close frame's reason, at most


# A message's payload is a POST's body one level down: the body's depth guard, plus one
# (web/operation.py). A frame is at most SUBSTORE_MAX_BODY_BYTES (uvicorn's ws_max_size).
MESSAGE_DEPTH = BODY_DEPTH + 1
_UNDECODABLE = object()


def _decoded(text: str) -> object:
    """A frame's JSON, or _UNDECODABLE: not JSON, or nested deeper than MESSAGE_DEPTH
    (json.loads recurses once a level: RecursionError, no ValueError, past about 1000)."""
    try:
        if nested_deeper(text, MESSAGE_DEPTH):
            return _UNDECODABLE
        return json.loads(text)
    except (ValueError, RecursionError):  # bad JSON or UTF-8, integers past 4300 digits
        return _UNDECODABLE


class _Socket:
    """Starlette's WebSocket as strawberry's handler speaks to it."""

    def __init__(self, websocket: WebSocket) -> None:
        self.websocket = websocket

    async def iter_json(self, *, ignore_parsing_errors: bool = False) -> AsyncGenerator[object]:
        try:
            while self.websocket.application_state != WebSocketState.DISCONNECTED:
                message = await self.websocket.receive()
                if message["type"] == "websocket.disconnect":
                    return
                if message.get("text") is None:
                    raise NonTextMessageReceived
                decoded = _decoded(message["text"])
                if decoded is not _UNDECODABLE:
                    yield decoded
                elif not ignore_parsing_errors:
                    raise NonJsonMessageReceived
        except (WebSocketDisconnect, RuntimeError):
            raise WebSocketDisconnected from None

    async def send_json(self, message: Mapping[str, object]) -> None:
        try:
            await self.websocket.send_text(json.dumps(message))
        except (WebSocketDisconnect, RuntimeError, OSError):
            raise WebSocketDisconnected from None

    async def close(self, code: int, reason: str) -> None:
        if self.websocket.application_state == WebSocketState.CONNECTED:
            with contextlib.suppress(RuntimeError, OSError):
                await self.websocket.close(
                    code, reason.encode()[:_REASON_BYTES].decode(errors="ignore")
                )


class _Admission:
    """The "view" strawberry's handler asks at connection_init: our Gate."""

    def __init__(self, admit: Admit, client: str, close: Callable[[int, str], Awaitable[None]]):
        self.admit, self.client, self.close = admit, client, close

    async def on_ws_connect(self, context: FeedContext) -> Any:
        params = context.connection_params
        credential = params.get("Authorization", params.get("authorization"))
        if isinstance(credential, str) and " " not in credential.strip():
            credential = f"Bearer {credential.strip()}"
        try:
            context.principal = await self.admit(
                credential if isinstance(credential, str) else None, self.client, context
            )
        except RequestError as error:
            await self.close(4403, f"Forbidden: {error}")
            raise ConnectionRejectionError from None
        return UNSET


class TransportWS(BaseGraphQLTransportWSHandler):
    def __init__(
        self,
        socket: _Socket,
        admission: _Admission,
        context: FeedContext,
        schema: Any,
        keepalive: float,
        resolve: Resolve,
    ) -> None:
        super().__init__(admission, socket, context, None, schema, timedelta(seconds=10))  # type: ignore[arg-type]
        self.keepalive, self.resolve, self.feed_context = keepalive, resolve, context
        self.pinger: asyncio.Task[None] | None = None

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        known = message["id"] in self.operations
        if self.connection_acknowledged and not known:
            principal = self.feed_context.principal
            assert principal is not None  # acknowledged: admitted
            try:
                payload = await self.resolve(message.get("payload"), principal)
                operation = await operation_of(payload)
            except RequestError as error:
                await self._refuse(message, str(error), str(error.code))
                return
            if operation.kind is not OperationType.SUBSCRIPTION:
                await self._refuse(message, ONLY_SUBSCRIPTIONS, "BAD_REQUEST")
                return
            message["payload"] = payload  # the document a documentId or hash names
        await super().handle_subscribe(message)
        if self.connection_acknowledged and self.pinger is None and self.keepalive > 0:
            self.pinger = asyncio.create_task(self._ping())

    async def _refuse(self, message: SubscribeMessage, problem: str, code: str) -> None:
        payload = [GraphQLError(problem, extensions={"code": code}).formatted]
        await self.send_message({"id": message["id"], "type": "error", "payload": payload})

    async def _ping(self) -> None:
        with contextlib.suppress(WebSocketDisconnected):
            while True:
                await asyncio.sleep(self.keepalive)
                await self.send_message({"type": "ping"})

    async def shutdown(self) -> None:
        if self.pinger is not None:
            self.pinger.cancel()
        await super().shutdown()


ONLY_SUBSCRIPTIONS = (
    "Only subscriptions run over this WebSocket: send queries and mutations as POST /graphql."
)


async def serve(
    websocket: WebSocket,
    admit: Admit,
    context: FeedContext,
    schema: Any,
    keepalive: float,
    resolve: Resolve,
) -> None:
    """Speak graphql-transport-ws on `websocket` until either side closes."""
    if GRAPHQL_TRANSPORT_WS_PROTOCOL not in websocket.scope.get("subprotocols", []):
        await websocket.close(4406, "Subprotocol not acceptable: use graphql-transport-ws.")
        return
    await websocket.accept(subprotocol=GRAPHQL_TRANSPORT_WS_PROTOCOL)
    socket = _Socket(websocket)
    client = websocket.client.host if websocket.client else "-"
    handler = TransportWS(
        socket, _Admission(admit, client, socket.close), context, schema, keepalive, resolve
    )
    await handler.handle()
