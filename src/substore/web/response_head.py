"""A response's head sent with its body: one write, one TCP segment.

uvicorn writes a response's status line and headers as soon as the app starts the
response, then the body as a second write; on a keep-alive connection that is two send
calls and two segments for every answer (and two reads for the client). Here the head
waits for the body's write, or for the end of the loop turn (a HEAD answer, a stream
whose first chunk comes later), whichever is first.
"""

from __future__ import annotations

import asyncio
from typing import Any


class HeadWithBody:
    """The transport a request's cycle writes to: its first write (the head) is held."""

    __slots__ = ("_first", "_held", "_loop", "_transport")

    def __init__(self, transport: Any, loop: asyncio.AbstractEventLoop) -> None:
        self._transport, self._loop = transport, loop
        self._held: bytes | None = None
        self._first = True

    def write(self, data: bytes) -> None:
        if self._first:
            self._first, self._held = False, bytes(data)
            self._loop.call_soon(self.flush)  # if no body comes in this turn
            return
        if self._held is not None:
            data, self._held = self._held + data, None
        self._transport.write(data)

    def flush(self) -> None:
        if self._held is not None:
            held, self._held = self._held, None
            self._transport.write(held)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)
