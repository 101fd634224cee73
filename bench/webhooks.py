"""Webhook delivery from `substore serve` to a receiver on 127.0.0.1: events delivered per
second, and the lag from a write's commit (its response) to its event's arrival, p50/p99.

Two loads: single createSubscriber calls one after another (the lag a live integration
sees), then an import of 100k rows in 1000-row importSubscribers calls, 4 at a time (the
backlog, drained 100 events a request).
Usage: python bench/webhooks.py [--singles 500] [--rows 100000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from typing import Any

import httpx
import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from lookup import free_port, wait_healthy
from pg import database_url
from substore import auth, db, services

CREATE = "mutation($n: PhoneNumber!) { createSubscriber(input: {number: $n}) { created } }"
IMPORT = "mutation($rows: [SubscriberInput!]!) { importSubscribers(input: $rows) { createdCount } }"
ENDPOINT = "mutation($url: String!) { createWebhookEndpoint(input: {url: $url}) { secret } }"


class Receiver:
    """Arrival time of every event by its number, and the requests that brought them."""

    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        self.requests = 0

    async def hook(self, request: Request) -> Response:
        body = orjson.loads(await request.body())
        now = time.time()
        for event in body["data"]["events"]:
            self.arrived[event["subscriber"]["e164Number"]] = now
        self.requests += 1
        return Response(status_code=200)

    def serve(self, port: int) -> uvicorn.Server:
        app = Starlette(routes=[Route("/hook", self.hook, methods=["POST"])])
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
        server = uvicorn.Server(config)
        threading.Thread(target=server.run, daemon=True).start()
        return server


async def prepare(url: str) -> str:
    engine = db.create_engine(url, pool_size=1)
    await db.migrate(engine)
    async with engine.begin() as conn:
        account = await services.create_account(conn, "webhook-bench", "US")
        key = await auth.create_key(conn, account.id, "write")
    await engine.dispose()
    return key.secret


def number(n: int) -> str:
    return f"+1201{555 + n // 10_000}{n % 10_000:04d}"


async def post(client: httpx.AsyncClient, query: str, **variables: Any) -> None:
    response = await client.post("/graphql", json={"query": query, "variables": variables})
    assert response.status_code == 200 and "errors" not in response.json(), response.text


async def singles(client: httpx.AsyncClient, count: int) -> dict[str, float]:
    committed = {}
    for n in range(count):
        await post(client, CREATE, n=number(n))
        committed[number(n)] = time.time()
        await asyncio.sleep(0.01)  # a live trickle, not a burst
    return committed


async def bulk(client: httpx.AsyncClient, start: int, rows: int) -> dict[str, float]:
    committed: dict[str, float] = {}
    queue = list(range(start, start + rows, 1000))

    async def lane() -> None:
        while queue:
            first = queue.pop(0)
            batch = [number(n) for n in range(first, min(first + 1000, start + rows))]
            await post(client, IMPORT, rows=[{"number": b} for b in batch])
            done = time.time()
            committed.update(dict.fromkeys(batch, done))

    await asyncio.gather(*(lane() for _ in range(4)))
    return committed


def wait_for(receiver: Receiver, committed: dict[str, float], seconds: float = 600) -> None:
    deadline = time.monotonic() + seconds
    while any(n not in receiver.arrived for n in committed) and time.monotonic() < deadline:
        time.sleep(0.05)


def report(name: str, receiver: Receiver, committed: dict[str, float]) -> dict[str, Any]:
    lags = sorted((receiver.arrived[n] - t) * 1000 for n, t in committed.items())
    arrivals = [receiver.arrived[n] for n in committed]
    span = max(arrivals) - min(committed.values())
    return {
        "load": name,
        "events": len(committed),
        "delivered_per_second": round(len(committed) / span),
        "lag_ms_p50": round(statistics.median(lags), 1),
        "lag_ms_p99": round(lags[int(len(lags) * 0.99) - 1], 1),
        "lag_ms_max": round(lags[-1], 1),
    }


async def run(base: str, key: str, hook: str, receiver: Receiver, args: Any) -> list[dict]:
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=60) as client:
        await post(client, ENDPOINT, url=hook)
        committed = await singles(client, args.singles)
        await asyncio.to_thread(wait_for, receiver, committed)
        results = [report("single createSubscriber calls", receiver, committed)]
        requests = receiver.requests
        committed = await bulk(client, args.singles, args.rows)
        await asyncio.to_thread(wait_for, receiver, committed)
        result = report(f"import of {args.rows:,} rows", receiver, committed)
        result["requests"] = receiver.requests - requests
        results.append(result)
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--singles", type=int, default=500)
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    receiver, receiver_port, port = Receiver(), free_port(), free_port()
    receiver.serve(receiver_port)
    with database_url() as url:
        key = asyncio.run(prepare(url))
        env = {
            **os.environ,
            "SUBSTORE_DATABASE_URL": url,
            "SUBSTORE_RATE_LIMIT_PER_SECOND": "0",
            "SUBSTORE_WEBHOOK_ALLOW_PRIVATE": "true",
        }
        server = subprocess.Popen(
            [sys.executable, "-m", "substore.cli", "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_healthy(f"http://127.0.0.1:{port}/healthz")
            hook = f"http://127.0.0.1:{receiver_port}/hook"
            base = f"http://127.0.0.1:{port}"
            results = asyncio.run(run(base, key, hook, receiver, args))
        finally:
            server.terminate()
            server.wait(timeout=30)
    for result in results:
        print(json.dumps(result))


if __name__ == "__main__":
    main()
