"""One client floods `substore serve` with idle sockets; do other clients still get in?

Starts `substore serve` on its own embedded PostgreSQL, then, for `--seconds`, holds
`--sockets` idle connections from 127.0.0.1 (with `--addresses N`, spread over N loopback
addresses), opening again every second those the server closed, as an attacker would.
Meanwhile another client (127.0.0.2) sends a keyed request and a GET /healthz, each on
a new connection, every `--every` seconds. Then the flood stops and it probes again.
Loopback only; everything it starts is stopped when it ends.
Usage: python bench/conn_flood.py [--sockets 2600] [--seconds 20] [--env SUBSTORE_X=Y ...]
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import os
import resource
import selectors
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import psutil

PROBE_FROM = "127.0.0.2"


def flood_addresses(count: int) -> list[str]:
    return ["127.0.0.1"] + [f"127.0.1.{i}" for i in range(1, count)]


class Flood:
    """`total` idle sockets to `port`, kept open: those the server closes are opened again."""

    def __init__(self, port: int, total: int, addresses: list[str]) -> None:
        self.port, self.total, self.addresses = port, total, addresses
        self.selector = selectors.DefaultSelector()
        self.stop = threading.Event()
        self.opened = self.closed_by_server = self.refused = 0
        self.open = 0

    def _connect(self, slot: int) -> None:
        sock = socket.socket()
        sock.bind((self.addresses[slot % len(self.addresses)], 0))
        sock.settimeout(2)
        try:
            sock.connect(("127.0.0.1", self.port))
        except OSError:
            sock.close()
            self.refused += 1
            return
        sock.setblocking(False)
        self.selector.register(sock, selectors.EVENT_READ, slot)
        self.opened += 1
        self.open += 1

    def _reap(self, timeout: float) -> list[int]:
        """Slots whose socket the server closed (or answered) within `timeout`."""
        gone = []
        for key, _ in self.selector.select(timeout):
            self.selector.unregister(key.fileobj)
            key.fileobj.close()
            self.closed_by_server += 1
            self.open -= 1
            gone.append(key.data)
        return gone

    def run(self) -> None:
        empty = list(range(self.total))
        while not self.stop.is_set():
            for slot in empty:
                if self.stop.is_set():
                    break
                self._connect(slot)
            deadline = time.monotonic() + 1.0  # an attacker's pace: open again each second
            empty = []
            while time.monotonic() < deadline and not self.stop.is_set():
                empty += self._reap(0.1)
        for key in list(self.selector.get_map().values()):
            key.fileobj.close()
        self.selector.close()


def probe(url: str, key: str) -> tuple[str, str, float]:
    """A keyed request and a /healthz, each on a new connection from PROBE_FROM."""
    transport = httpx.HTTPTransport(local_address=PROBE_FROM)
    with httpx.Client(transport=transport, timeout=10) as client:
        started = time.perf_counter()
        keyed = _status(
            client, "POST", f"{url}/graphql", json={"query": "{ account { id } }"}, key=key
        )
        seconds = time.perf_counter() - started
        health = _status(client, "GET", f"{url}/healthz")
    return keyed, health, seconds


def _status(client: httpx.Client, method: str, url: str, key: str = "", **kw: object) -> str:
    headers = {"Authorization": f"Bearer {key}", "Connection": "close"} if key else {}
    try:
        return str(client.request(method, url, headers=headers, **kw).status_code)  # type: ignore[arg-type]
    except httpx.HTTPError as error:
        return type(error).__name__


def held(server: psutil.Process, port: int, addresses: set[str]) -> int:
    """Connections from `addresses` that the server's processes have accepted."""
    pids = {server.pid} | {child.pid for child in server.children(recursive=True)}
    return sum(
        1
        for c in psutil.net_connections("tcp")
        if c.pid in pids
        and c.laddr
        and c.laddr.port == port
        and c.raddr
        and c.raddr.ip in addresses
    )


def cpu_seconds(server: psutil.Process) -> float:
    """User + system CPU the server's processes have used so far."""
    total = 0.0
    for proc in [server, *server.children(recursive=True)]:
        with contextlib.suppress(psutil.NoSuchProcess):
            times = proc.cpu_times()
            total += times.user + times.system
    return total


def probe_for(
    url: str, key: str, seconds: float, every: float, count_held: Callable[[], int] | None = None
) -> dict[str, object]:
    """Probes every `every` s for `seconds`; with `count_held`, the server's held sockets
    sampled every 5 s."""
    keyed: collections.Counter[str] = collections.Counter()
    health: collections.Counter[str] = collections.Counter()
    times, holding, sampled = [], [], 0.0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        k, h, took = probe(url, key)
        keyed[k] += 1
        health[h] += 1
        times.append(took * 1000)
        if count_held is not None and time.monotonic() - sampled > 5:
            holding.append(count_held())
            sampled = time.monotonic()
        time.sleep(every)
    median = statistics.median(times) if times else 0.0
    found = {"keyed": dict(keyed), "healthz": dict(health), "keyed_ms_median": round(median, 1)}
    return found | ({"server_held_flood_sockets": holding} if holding else {})


def start_server(port: int, data_dir: Path, extra: dict[str, str]) -> tuple[subprocess.Popen, str]:
    env = {**os.environ, "SUBSTORE_DATA_DIR": str(data_dir), **extra}
    env.pop("SUBSTORE_DATABASE_URL", None)
    command = [sys.executable, "-m", "substore.cli", "serve", "--port", str(port)]
    log = (data_dir / "server.log").open("w")
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=log, text=True)
    banner = [proc.stdout.readline() for _ in range(4)]  # type: ignore[union-attr]
    key = json.loads(banner[3])["Authorization"].removeprefix("Bearer ")
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while probe(url, key)[1] != "200":
        if time.monotonic() > deadline:
            raise SystemExit("the server did not come up")
        time.sleep(0.2)
    return proc, key


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sockets", type=int, default=2600)
    parser.add_argument("--addresses", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--every", type=float, default=0.5)
    parser.add_argument("--env", action="append", default=[], help="SUBSTORE_X=Y for serve")
    args = parser.parse_args()
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    extra = dict(item.split("=", 1) for item in args.env)
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="substore-flood-") as tmp:
        proc, key = start_server(port, Path(tmp), extra)
        try:
            report(f"http://127.0.0.1:{port}", psutil.Process(proc.pid), port, key, args)
        finally:
            proc.send_signal(signal.SIGINT)  # stops the embedded PostgreSQL too
            proc.wait(timeout=60)
            proc.stdout.close()  # type: ignore[union-attr]


def report(url: str, server: psutil.Process, port: int, key: str, args: argparse.Namespace) -> None:
    print("before the flood:", probe_for(url, key, 2, args.every))
    addresses = flood_addresses(args.addresses)
    flood = Flood(port, args.sockets, addresses)
    thread = threading.Thread(target=flood.run)
    started, cpu = time.monotonic(), cpu_seconds(server)
    thread.start()
    try:
        during = probe_for(
            url, key, args.seconds, args.every, lambda: held(server, port, set(addresses))
        )
    finally:
        flood.stop.set()
        thread.join(timeout=30)
    print(f"during the flood ({args.sockets} sockets, {time.monotonic() - started:.0f} s):", during)
    print(
        f"  flood: {flood.opened} connects, {flood.closed_by_server} closed by the server, "
        f"{flood.refused} failed to connect, {flood.open} open at the end; "
        f"server CPU {cpu_seconds(server) - cpu:.1f} s"
    )
    print("after the flood:", probe_for(url, key, 3, args.every))


if __name__ == "__main__":
    main()
