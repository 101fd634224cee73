"""Rows/s of 100k-row upserts through substore.repository, next to a bare asyncpg upsert.

Both write the same normalised rows in 1000-row batches, one transaction per batch:
a first pass that inserts and a second that updates. The baseline is a bare asyncpg
INSERT ... SELECT FROM unnest ... ON CONFLICT DO UPDATE of the same columns.
Usage: python bench/upsert.py [--rows 100000] [--batch 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import time

import asyncpg

from corpus import rows as corpus_rows
from pg import asyncpg_dsn, database_url
from substore import db, repository, services
from substore.errors import PhoneNumberError
from substore.repository import SubscriberWrite
from substore.services import prepare

COLUMNS = repository.KEY_COLUMNS
# The key columns the repository writes; the consent columns of a new row are the
# table's defaults here, as a bare statement with no consent rules would leave them.
BARE_SQL = f"""
INSERT INTO subscribers (account_id, {", ".join(COLUMNS)})
SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::smallint[], $6::text[],
                         $7::text[], $8::text[], $9::text[], $10::text[], $11::text[])
ON CONFLICT (account_id, e164_number) DO UPDATE SET
  {", ".join(f"{c} = excluded.{c}" for c in COLUMNS[1:])}, updated_at = now()
RETURNING id, (xmax = 0) AS created
"""


def distinct_rows(count: int) -> list[SubscriberWrite]:
    out: dict[str, SubscriberWrite] = {}
    for text, region in corpus_rows(count * 2):
        try:
            row, _ = prepare(services.SubscriberInput(number=text), region, False)
        except PhoneNumberError:
            continue
        out.setdefault(row.key["e164_number"], row)
        if len(out) == count:
            break
    return list(out.values())


def batches(rows: list, size: int) -> list[list]:
    return [rows[i : i + size] for i in range(0, len(rows), size)]


async def repository_batch(engine, account_id: int, chunk) -> int:
    async with engine.begin() as conn:
        results = await repository.upsert_subscribers(conn, account_id, chunk)
    return sum(r.created for r in results)


async def asyncpg_batch(pool, account_id: int, chunk) -> int:
    arrays = [[row.key[c] for row in chunk] for c in COLUMNS]
    async with pool.acquire() as conn, conn.transaction():
        result = await conn.fetch(BARE_SQL, account_id, *arrays)
    return sum(r["created"] for r in result)


async def timed(call) -> tuple[float, int]:
    start = time.perf_counter()
    created = await call
    return time.perf_counter() - start, created


async def one_pass(engine, pool, ours: int, bare: int, chunks) -> list[tuple[float, int]]:
    """Both sides write every batch; batches interleave (alternating who goes first)
    so both meet the same table size, cache and machine load."""
    totals = [[0.0, 0], [0.0, 0]]  # repository, asyncpg
    for n, chunk in enumerate(chunks):
        sides = [(0, repository_batch(engine, ours, chunk)), (1, asyncpg_batch(pool, bare, chunk))]
        for side, call in sides if n % 2 else sides[::-1]:
            seconds, created = await timed(call)
            totals[side][0] += seconds
            totals[side][1] += created
    return [(t, c) for t, c in totals]


async def main(count: int, size: int) -> None:
    rows = distinct_rows(count)
    chunks = batches(rows, size)
    with database_url() as url:
        engine = db.create_engine(url, pool_size=2)
        await db.migrate(engine)
        pool = await asyncpg.create_pool(asyncpg_dsn(url), min_size=1, max_size=2)
        async with engine.begin() as conn:
            ours = (await repository.create_account(conn, "bench-repo", "US")).id
            bare = (await repository.create_account(conn, "bench-bare", "US")).id
        print(f"rows: {len(rows):,} distinct, batches of {size}")
        for label in ("insert", "update"):
            (r_time, r_created), (b_time, b_created) = await one_pass(
                engine, pool, ours, bare, chunks
            )
            assert r_created == b_created
            b_rate, r_rate = len(rows) / b_time, len(rows) / r_time
            print(
                f"{label}: bare asyncpg {b_rate:>9,.0f} rows/s | repository {r_rate:>9,.0f} rows/s"
                f" | ratio {r_rate / b_rate:.2f} (aim >= 0.80) | created {r_created:,}"
            )
        await pool.close()
        await engine.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1000)
    args = parser.parse_args()
    asyncio.run(main(args.rows, args.batch))
