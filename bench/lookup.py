"""Requests/s, p50/p99 and server CPU per request of subscriber(number:) and a 50-row
page: substore next to PostGraphile 4 and to a bare Starlette + asyncpg server.

All three serve one database holding the same subscribers: substore (`substore serve`:
auth, GraphQL, normalisation), PostGraphile 4.14 with the simplify inflector and no
GraphiQL (bench/postgraphile.py installs it from npm outside the repository), and
bench/bare_server.py (the same SELECTs, nothing else). Runs alternate between the servers;
the best round of each counts. Any non-2xx answer stops the run.
Usage: python bench/lookup.py [--rows 100000] [--requests 3000] [--concurrency 16]
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

import httpx
import psutil
import sqlalchemy as sa

import load
import postgraphile
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
    """User + system CPU a server has used so far, its worker processes included."""
    process = psutil.Process(pid)
    total = 0.0
    for p in [process, *process.children(recursive=True)]:
        with contextlib.suppress(psutil.NoSuchProcess):
            times = p.cpu_times()
            total += times.user + times.system
    return total


async def measure(ports, pids, reqs, total: int, concurrency: int, rounds: int):
    best: dict[str, tuple[load.LoadResult, float]] = {}
    for name, batch in reqs.items():  # warm-up: caches, prepared statements, pools
        await load.run(ports[name.split("/")[1]], batch, 200, concurrency)
    for _ in range(rounds):
        for name, batch in reqs.items():
            side = name.split("/")[1]
            before = cpu_seconds(pids[side])
            result = await load.run(ports[side], batch, total, concurrency)
            cpu_ms = (cpu_seconds(pids[side]) - before) / total * 1000
            if name not in best or result.rate > best[name][0].rate:
                best[name] = (result, cpu_ms)
    return best


def report(best, rows: int, concurrency: int) -> None:
    print(f"subscribers: {rows:,}; concurrency {concurrency}; best of the rounds")
    for kind in ("lookup", "page"):
        for side in SIDES:
            r, cpu_ms = best[f"{kind}/{side}"]
            print(
                f"{kind:6} {side:12}: {r.rate:>7,.0f} req/s  p50 {r.percentile(50):6.2f} ms"
                f"  p99 {r.percentile(99):6.2f} ms  server CPU {cpu_ms:.2f} ms/req"
            )
        ours = best[f"{kind}/substore"][0].rate
        print(
            f"{kind:6} ratio substore/postgraphile: {ours / best[f'{kind}/postgraphile'][0].rate:.2f}"
            f" (aim >= 1.0); substore/bare: {ours / best[f'{kind}/bare'][0].rate:.2f}"
        )


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
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    postgraphile.install()
    with database_url() as url:
        account_id, key, numbers = asyncio.run(fill(url, args.rows))
        ports = {side: free_port() for side in SIDES}
        # The rate limit is a feature, not a cost to measure: off, as PostGraphile has none.
        env = {**os.environ, "SUBSTORE_DATABASE_URL": url, "SUBSTORE_RATE_LIMIT_PER_SECOND": "0"}
        servers = {}
        try:
            for side, command in commands(url, account_id, ports).items():
                servers[side] = start(command, env, ports[side])
            pids = {side: proc.pid for side, proc in servers.items()}
            work = requests(key, account_id, numbers)
            best = asyncio.run(
                measure(ports, pids, work, args.requests, args.concurrency, args.rounds)
            )
        finally:
            for proc in servers.values():
                proc.terminate()
                proc.wait(timeout=20)
        report(best, len(numbers), args.concurrency)


if __name__ == "__main__":
    main()
