"""CPU per request of the app alone, and where it goes: the ASGI app called in process
(no sockets, no HTTP client) for `subscriber(number:)`, the 50-row page, or a 1000-row
`importSubscribers` batch as `substore import` sends it, N times.

Prints the app's CPU per request (process time: for an import, the serving process's own
share, its normaliser processes apart); with --profile, cProfile's top functions
(cProfile times coroutines by the wall clock: read it for proportions, not totals).
The import figure varies ~4% between runs where bench/import.py's end-to-end rate varies
15%: measure server-side import changes with it.
Usage: python bench/profile_request.py lookup|page|import [--requests 3000] [--rows 20000]
       [--profile] [--sort tottime] [--top 30]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import importlib
import json
import pstats
import random
import time

from lookup import LOOKUP, PAGE, fill
from pg import database_url
from substore.config import Settings
from substore.importer.transport import MUTATION
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
    if args.kind == "import":
        key, bodies = await import_batches(url, args.requests + WARM_BATCHES)
        warm = WARM_BATCHES
    else:
        _, key, numbers = await fill(url, args.rows)
        sample = random.Random(7).sample(numbers, 500)
        query = {"query": PAGE}
        bodies = [
            json.dumps(
                {"query": LOOKUP, "variables": {"n": n}} if args.kind == "lookup" else query
            ).encode()
            for n in sample
        ]
        warm = 300
    settings = Settings(database_url=url, rate_limit_per_second=0)
    app = create_app(settings, start_normalisers=args.kind == "import")
    async with app.router.lifespan_context(app):
        for body in bodies[:warm]:  # warm: plans, caches, prepared statements
            assert await call(app, body, key) == 200
        profile = cProfile.Profile() if args.profile else None
        started = time.process_time()
        if profile:
            profile.enable()
        for i in range(args.requests):
            await call(app, bodies[(warm + i) % len(bodies)], key)
        if profile:
            profile.disable()
        used = (time.process_time() - started) / args.requests * 1e6
    print(f"{args.kind}: {used:.0f} us of CPU per request in the app")
    if profile:
        pstats.Stats(profile).sort_stats(args.sort).print_stats(args.top)


WARM_BATCHES = 10


async def import_batches(url: str, count: int) -> tuple[str, list[bytes]]:
    """A write key and `count` bodies of 1000 rows as the import client sends them, of
    bench/import.py's CRM-like numbers (88% distinct, 10% repeated, 2% invalid)."""
    bench = importlib.import_module("import")  # bench/import.py: a keyword as a name
    key, _ = await bench.prepare(url)
    numbers = bench.make_rows(count * 1000)
    bodies = [
        json.dumps(
            {
                "query": MUTATION,
                "variables": {"rows": [{"number": n} for n in numbers[i : i + 1000]]},
            }
        ).encode()
        for i in range(0, len(numbers), 1000)
    ]
    return key, bodies


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("kind", choices=["lookup", "page", "import"])
    parser.add_argument("--requests", type=int, help="default 3000, for an import 150")
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--sort", default="tottime")
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args()
    if args.requests is None:
        args.requests = 150 if args.kind == "import" else 3000
    with database_url() as url:
        asyncio.run(measure(url, args))


if __name__ == "__main__":
    main()
