"""`substore serve` on its own embedded PostgreSQL, under faults a public server meets:
complexity bombs, idle and trickling sockets, huge bodies, running out of file
descriptors, its database dying, and being killed itself."""

from __future__ import annotations

import json
import os
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil
import pytest
from tests.api import GRAPHQL_RESPONSE
from tests.support import eventually, free_port, wait_until_healthy
from tests.unit.test_limits import bomb

FILE_LIMIT = 512
REQUEST_TIMEOUT = 2


@dataclass
class Served:
    url: str
    key: str
    proc: subprocess.Popen
    log: Path
    data_dir: Path

    def post(self, query: str, **variables) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.key}", "Accept": GRAPHQL_RESPONSE}
        body = {"query": query, "variables": variables}
        return httpx.post(f"{self.url}/graphql", json=body, headers=headers, timeout=30)


def _low_file_limit() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (FILE_LIMIT, FILE_LIMIT))


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    # Not under pytest's basetemp: each pytest session of this user makes its root 0700
    # again, and a PostgreSQL the tests have killed starts again as another user.
    with tempfile.TemporaryDirectory(prefix="substore-serve-faults-") as data_dir:
        yield from _serve(Path(data_dir))


def _serve(data_dir: Path) -> Iterator[Served]:
    port, log = free_port(), data_dir / "server.log"
    env = {
        **os.environ,
        "SUBSTORE_DATA_DIR": str(data_dir),
        "SUBSTORE_REQUEST_TIMEOUT_SECONDS": str(REQUEST_TIMEOUT),
        "SUBSTORE_NORMALIZE_WORKERS": "2",
    }
    env.pop("SUBSTORE_DATABASE_URL", None)
    with log.open("w") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-m", "substore.cli", "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            preexec_fn=_low_file_limit,
        )
    try:
        banner = [proc.stdout.readline() for _ in range(4)]
        key = json.loads(banner[3])["Authorization"].removeprefix("Bearer ")
        url = f"http://127.0.0.1:{port}"
        wait_until_healthy(f"{url}/healthz", seconds=60)
        yield Served(url, key, proc, log, data_dir)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=30)
        proc.stdout.close()
        _stop_postgres(data_dir)


def _postmaster(data_dir: Path) -> psutil.Process | None:
    pid_file = data_dir / "pgdata" / "postmaster.pid"
    try:
        return psutil.Process(int(pid_file.read_text().split()[0]))
    except (OSError, ValueError, psutil.NoSuchProcess):
        return None


def _stop_postgres(data_dir: Path) -> None:
    """The last test kills the server, whose reaper then stops its PostgreSQL: in case a
    failed test left it running."""
    postmaster = _postmaster(data_dir)
    if postmaster is not None and postmaster.is_running():
        postmaster.send_signal(signal.SIGINT)  # fast shutdown
        postmaster.wait(timeout=30)


def tracebacks(served: Served) -> int:
    return served.log.read_text(errors="replace").count("Traceback")


# --- the tests, in order: the last one kills the server -------------------------------


def test_healthz_keeps_answering_while_fragment_bombs_arrive(served):
    with ThreadPoolExecutor(4) as pool:
        bombs = [pool.submit(served.post, bomb(levels)) for levels in (20, 25, 30, 40) * 3]
        slowest = 0.0
        while not all(b.done() for b in bombs):
            started = time.perf_counter()
            assert httpx.get(f"{served.url}/healthz", timeout=5).status_code == 200
            slowest = max(slowest, time.perf_counter() - started)
        answers = [b.result() for b in bombs]
    assert slowest < 1.0
    assert {a.status_code for a in answers} == {400}
    assert {a.json()["errors"][0]["extensions"]["code"] for a in answers} == {"QUERY_TOO_COMPLEX"}


def _closed_within(sock: socket.socket, seconds: float, trickle: bytes = b"") -> float:
    """Seconds until the server closes `sock`, sending `trickle` a byte at a time."""
    started = time.monotonic()
    sock.settimeout(0.5)
    while time.monotonic() - started < seconds:
        if trickle:
            try:
                sock.sendall(trickle[:1])
            except OSError:
                return time.monotonic() - started
            trickle = trickle[1:] or b"x"
        try:
            if sock.recv(4096) == b"":
                return time.monotonic() - started
        except TimeoutError:
            continue
        except OSError:
            return time.monotonic() - started
    raise AssertionError(f"still open after {seconds} s")


def test_idle_and_trickling_connections_are_closed(served):
    port = int(served.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port)) as idle:
        assert _closed_within(idle, REQUEST_TIMEOUT + 5) >= REQUEST_TIMEOUT - 0.5
    request = b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n"
    with socket.create_connection(("127.0.0.1", port)) as slow:
        assert _closed_within(slow, REQUEST_TIMEOUT + 5, trickle=request) < REQUEST_TIMEOUT + 2
    assert httpx.get(f"{served.url}/healthz").status_code == 200


def test_pythons_urllib_reads_the_413(served):
    body = b'{"query": "' + b"x" * (12 * 1024 * 1024) + b'"}'
    request = urllib.request.Request(
        f"{served.url}/graphql",
        data=body,
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {served.key}"},
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)
    assert refused.value.code == 413
    assert json.loads(refused.value.read())["errors"][0]["extensions"]["code"] == (
        "PAYLOAD_TOO_LARGE"
    )


def test_running_out_of_file_descriptors_is_a_bounded_log(served):
    port = int(served.url.rsplit(":", 1)[1])
    before = served.log.stat().st_size
    sockets = []
    try:
        for _ in range(FILE_LIMIT + 200):
            sockets.append(socket.create_connection(("127.0.0.1", port), timeout=2))
        time.sleep(3)  # the server keeps meeting EMFILE all this while
    finally:
        for sock in sockets:
            sock.close()
    grown = served.log.stat().st_size - before
    assert grown < 20_000, served.log.read_text()[-3000:]
    wait_until_healthy(f"{served.url}/healthz", seconds=REQUEST_TIMEOUT + 10)
    assert served.post("{ account { id } }").status_code == 200


def test_a_dead_embedded_postgresql_is_503_then_started_again(served):
    served.post('mutation { createSubscriber(input: {number: "2015550100"}) { created } }')
    _postmaster(served.data_dir).kill()
    statuses, deadline = [], time.monotonic() + 60
    lookup = '{ subscriber(number: "2015550100") { e164Number } }'  # a plan, on asyncpg
    while time.monotonic() < deadline:
        looked_up = served.post(lookup)
        assert looked_up.status_code in (200, 503), looked_up.text
        response = served.post("{ account { subscriberCount } }")
        statuses.append(response.status_code)
        if response.status_code == 503:
            assert response.headers["retry-after"]
            assert response.json()["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"
        if response.status_code == 200 and len(statuses) > 1:
            break
        time.sleep(0.2)
    assert set(statuses) <= {200, 503}
    assert statuses[-1] == 200
    assert served.post("{ account { subscriberCount } }").json()["data"]["account"] == {
        "subscriberCount": 1
    }
    for _ in range(4):  # every worker's pooled connections have been replaced
        found = served.post(lookup).json()["data"]["subscriber"]
        assert found == {"e164Number": "+12015550100"}
    deadline = time.monotonic() + 10  # the watchdog logs once its restart has returned
    while "started again" not in served.log.read_text() and time.monotonic() < deadline:
        time.sleep(0.1)
    log = served.log.read_text()
    assert "started again" in log
    assert log.count("database unavailable") <= 2


def test_a_postgresql_that_cannot_start_again_is_a_bounded_log(served):
    """The campaign's case: a killed postmaster whose stopped child still holds its
    shared memory cannot start again, and each of the watchdog's tries (one a second in
    each worker) wrote the embedded library's dump of PostgreSQL's whole log: 705 KB of
    stderr in 30 s on a 13 KB log, and a long-lived log is megabytes."""
    postmaster = _postmaster(served.data_dir)
    held = next(c for c in postmaster.children() if "checkpointer" in " ".join(c.cmdline()))
    before = served.log.stat().st_size
    held.suspend()
    try:
        postmaster.kill()
        time.sleep(10)  # the watchdogs keep failing to start it all this while
        grown = served.log.stat().st_size - before
    finally:
        held.resume()  # it sees its postmaster gone and exits: the next start succeeds
    assert grown < 20_000, (grown, served.log.read_text()[-3000:])
    assert "(its log: " in served.log.read_text()  # the dump's place: the log's path
    wait_until_healthy(f"{served.url}/healthz", seconds=60)
    assert eventually(lambda: served.post("{ account { id } }").status_code == 200)


def test_the_normalisers_run_before_the_first_import_and_die_with_a_killed_server(served):
    """Started with the server, not by the first import: starting them held up the event
    loop that import shared with lookups (cpu.CpuPool.start)."""
    forked = [  # a forkserver, and the normalisers it forked, carry its command line
        c
        for c in psutil.Process(served.proc.pid).children(recursive=True)
        if "forkserver" in " ".join(c.cmdline())
    ]
    assert len(forked) >= 3, "a forkserver and the two normalisers, before any import"
    rows = [{"number": f"2015550{i:03d}"} for i in range(50)]
    query = "mutation($r: [SubscriberInput!]!) { importSubscribers(input: $r) { createdCount } }"
    assert served.post(query, r=rows).status_code == 200
    children = psutil.Process(served.proc.pid).children(recursive=True)
    workers = [c for c in children if "python" in c.name().lower()]
    served.proc.kill()
    served.proc.wait(timeout=10)
    _, alive = psutil.wait_procs(workers, timeout=10)
    assert not alive, [p.cmdline() for p in alive]
