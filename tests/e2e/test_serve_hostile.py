"""`substore serve` against the inputs of an outside attack campaign: what clients send
must not grow its memory or /metrics, and a client hanging up is not an error."""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil
import pytest
from tests.e2e.test_serve import serve
from tests.support import free_port, wait_until_healthy

BIG = 1_800_000  # the campaign's documents: 1.8 MB each, distinct


@dataclass
class Hostile:
    url: str
    key: str
    proc: subprocess.Popen
    stderr: Path

    def rss(self) -> int:
        return psutil.Process(self.proc.pid).memory_info().rss


@pytest.fixture
def hostile(fresh_database: str, tmp_path: Path) -> Iterator[Hostile]:
    port, stderr = free_port(), tmp_path / "stderr.log"
    env = {**os.environ, "SUBSTORE_DATABASE_URL": fresh_database, "SUBSTORE_WORKERS": "1"}
    with stderr.open("w") as errors:
        proc = serve(port, env, stderr=errors)
        try:
            key = json.loads([proc.stdout.readline() for _ in range(4)][3])["Authorization"][7:]
            url = f"http://127.0.0.1:{port}"
            wait_until_healthy(f"{url}/healthz")
            yield Hostile(url, key, proc, stderr)
        finally:
            proc.terminate()
            proc.wait(timeout=20)
            proc.stdout.close()


def big_document() -> str:
    """A valid query padded to 1.8 MB by a comment: distinct every time."""
    return f"{{ account {{ id }} }} # {secrets.token_hex(BIG // 2)}"


def test_distinct_large_documents_do_not_grow_the_server(hostile):
    """The campaign: 100 documents of 1.8 MB, half without a key, grew a server by
    350 MB. Here 40 of them (20 anonymous) must leave it within 60 MB of where it was."""
    keyed = {"Authorization": f"Bearer {hostile.key}"}
    with httpx.Client(base_url=hostile.url, timeout=60) as client:
        for _ in range(3):  # warm: first allocations, the first large body's buffers
            client.post("/graphql", json={"query": big_document()}, headers=keyed)
        before = hostile.rss()
        for n in range(40):
            headers = keyed if n % 2 else {}
            answer = client.post("/graphql", json={"query": big_document()}, headers=headers)
            assert answer.status_code == (200 if n % 2 else 401)
    grown = (hostile.rss() - before) / 2**20
    assert grown < 60, f"the server grew {grown:.0f} MiB"


def test_a_client_hanging_up_mid_body_is_499_not_an_error(hostile):
    """Slowloris-style: a body announced, part of it sent, the socket closed."""
    for _ in range(5):
        with socket.create_connection(("127.0.0.1", int(hostile.url.rsplit(":", 1)[1]))) as s:
            s.sendall(
                b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                + f"Authorization: Bearer {hostile.key}\r\n".encode()
                + b'Content-Length: 1000\r\n\r\n{"query": "{ acc'
            )
    time.sleep(0.5)
    scraped = httpx.get(f"{hostile.url}/metrics").text
    assert 'status="499"} 5.0' in scraped
    assert 'status="500"' not in scraped
    errors = hostile.stderr.read_text()
    assert "Traceback" not in errors and "ClientDisconnect" not in errors
