"""`substore serve` with low connection limits, flooded with idle sockets from loopback
addresses (127.0.0.0/8 is all this machine's): one client cannot take the connections
the others need, and /healthz says 503 while the process is at its limit."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from tests.support import free_port, wait_until_healthy

MAX_CONNECTIONS, PER_CLIENT = 50, 20
HEADER_TIMEOUT, REQUEST_TIMEOUT = 4, 7
PROXY = "127.0.0.5"


@dataclass
class Served:
    port: int
    key: str
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def get(self, path: str, source: str, **headers: str) -> httpx.Response:
        """GET `path` on a new connection from `source`."""
        transport = httpx.HTTPTransport(local_address=source)
        with httpx.Client(transport=transport, timeout=10) as client:
            return client.get(f"{self.url}{path}", headers=headers)

    def keyed(self, source: str, **headers: str) -> httpx.Response:
        query = "/graphql?query=%7B%20account%20%7B%20id%20%7D%20%7D"  # { account { id } }
        return self.get(query, source, Authorization=f"Bearer {self.key}", **headers)


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[Served]:
    data_dir = tmp_path_factory.mktemp("serve-flood")
    port, out = free_port(), data_dir / "stdout.log"
    env = {
        **os.environ,
        "SUBSTORE_DATA_DIR": str(data_dir),
        "SUBSTORE_WORKERS": "1",  # the limits are per process
        "SUBSTORE_NORMALIZE_WORKERS": "0",
        "SUBSTORE_MAX_CONNECTIONS": str(MAX_CONNECTIONS),
        "SUBSTORE_MAX_CONNECTIONS_PER_CLIENT": str(PER_CLIENT),
        "SUBSTORE_HEADER_TIMEOUT_SECONDS": str(HEADER_TIMEOUT),
        "SUBSTORE_REQUEST_TIMEOUT_SECONDS": str(REQUEST_TIMEOUT),
        "SUBSTORE_FORWARDED_ALLOW_IPS": PROXY,
    }
    env.pop("SUBSTORE_DATABASE_URL", None)
    command = [sys.executable, "-m", "substore.cli", "serve", "--port", str(port)]
    with out.open("w") as stdout, (data_dir / "stderr.log").open("w") as stderr:
        proc = subprocess.Popen(command, env=env, stdout=stdout, stderr=stderr)
    try:
        served = Served(port, _key_from_banner(out, proc), out)
        wait_until_healthy(f"{served.url}/healthz", seconds=60)
        yield served
    finally:
        proc.send_signal(signal.SIGINT)  # stops its embedded PostgreSQL too
        proc.wait(timeout=30)


def _key_from_banner(out: Path, proc: subprocess.Popen) -> str:
    deadline = time.monotonic() + 60
    while len(lines := out.read_text().splitlines()) < 4:
        assert proc.poll() is None and time.monotonic() < deadline, "serve did not start"
        time.sleep(0.1)
    return json.loads(lines[3])["Authorization"].removeprefix("Bearer ")


@contextlib.contextmanager
def idle_sockets(port: int, source: str, count: int) -> Iterator[list[socket.socket]]:
    """`count` connections from `source` that send nothing; closed on leaving."""
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.bind((source, 0))
            sock.settimeout(5)
            sock.connect(("127.0.0.1", port))
            sockets.append(sock)
        yield sockets
    finally:
        for sock in sockets:
            sock.close()


def _answer(sock: socket.socket) -> bytes:
    """What the server sent before closing `sock` (b"" for a bare close)."""
    chunks = []
    while chunk := sock.recv(4096):
        chunks.append(chunk)
    return b"".join(chunks)


def _healthz_after_flood(served: Served) -> httpx.Response:
    """/healthz once the server has seen the flood's sockets close (a bounded wait)."""
    deadline = time.monotonic() + 5
    while (response := served.get("/healthz", "127.0.0.2")).status_code != 200:
        assert time.monotonic() < deadline, response.text
        time.sleep(0.05)
    return response


def test_one_client_past_its_cap_is_refused_and_the_others_get_in(served):
    with idle_sockets(served.port, "127.0.0.1", PER_CLIENT + 5) as flood:
        for extra in flood[PER_CLIENT:]:
            assert _answer(extra).startswith(b"HTTP/1.1 429 Too Many Requests\r\n")
        assert served.keyed("127.0.0.2").json()["data"]["account"]["id"]
        assert served.get("/healthz", "127.0.0.2").json() == {"status": "ok"}
        held = flood[:PER_CLIENT]
        for sock in held:  # nothing waiting on them: they are still open
            sock.setblocking(False)
            with pytest.raises(BlockingIOError):
                sock.recv(1)
    _healthz_after_flood(served)


def test_healthz_is_503_while_the_process_is_at_its_limit_and_200_after(served):
    sources = ["127.0.0.1", "127.0.0.3", "127.0.0.4"]  # 20 + 20 + 10: the limit of 50
    counts = [PER_CLIENT, PER_CLIENT, MAX_CONNECTIONS - 2 * PER_CLIENT]
    with contextlib.ExitStack() as stack:
        for source, count in zip(sources, counts, strict=True):
            stack.enter_context(idle_sockets(served.port, source, count))
        health = served.get("/healthz", "127.0.0.2")
        assert health.status_code == 503
        assert health.json()["status"] == "unavailable" and health.json()["requestId"]
        assert served.keyed("127.0.0.2").status_code == 503  # what health says
    assert _healthz_after_flood(served).json() == {"status": "ok"}
    assert served.keyed("127.0.0.2").status_code == 200


def test_a_trusted_proxy_is_not_capped_and_names_the_client(served):
    with idle_sockets(served.port, PROXY, PER_CLIENT + 5) as through_proxy:
        for sock in through_proxy:
            sock.setblocking(False)
            with pytest.raises(BlockingIOError):  # not answered 429, not closed
                sock.recv(1)
        proxied = served.keyed(PROXY, **{"X-Forwarded-For": "203.0.113.9"})
    spoofed = served.keyed("127.0.0.2", **{"X-Forwarded-For": "198.51.100.1"})
    assert _logged(served, proxied).startswith("INFO:     203.0.113.9:")
    assert _logged(served, spoofed).startswith("INFO:     127.0.0.2:")


def _logged(served: Served, response: httpx.Response) -> str:
    """The access line of `response`: written at the end of the loop turn that answered
    it, so it may reach the file just after the answer reaches the client."""
    request_id = response.headers["x-request-id"]
    deadline = time.monotonic() + 10
    while True:
        found = [x for x in served.log.read_text().splitlines() if request_id in x]
        if found or time.monotonic() > deadline:
            [line] = found
            return line
        time.sleep(0.05)


def test_a_connection_without_whole_headers_is_closed_after_the_header_timeout(served):
    with idle_sockets(served.port, "127.0.0.6", 1) as [idle]:
        started = time.monotonic()
        idle.settimeout(REQUEST_TIMEOUT)
        assert _answer(idle) == b""
        assert HEADER_TIMEOUT - 0.5 <= time.monotonic() - started < REQUEST_TIMEOUT - 1
    with idle_sockets(served.port, "127.0.0.6", 1) as [trickling]:
        started = time.monotonic()
        assert _trickled_until_closed(trickling, b"GET /healthz HTTP/1.1\r\nX-Slow: ")
        assert HEADER_TIMEOUT - 0.5 <= time.monotonic() - started < REQUEST_TIMEOUT - 1


def test_a_request_whose_headers_are_in_has_the_whole_request_timeout(served):
    # Keyed: an anonymous request is answered 401 without waiting for its body.
    headers = (
        b"POST /graphql HTTP/1.1\r\nHost: x\r\n"
        + f"Authorization: Bearer {served.key}\r\n".encode()
        + b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n"
    )
    with idle_sockets(served.port, "127.0.0.6", 1) as [uploading]:
        started = time.monotonic()
        uploading.sendall(headers)  # and no body
        uploading.settimeout(REQUEST_TIMEOUT + 5)
        assert _answer(uploading) == b""
        assert REQUEST_TIMEOUT - 0.5 <= time.monotonic() - started < REQUEST_TIMEOUT + 2


def _trickled_until_closed(sock: socket.socket, start: bytes) -> bool:
    """Sends `start`, then a byte of a header's value every 0.2 s, until the server closes
    `sock` (True) or REQUEST_TIMEOUT passes (False)."""
    sock.sendall(start)
    sock.settimeout(0.2)
    deadline = time.monotonic() + REQUEST_TIMEOUT
    while time.monotonic() < deadline:
        try:
            sock.sendall(b"x")
            if sock.recv(1) == b"":
                return True
        except TimeoutError:
            continue
        except OSError:
            return True
    return False
