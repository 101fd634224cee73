"""Requests/s, p50/p99 and server CPU per request of subscriber(number:) and a 50-row
page: substore next to PostGraphile 4 and to a bare Starlette + asyncpg server.

All three serve one database holding the same subscribers: substore (`substore serve`:
auth, GraphQL, normalisation), PostGraphile 4.14 with the simplify inflector and no
GraphiQL (bench/postgraphile.py installs it from npm outside the repository), and
bench/bare_server.py (the same SELECTs, nothing else). Runs alternate between the servers;
the best round of each counts. Any non-2xx answer stops the run.
Usage: python bench/lookup.py [--rows 20000] [--seconds 8] [--rounds 3] [--only SIDE ...]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import asyncpg
import httpx
import psutil
import sqlalchemy as sa

import load
import postgraphile
import wrk
from pg import asyncpg_dsn, database_url
from substore import auth, db, repository
from upsert import batches, distinct_rows

FIELDS = "id e164Number number rawNumber countryCode regionCode numberType countryCodeSource firstName lastName email status createdAt updatedAt"
LOOKUP = f"query($n: PhoneNumber) {{ subscriber(number: $n) {{ {FIELDS} }} }}"
PAGE = f"{{ subscribers(first: 50) {{ edges {{ node {{ {FIELDS} }} }} pageInfo {{ hasNextPage endCursor }} }} }}"
HERE = Path(__file__).parent
SIDES = ("substore", "postgraphile", "bare")


async def fill(url: str, count: int) -> tuple[int, str, list[str]]:
    engine = db.create_engine(url, pool_size=2)
    await db.migrate(engine)
    async with engine.begin() as conn:
        account = await repository.create_account(conn, "bench", "US")
        key = await auth.create_key(conn, account.id, "read")
    rows = distinct_rows(count)
    for chunk in batches(rows, 1000):
        async with engine.begin() as conn:
            await repository.upsert_subscribers(conn, account.id, chunk)
    async with engine.begin() as conn:
        # As autovacuum would soon: without statistics every server's page is a sort.
        await conn.execute(sa.text("ANALYZE subscribers"))
    await engine.dispose()
    return account.id, key.secret, [r.key["e164_number"] for r in rows]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_healthy(url: str, seconds: float = 60) -> None:
    """Until `url` answers at all (any status)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up")


def start(command: list[str], env: dict[str, str], port: int) -> subprocess.Popen:
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_healthy(f"http://127.0.0.1:{port}/")
    except RuntimeError:
        proc.kill()
        raise
    return proc


def requests(key: str, account_id: int, numbers: list[str]) -> dict[str, list[bytes]]:
    headers = {"Authorization": f"Bearer {key}"}
    sample = random.Random(7).sample(numbers, 500)

    def gql(query: str, variables: dict | None = None, auth: bool = True) -> bytes:
        body = json.dumps({"query": query, "variables": variables or {}}).encode()
        return load.post_json("/graphql", body, headers if auth else {})

    account = str(account_id)
    return {
        "lookup/substore": [gql(LOOKUP, {"n": n}) for n in sample],
        "lookup/postgraphile": [
            gql(postgraphile.LOOKUP, {"a": account, "n": n}, auth=False) for n in sample
        ],
        "lookup/bare": [load.get(f"/lookup?e164={quote(n)}") for n in sample],
        "page/substore": [gql(PAGE)],
        "page/postgraphile": [gql(postgraphile.PAGE, {"a": account}, auth=False)],
        "page/bare": [load.get("/page")],
    }


def cpu_seconds(pid: int) -> float:
    """User + system CPU a server has used so far, its worker processes included (and
    those that have exited)."""
    process = psutil.Process(pid)
    exited = process.cpu_times()
    total = exited.children_user + exited.children_system
    for p in [process, *process.children(recursive=True)]:
        with contextlib.suppress(psutil.NoSuchProcess):
            times = p.cpu_times()
            total += times.user + times.system
    return total


async def python_load(port: int, batch: list[bytes], args: argparse.Namespace) -> load.LoadResult:
    return await load.run(port, batch, args.requests, args.concurrency)


async def postmaster(url: str) -> int:
    """The pid of the PostgreSQL server behind `url`: a backend's parent."""
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        return psutil.Process(await conn.fetchval("SELECT pg_backend_pid()")).ppid()
    finally:
        await conn.close()


def measure_one(port: int, pid: int, batch: list[bytes], args: argparse.Namespace):
    """One round against one server: (result, server CPU ms a request, PostgreSQL's)."""
    before, pg_before = cpu_seconds(pid), cpu_seconds(args.postgres)
    if args.generator == "wrk":
        result = wrk.run(port, batch, args.seconds, args.concurrency)
        if result.non2xx or result.socket_errors:
            raise RuntimeError(f"{result.non2xx} non-2xx, {result.socket_errors} socket errors")
    else:
        result = asyncio.run(python_load(port, batch, args))
    server = (cpu_seconds(pid) - before) / result.requests * 1000
    return result, server, (cpu_seconds(args.postgres) - pg_before) / result.requests * 1000


def measure(ports, pids, reqs, args: argparse.Namespace):
    best: dict[str, tuple] = {}
    for name, batch in reqs.items():  # warm-up: caches, prepared statements, pools
        asyncio.run(load.run(ports[name.split("/")[1]], batch, 400, args.concurrency))
    for _ in range(args.rounds):
        for name, batch in reqs.items():
            side = name.split("/")[1]
            result, *cpu_ms = measure_one(ports[side], pids[side], batch, args)
            if name not in best or result.rate > best[name][0].rate:
                best[name] = (result, *cpu_ms)
    return best


def report(best, rows: int, args: argparse.Namespace) -> None:
    generator = (
        f"wrk -t1 -c{args.concurrency} -d{args.seconds:g}s"
        if args.generator == "wrk"
        else f"the Python loop (bench/load.py, wrk missing), {args.requests} requests"
    )
    print(f"subscribers: {rows:,}; load: {generator}; best of {args.rounds} rounds")
    for kind in ("lookup", "page"):
        for side in args.sides:
            r, server_ms, pg_ms = best[f"{kind}/{side}"]
            print(
                f"{kind:6} {side:12}: {r.rate:>7,.0f} req/s  p50 {r.percentile(50):6.2f} ms"
                f"  p99 {r.percentile(99):6.2f} ms  CPU/req: server {server_ms:.3f} ms,"
                f" PostgreSQL {pg_ms:.3f} ms"
            )
        rates = {side: best[f"{kind}/{side}"][0].rate for side in args.sides}
        if "substore" in rates:
            ratios = [f"substore/{s}: {rates['substore'] / r:.2f}" for s, r in rates.items()]
            print(f"{kind:6} ratios {'; '.join(ratios[1:])} (aim: >= 1.25 of postgraphile)")


def commands(url: str, account_id: int, ports: dict[str, int]) -> dict[str, list[str]]:
    serve = [sys.executable, "-m", "substore.cli", "serve", "--port", str(ports["substore"])]
    bare = [sys.executable, str(HERE / "bare_server.py"), asyncpg_dsn(url), str(account_id)]
    return {
        "substore": serve,
        "postgraphile": postgraphile.command(asyncpg_dsn(url), ports["postgraphile"]),
        "bare": [*bare, str(ports["bare"])],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--seconds", type=float, default=8, help="a round's length under wrk")
    parser.add_argument("--requests", type=int, default=8000, help="a round, Python loop")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", choices=SIDES, action="append", help="servers to run")
    args = parser.parse_args()
    args.generator = "wrk" if wrk.available() else "python"
    args.sides = tuple(side for side in SIDES if side in (args.only or SIDES))
    postgraphile.install()
    with database_url() as url:
        account_id, key, numbers = asyncio.run(fill(url, args.rows))
        args.postgres = asyncio.run(postmaster(url))  # its backends' CPU is counted for each server
        ports = {side: free_port() for side in SIDES}
        # The rate limit is a feature, not a cost to measure: off, as PostGraphile has none.
        env = {**os.environ, "SUBSTORE_DATABASE_URL": url, "SUBSTORE_RATE_LIMIT_PER_SECOND": "0"}
        servers = {}
        try:
            for side, command in commands(url, account_id, ports).items():
                if side in args.sides:
                    servers[side] = start(command, env, ports[side])
            pids = {side: proc.pid for side, proc in servers.items()}
            work = {
                name: batch
                for name, batch in requests(key, account_id, numbers).items()
                if name.split("/")[1] in args.sides
            }
            best = measure(ports, pids, work, args)
        finally:
            for proc in servers.values():
                proc.terminate()
                proc.wait(timeout=20)
        report(best, len(numbers), args)


if __name__ == "__main__":
    main()
