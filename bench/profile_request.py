"""CPU per request of the app alone, and where it goes: the ASGI app called in process
(no sockets, no HTTP client) for `subscriber(number:)` or the 50-row page, N times.

Prints the app's CPU per request (process time); with --profile, cProfile's top functions
(cProfile times coroutines by the wall clock: read it for proportions, not totals).
Usage: python bench/profile_request.py lookup|page [--requests 3000] [--rows 20000]
       [--profile] [--sort tottime] [--top 30]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import pstats
import random
import time

from lookup import LOOKUP, PAGE, fill
from pg import database_url
from substore.config import Settings
from substore.web.app import create_app


async def call(app, body: bytes, key: str) -> int:
    """One POST /graphql through the ASGI app; its status."""
    headers = [
        (b"host", b"bench"),
        (b"content-type", b"application/json"),
        (b"authorization", f"Bearer {key}".encode()),
        (b"content-length", str(len(body)).encode()),
    ]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/graphql",
        "raw_path": b"/graphql",
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
        "state": {},
    }
    messages = [{"type": "http.request", "body": body, "more_body": False}]
    status: list[int] = []

    async def receive() -> dict:
        if messages:
            return messages.pop()
        await asyncio.Event().wait()  # the client never disconnects
        return {}

    async def send(message: dict) -> None:
        if message["type"] == "http.response.start":
            status.append(message["status"])

    await app(scope, receive, send)
    return status[0]


async def measure(url: str, args: argparse.Namespace) -> None:
    _, key, numbers = await fill(url, args.rows)
    app = create_app(Settings(database_url=url, rate_limit_per_second=0))
    sample = random.Random(7).sample(numbers, 500)
    bodies = [
        json.dumps(
            {"query": LOOKUP, "variables": {"n": n}} if args.kind == "lookup" else {"query": PAGE}
        ).encode()
        for n in sample
    ]
    async with app.router.lifespan_context(app):
        for body in bodies[:300]:  # warm: plans, caches, prepared statements
            assert await call(app, body, key) == 200
        profile = cProfile.Profile() if args.profile else None
        started = time.process_time()
        if profile:
            profile.enable()
        for i in range(args.requests):
            await call(app, bodies[i % len(bodies)], key)
        if profile:
            profile.disable()
        used = (time.process_time() - started) / args.requests * 1e6
    print(f"{args.kind}: {used:.0f} us of CPU per request in the app")
    if profile:
        pstats.Stats(profile).sort_stats(args.sort).print_stats(args.top)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("kind", choices=["lookup", "page"])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--sort", default="tottime")
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args()
    with database_url() as url:
        asyncio.run(measure(url, args))


if __name__ == "__main__":
    main()
