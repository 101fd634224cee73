"""GraphQL subscriptions over Server-Sent Events: graphql-sse's distinct connections mode.

A POST /graphql with `Accept: text/event-stream` whose operation is a subscription is
answered with a stream: an `event: next` for each execution result, `event: complete`
when the subscription ends, and a comment line every `keepalive` seconds so that
proxies keep an idle stream open. It is admitted as every request is (web/caller.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import orjson
from starlette.responses import StreamingResponse
from strawberry.types.execution import ExecutionResult

from substore.graphql.feed import FeedContext
from substore.web.operation import Operation

log = logging.getLogger("substore.web")
EVENT_STREAM = "text/event-stream"
KEEPALIVE = b":\n\n"
COMPLETE = b"event: complete\ndata:\n\n"
_DONE = object()


def wants_events(accept: str | None) -> bool:
    """Whether Accept names text/event-stream (graphql-sse's distinct connections)."""
    if not accept:
        return False
    return any(part.split(";")[0].strip().lower() == EVENT_STREAM for part in accept.split(","))


def next_event(result: Any) -> bytes:
    payload: dict[str, Any] = {"data": getattr(result, "data", None)}
    if result.errors:
        payload["errors"] = [error.formatted for error in result.errors]
    return b"event: next\ndata: " + orjson.dumps(payload) + b"\n\n"


def stream(
    schema: Any,
    operation: Operation,
    context: FeedContext,
    keepalive: float,
    headers: dict[str, str],
) -> StreamingResponse:
    """The subscription's results as an event stream (module docstring)."""
    body = _events(schema, operation, context, keepalive)
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no", **headers}
    return StreamingResponse(body, media_type=EVENT_STREAM, headers=headers)


async def _events(
    schema: Any, operation: Operation, context: FeedContext, keepalive: float
) -> AsyncIterator[bytes]:
    queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=64)
    pump = asyncio.create_task(_pump(schema, operation, context, queue))
    try:
        while True:
            try:
                item = await asyncio.wait_for(queue.get(), keepalive)
            except TimeoutError:
                yield KEEPALIVE
                continue
            if item is _DONE:
                break
            yield next_event(item)
        yield COMPLETE
    finally:
        pump.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await pump


async def _pump(
    schema: Any, operation: Operation, context: FeedContext, queue: asyncio.Queue[Any]
) -> None:
    """The results, one by one, into `queue` (so that waiting for the next one can time out
    for a keep-alive without cancelling the subscription), then _DONE."""
    try:
        await _run(schema, operation, context, queue)
    except Exception:  # a bug: the stream says complete, the log says why
        log.exception("subscription %s failed", operation.label)
    await queue.put(_DONE)


async def _run(
    schema: Any, operation: Operation, context: FeedContext, queue: asyncio.Queue[Any]
) -> None:
    results = await schema.subscribe(
        operation.query,
        variable_values=operation.variables,
        context_value=context,
        operation_name=operation.name,
    )
    if isinstance(results, ExecutionResult):  # refused before it started
        await queue.put(results)
        return
    async with contextlib.aclosing(results):
        async for result in results:
            await queue.put(result)
