"""Where a request's CPU goes: cProfile of the app (in process, no sockets) answering
subscriber(number:) or the 50-row page N times; prints the top functions by own time.
Usage: python bench/profile_request.py [lookup|page] [--requests 2000] [--rows 20000]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import pstats
import random

import httpx

from lookup import LOOKUP, PAGE, fill
from pg import database_url
from substore.config import Settings
from substore.web.app import create_app


async def drive(url: str, kind: str, count: int, rows: int) -> None:
    _, key, numbers = await fill(url, rows)
    settings = Settings(database_url=url, rate_limit_per_second=0)
    app = create_app(settings)
    sample = random.Random(7).sample(numbers, 500)
    bodies = [
        json.dumps({"query": LOOKUP, "variables": {"n": n}})
        if kind == "lookup"
        else json.dumps({"query": PAGE})
        for n in sample
    ]
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    transport = httpx.ASGITransport(app=app)
    client = httpx.AsyncClient(transport=transport, base_url="http://t")
    async with app.router.lifespan_context(app), client:
        for body in bodies[:200]:
            assert (await client.post("/graphql", content=body, headers=headers)).status_code == 200
        profile = cProfile.Profile()
        profile.enable()
        for i in range(count):
            response = await client.post("/graphql", content=bodies[i % 500], headers=headers)
            assert response.status_code == 200, response.text
        profile.disable()
    stats = pstats.Stats(profile)
    total = sum(v[2] for v in stats.stats.values())
    print(
        f"{kind}: {total / count * 1000:.3f} ms own time per request (profiled, incl. the client)"
    )
    stats.sort_stats(os.environ.get("SORT", "tottime")).print_stats(
        os.environ.get("FILTER", ""), int(os.environ.get("TOP", "35"))
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("kind", choices=["lookup", "page"])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rows", type=int, default=20000)
    args = parser.parse_args()
    with database_url() as url:
        asyncio.run(drive(url, args.kind, args.requests, args.rows))


if __name__ == "__main__":
    main()
