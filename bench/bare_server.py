"""The baseline for bench/lookup.py: bare Starlette + asyncpg doing the same SELECTs.

No GraphQL, no auth, no normalisation: the least a JSON endpoint can do.
Usage: python bench/bare_server.py URL ACCOUNT_ID PORT
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import AsyncIterator

import asyncpg
import uvicorn
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

COLUMNS = "id, e164_number, number, raw_number, country_code, region_code, number_type, country_code_source, first_name, last_name, email, status, created_at, updated_at"


def make_app(dsn: str, account_id: int) -> Starlette:
    state: dict[str, asyncpg.Pool] = {}

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        state["pool"] = await asyncpg.create_pool(dsn, min_size=4, max_size=10)
        yield
        await state["pool"].close()

    def as_json(row: asyncpg.Record) -> dict:
        out = dict(row)
        out["created_at"] = out["created_at"].isoformat()
        out["updated_at"] = out["updated_at"].isoformat()
        return out

    async def lookup(request) -> JSONResponse:
        row = await state["pool"].fetchrow(
            f"SELECT {COLUMNS} FROM subscribers WHERE account_id = $1 AND e164_number = $2",
            account_id,
            request.query_params["e164"],
        )
        return JSONResponse({"subscriber": as_json(row) if row else None})

    async def page(request) -> JSONResponse:
        rows = await state["pool"].fetch(
            f"SELECT {COLUMNS} FROM subscribers WHERE account_id = $1 "
            "ORDER BY created_at, id LIMIT 51",
            account_id,
        )
        return JSONResponse({"subscribers": [as_json(r) for r in rows[:50]]})

    routes = [Route("/lookup", lookup), Route("/page", page)]
    return Starlette(routes=routes, lifespan=lifespan)


if __name__ == "__main__":
    dsn, account, port = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    uvicorn.run(make_app(dsn, account), host="127.0.0.1", port=port, log_level="warning")
