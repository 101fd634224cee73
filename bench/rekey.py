"""Rows/s of `substore rekey --check` (services.rekey.check: keyset batches in one
read-only snapshot, every row read again with the installed phonenumbers, recipes for keys
now invalid), next to bare phonenumbers.parse + format_number of the same raw numbers in
the same run. The store: 80% US numbers written with +, 10% national US numbers, 10%
Mexican mobiles keyed as before phonenumbers 8.10.17 (+521..., from "044 ...").
Usage: python bench/rekey.py [--rows 200000]
"""

from __future__ import annotations

import argparse
import asyncio
import time

import phonenumbers
import sqlalchemy as sa

from pg import database_url
from substore import db, repository
from substore.services import rekey

FILL = """INSERT INTO subscribers (account_id, e164_number, number, raw_number, country_code,
  region_code, number_type, country_code_source, default_region, normalizer_version, time_zones)
SELECT CAST(:a AS bigint),
  CASE WHEN g % 10 = 0 THEN '+52155' || lpad(g::text, 8, '0') ELSE '+1201' || (2000000 + g) END,
  CASE WHEN g % 10 = 0 THEN '155' || lpad(g::text, 8, '0') ELSE '201' || (2000000 + g) END,
  CASE WHEN g % 10 = 0 THEN '044 55 ' || lpad(g::text, 8, '0')
       WHEN g % 10 = 1 THEN '(201) ' || (2000000 + g) ELSE '+1201' || (2000000 + g) END,
  CASE WHEN g % 10 = 0 THEN 52 ELSE 1 END,
  CASE WHEN g % 10 = 0 THEN 'MX' ELSE 'US' END,
  CASE WHEN g % 10 = 0 THEN 'MOBILE' ELSE 'FIXED_LINE_OR_MOBILE' END,
  CASE WHEN g % 10 IN (0, 1) THEN 'DEFAULT_REGION' ELSE 'PLUS_SIGN' END,
  CASE WHEN g % 10 = 0 THEN 'MX' WHEN g % 10 = 1 THEN 'US' END,
  CASE WHEN g % 10 = 0 THEN '8.10.16' ELSE CAST(:version AS text) END,
  'America/New_York'
FROM generate_series(CAST(:start AS int), CAST(:stop AS int)) AS g"""


async def fill(url: str, count: int) -> int:
    engine = db.create_engine(url, pool_size=1)
    await db.migrate(engine)
    async with engine.begin() as conn:
        account = await repository.create_account(conn, "bench", "US")
    for start in range(1, count + 1, 100_000):
        stop = min(count, start + 99_999)
        params = {"a": account.id, "start": start, "stop": stop, "version": "9.0.43"}
        async with engine.begin() as conn:
            await conn.execute(sa.text(FILL), params)
    async with engine.begin() as conn:
        await conn.execute(sa.text("ANALYZE subscribers"))
    await engine.dispose()
    return int(account.id)


async def timed_check(url: str, account_id: int) -> tuple[float, rekey.Report]:
    engine = db.create_engine(url, pool_size=1)
    started = time.perf_counter()
    report = await rekey.check(engine, account_id)
    seconds = time.perf_counter() - started
    await engine.dispose()
    return seconds, report


async def raw_numbers(url: str, account_id: int) -> list[tuple[str, str | None]]:
    engine = db.create_engine(url, pool_size=1)
    async with engine.connect() as conn:
        query = "SELECT raw_number, default_region FROM subscribers WHERE account_id = :a"
        rows = [(r, d) for r, d in await conn.execute(sa.text(query), {"a": account_id})]
    await engine.dispose()
    return rows


def bare(numbers: list[tuple[str, str | None]]) -> float:
    """Seconds for phonenumbers alone: parse and format each as E.164."""
    started = time.perf_counter()
    for raw, region in numbers:
        phonenumbers.format_number(phonenumbers.parse(raw, region), 0)
    return time.perf_counter() - started


def main(count: int) -> None:
    with database_url() as url:
        account_id = asyncio.run(fill(url, count))
        seconds, report = asyncio.run(timed_check(url, account_id))
        numbers = asyncio.run(raw_numbers(url, account_id))
    baseline = bare(numbers)
    [result] = report.accounts
    rate, bare_rate = result.rows / seconds, len(numbers) / baseline
    print(f"rekey --check: {result.rows:,} rows in {seconds:.1f} s = {rate:,.0f} rows/s")
    print(f"  {result.summary()}")
    print(f"bare phonenumbers.parse+format: {bare_rate:,.0f} numbers/s")
    print(f"ratio: {rate / bare_rate:.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    main(parser.parse_args().rows)
