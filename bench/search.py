"""The plans and times of `filter: {search}` pages on two accounts of 100k rows each,
next to the unfiltered first page of the same account in the same run.

Prints, for each search: rows found, ms per 51-row page query (best of 20) and its ratio to
the unfiltered page, and the EXPLAIN (ANALYZE, BUFFERS) plan, so that the indexes used and
the rows read can be checked (no row of the other account may be read).
Usage: python bench/search.py [--rows 100000] [--plans]
"""

from __future__ import annotations

import argparse
import asyncio
import time

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from pg import database_url
from substore import db, repository
from substore.repository import SubscriberFilter
from substore.search import parse_search

# Names from a small pool, as a real account's are: many share a first or last name.
FIRST = ["Jane", "John", "Ana", "Luca", "Mary", "James", "Li", "Sofia", "Omar", "Eva"]
LAST = ["Smith", "Smithers", "Müller", "Rossi", "Garcia", "Chen", "Okafor", "Novak"]
FILL = f"""INSERT INTO subscribers (account_id, e164_number, number, raw_number, country_code,
  number_type, country_code_source, normalizer_version, first_name, last_name, email)
SELECT :account, '+' || cc || nsn, nsn, nsn, cc, 'MOBILE', 'FROM_DEFAULT_COUNTRY', 'bench',
  f || CASE WHEN n % 3 = 0 THEN '' ELSE n::text END, l, lower(f || '.' || l) || n || '@example.com'
FROM generate_series(1, :rows) AS n,
  LATERAL (SELECT CASE WHEN n % 5 = 1 THEN 44 ELSE 1 END AS cc,
    CASE WHEN n % 5 = 1 THEN '7400' || lpad(n::text, 6, '0')
         ELSE (200 + n % 700)::text || '555' || lpad((n / 700)::text, 4, '0') END AS nsn,
    (ARRAY{FIRST!r})[1 + n % {len(FIRST)}] AS f,
    (ARRAY{LAST!r})[1 + (n / 7) % {len(LAST)}] AS l) AS pick"""
SEARCHES = ["jane smi", "smi", "müller", "j", "mary.garcia1", "415 555", "+44 7400 0012", "2"]


async def fill(engine, rows: int) -> int:
    async with engine.begin() as conn:
        ids = [(await repository.create_account(conn, f"search-{i}", "US")).id for i in (1, 2)]
        for account_id in ids:
            await conn.execute(sa.text(FILL), {"account": account_id, "rows": rows})
        await conn.execute(sa.text("ANALYZE subscribers"))
    return ids[0]


def sql(account_id: int, search: str | None) -> str:
    where = SubscriberFilter(search=parse_search(search))
    statement = repository.select_page(account_id, where, 51)
    return str(
        statement.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True})
    )


async def best_ms(conn, text: str) -> tuple[float, int]:
    times, found = [], 0
    for _ in range(20):
        started = time.perf_counter()
        found = len((await conn.exec_driver_sql(text)).all())
        times.append(time.perf_counter() - started)
    return min(times) * 1000, found


async def measure(url: str, rows: int, plans: bool) -> None:
    engine = db.create_engine(url, pool_size=1)
    await db.migrate(engine)
    account_id = await fill(engine, rows)
    async with engine.connect() as conn:
        base, _ = await best_ms(conn, sql(account_id, None))
        print(f"{rows:,} rows in each of two accounts; unfiltered page: {base:.2f} ms")
        for search in SEARCHES:
            ms, found = await best_ms(conn, sql(account_id, search))
            print(f"search {search!r:18} {found:3} rows  {ms:6.2f} ms  ratio {ms / base:5.2f}")
            if plans:
                explain = f"EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) {sql(account_id, search)}"
                for (line,) in await conn.exec_driver_sql(explain):
                    print("    " + line)
    await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--plans", action="store_true")
    args = parser.parse_args()
    with database_url() as url:
        asyncio.run(measure(url, args.rows, args.plans))


if __name__ == "__main__":
    main()
