"""A response's head goes out with its body in one write; alone only when no body follows
in the same loop turn (a HEAD answer, a stream), and never after a close."""

from __future__ import annotations

import asyncio

from substore.web.response_head import HeadWithBody


class Recording:
    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        assert not self.closed
        self.writes.append(data)

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed


async def test_head_and_body_are_one_write():
    sent = Recording()
    transport = HeadWithBody(sent, asyncio.get_running_loop())
    transport.write(b"HTTP/1.1 200 OK\r\n\r\n")
    transport.write(b"{}")
    assert sent.writes == [b"HTTP/1.1 200 OK\r\n\r\n{}"]
    await asyncio.sleep(0)
    assert sent.writes == [b"HTTP/1.1 200 OK\r\n\r\n{}"]


async def test_a_head_with_no_body_in_the_same_turn_goes_out_at_its_end():
    sent = Recording()
    transport = HeadWithBody(sent, asyncio.get_running_loop())
    transport.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\r\n")
    assert sent.writes == []
    await asyncio.sleep(0)
    assert sent.writes == [b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\r\n"]
    transport.write(b"event: next\r\n\r\n")  # later chunks go as they come
    assert sent.writes[-1] == b"event: next\r\n\r\n"
    assert not transport.is_closing()  # the rest is the transport's own


async def test_closing_sends_what_was_held_first():
    sent = Recording()
    transport = HeadWithBody(sent, asyncio.get_running_loop())
    transport.write(b"HTTP/1.1 204 No Content\r\n\r\n")
    transport.close()
    assert sent.writes == [b"HTTP/1.1 204 No Content\r\n\r\n"] and sent.closed
