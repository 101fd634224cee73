"""Rows/s of `substore export` (through `substore serve`), next to a bare asyncpg keyset
read of the same rows, same pages of 500, written to a CSV, in the same run; and the
export client's peak memory (it should not grow with the rows).
Usage: python bench/export.py [--rows 100000]
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import psutil

from lookup import fill, free_port, start
from pg import asyncpg_dsn, database_url
from substore import auth, db

BARE = """SELECT id, raw_number, e164_number, first_name, last_name, email, status, consented_at,
  consent_source, attributes, created_at FROM subscribers
WHERE account_id = $1 AND (created_at, id) > ($2, $3) ORDER BY created_at, id LIMIT 500"""


async def bare_read(url: str, account_id: int, path: Path) -> int:
    """The same pages straight from PostgreSQL: the ceiling of any export."""
    conn = await asyncpg.connect(asyncpg_dsn(url))
    count, after = 0, (datetime.min.replace(tzinfo=UTC), 0)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        while True:
            rows = await conn.fetch(BARE, account_id, *after)
            for r in rows:
                writer.writerow([*list(r.values())[1:9], r["attributes"]])  # jsonb comes as text
            count += len(rows)
            if len(rows) < 500:
                break
            after = (rows[-1]["created_at"], rows[-1]["id"])
    await conn.close()
    return count


async def write_key(url: str, account_id: int) -> str:
    engine = db.create_engine(url, pool_size=1)
    async with engine.begin() as conn:
        key = await auth.create_key(conn, account_id, "read")
    await engine.dispose()
    return key.secret


def run_export(path: Path, url: str, token: str) -> tuple[float, int, float]:
    """Seconds, rows and the client's peak RSS (MiB)."""
    command = [sys.executable, "-m", "substore.cli", "export", str(path), "--url", url]
    started = time.perf_counter()
    proc = subprocess.Popen(
        [*command, "--token", token], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    peak, process = 0, psutil.Process(proc.pid)
    while proc.poll() is None:
        try:
            peak = max(peak, process.memory_info().rss)
        except psutil.NoSuchProcess:
            break
        time.sleep(0.05)
    seconds = time.perf_counter() - started
    output = proc.stdout.read()
    return seconds, int(output.split()[0].replace(",", "")), peak / 2**20


def main(count: int) -> None:
    with database_url() as url, tempfile.TemporaryDirectory() as tmp:
        account_id, _, _ = asyncio.run(fill(url, count))
        token = asyncio.run(write_key(url, account_id))
        port = free_port()
        env = {**os.environ, "SUBSTORE_DATABASE_URL": url, "SUBSTORE_RATE_LIMIT_PER_SECOND": "0"}
        server = start(
            [sys.executable, "-m", "substore.cli", "serve", "--port", str(port)], env, port
        )
        try:
            api = f"http://127.0.0.1:{port}/graphql"
            seconds, rows, peak = run_export(Path(tmp) / "export.csv", api, token)
            started = time.perf_counter()
            bare_rows = asyncio.run(bare_read(url, account_id, Path(tmp) / "bare.csv"))
            bare_seconds = time.perf_counter() - started
        finally:
            server.terminate()
            server.wait(timeout=30)
    assert rows == bare_rows, (rows, bare_rows)
    ours, bare = rows / seconds, bare_rows / bare_seconds
    print(f"rows: {rows:,}, pages of 500")
    print(f"substore export      : {ours:>9,.0f} rows/s ({seconds:.1f} s)")
    print(f"bare asyncpg keyset  : {bare:>9,.0f} rows/s ({bare_seconds:.1f} s)")
    print(f"ratio export/bare    : {ours / bare:.2f}")
    print(f"client peak RSS      : {peak:.0f} MiB")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    main(parser.parse_args().rows)
