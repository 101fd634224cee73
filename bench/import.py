"""End-to-end rows/s of `substore import` against `substore serve`, next to two ceilings.

- normalisation ceiling: bare phonenumbers (parse + is_valid_number + format) on every
  core, same rows, same run;
- database ceiling: a bare asyncpg unnest upsert of the same (distinct) rows;
- the client's peak memory (RSS), and CPU per row by process;
- the import alone, then again (into another account) while a lookup probe asks for one
  subscriber every 50 ms, as a frontend would: the probe's p50/p99 idle and during, and
  whether p99 held within max(2x idle, idle + 10 ms).
Rows: mixed formats, 10% duplicates, 2% invalid. The server runs with its default rate
limits (an import's batches have a bucket of their own).
Usage: python bench/import.py [--rows 100000 | --million] [--concurrency 4] [--batch-size N]
       [--rounds 1]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import json
import multiprocessing
import os
import random
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import phonenumbers
import psutil

from corpus import rows as corpus_rows
from lookup import free_port, wait_healthy
from normalize import bare
from pg import asyncpg_dsn, database_url
from probe import held, idle_latencies, probe, summary
from processes import cpu_by_process, postgres_cpu, postmaster
from substore import auth, db, services
from substore.errors import PhoneNumberError
from substore.importer.job import DEFAULT_CONCURRENCY
from upsert import BARE_SQL, COLUMNS, batches

INTERNATIONAL = phonenumbers.PhoneNumberFormat.INTERNATIONAL


def make_rows(count: int, seed: int = 10) -> list[str]:
    """Numbers as a CRM holds them: 88% distinct valid numbers in mixed formats (US ones
    national, the rest with +country code), 10% duplicates spelled differently, 2% invalid."""
    rng = random.Random(seed)
    distinct: dict[str, str] = {}
    for text, region in corpus_rows(count * 2, seed=seed):
        try:
            parsed = phonenumbers.parse(text, region)
        except phonenumbers.NumberParseException:
            continue
        if not phonenumbers.is_valid_number(parsed):
            continue
        e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
        spelled = text if region == "US" else phonenumbers.format_number(parsed, INTERNATIONAL)
        distinct.setdefault(e164, spelled)
        if len(distinct) >= count * 0.88:
            break
    out = list(distinct.values())
    out += [" " + rng.choice(out).replace(" ", "-") for _ in range(int(count * 0.10))]
    out += [
        rng.choice(["12", "555-0123", "911", "n/a", "+999 1234"]) for _ in range(count - len(out))
    ]
    rng.shuffle(out)
    return out


def write_csv(path: Path, numbers: list[str]) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["phone", "first_name"])
        writer.writerows([number, f"n{i}"] for i, number in enumerate(numbers))


def _bare_chunk(numbers: list[str]) -> int:
    return bare([(number, "US") for number in numbers])


def normalisation_ceiling(numbers: list[str]) -> float:
    cores = os.cpu_count() or 1
    chunks = [numbers[i::cores] for i in range(cores)]
    with multiprocessing.get_context("forkserver").Pool(cores) as pool:
        pool.map(_bare_chunk, [c[:100] for c in chunks])  # start the workers first
        start = time.perf_counter()
        pool.map(_bare_chunk, chunks)
        return len(numbers) / (time.perf_counter() - start)


async def database_ceiling(url: str, account_id: int, numbers: list[str]) -> tuple[float, float]:
    """D in rows/s, and the CPU seconds its PostgreSQL spent a row (beside the import's)."""
    keyed = {}
    for text in numbers:
        try:
            row, _ = services.prepare(services.SubscriberInput(number=text), "US", False)
        except PhoneNumberError:
            continue
        keyed.setdefault(row.key["e164_number"], row)
    pool = await asyncpg.create_pool(asyncpg_dsn(url), min_size=2, max_size=2)
    server = postmaster(url)
    used = postgres_cpu(server)
    start = time.perf_counter()
    for chunk in batches(list(keyed.values()), 1000):
        arrays = [[row.key[c] for row in chunk] for c in COLUMNS]
        async with pool.acquire() as conn, conn.transaction():
            await conn.fetch(BARE_SQL, account_id, *arrays)
    seconds = time.perf_counter() - start
    used = postgres_cpu(server) - used
    await pool.close()
    return len(numbers) / seconds, used / len(numbers)  # per input row, as the import counts


async def prepare(url: str) -> tuple[str, int]:
    engine = db.create_engine(url, pool_size=1)
    await db.migrate(engine)
    async with engine.begin() as conn:
        account = await services.create_account(conn, "import-bench", "US")
        key = await auth.create_key(conn, account.id, "write")
        ceiling = await services.create_account(conn, "ceiling", "US")
    await engine.dispose()
    return key.secret, ceiling.id


async def another_key(url: str, name: str) -> str:
    """A write key of a new, empty account: each import run starts from an empty store."""
    engine = db.create_engine(url, pool_size=1)
    async with engine.begin() as conn:
        account = await services.create_account(conn, name, "US")
        key = await auth.create_key(conn, account.id, "write")
    await engine.dispose()
    return key.secret


@dataclass
class Run:
    seconds: float
    peak: int  # the client's RSS, bytes
    latencies: list[float]  # the probe's, ms (none when it ran alone)
    cpu: dict[str, float]  # seconds by process kind
    said: str  # the client's summary line
    yields: int  # "yielding to interactive requests" lines on its stderr


async def import_run(command: list[str], env, url: str, server_pid: int, probed: bool) -> Run:
    """One import, with the lookup probe alongside or alone."""
    database = postmaster(env["SUBSTORE_DATABASE_URL"])
    before = cpu_by_process(server_pid, None, database)
    stop = asyncio.Event()
    number, token = "+12015550123", env["SUBSTORE_TOKEN"]
    prober = asyncio.create_task(probe(url, token, number, stop)) if probed else None
    start = time.perf_counter()
    proc = await asyncio.create_subprocess_exec(
        *command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    watched, peak, client_cpu = psutil.Process(proc.pid), 0, 0.0
    while proc.returncode is None:
        # Only the client's own figures: walking every process here (as cpu_by_process
        # does) every 50 ms held up this loop, and so the probe's lookups, by ~10 ms.
        with contextlib.suppress(psutil.NoSuchProcess):
            peak = max(peak, watched.memory_info().rss)
            times = watched.cpu_times()
            client_cpu = times.user + times.system
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(proc.wait(), 0.05)
    seconds = time.perf_counter() - start
    after = cpu_by_process(server_pid, None, database)
    cpu = {name: after[name] - before[name] for name in after} | {"client": client_cpu}
    stop.set()
    latencies = await prober if prober is not None else []
    said = (await proc.stdout.read()).decode().strip()
    told = (await proc.stderr.read()).decode()
    return Run(seconds, peak, latencies, cpu, said, told.count("yielding to interactive"))


def import_command(path: Path, endpoint: str, args: argparse.Namespace, tmp: str) -> list[str]:
    command = [sys.executable, "-m", "substore.cli", "import", str(path), "--url", endpoint]
    command += ["--map", "firstName=first_name", "--concurrency", str(args.concurrency)]
    command += ["--rejects", str(Path(tmp) / "rejects.csv")]
    return command + (["--batch-size", str(args.batch_size)] if args.batch_size else [])


def report(name: str, count: int, run: Run, pipeline: float) -> None:
    rate = count / run.seconds
    print(f"{name}: {rate:>9,.0f} rows/s, {rate / pipeline:.2f} of the pipeline (aim >= 0.70)")
    print(f"  client said: {run.said}")
    per_row = ", ".join(f"{k} {v / count * 1e6:.1f}" for k, v in run.cpu.items())
    used = sum(run.cpu.values())
    print(f"  CPU per row (us): {per_row}; {used:.1f}s of {run.seconds * CORES:.1f}s")
    print(f"  client peak memory (RSS): {run.peak / 2**20:.0f} MiB")


CORES = os.cpu_count() or 1
SETTLE_SECONDS = 3.0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--million", action="store_true")
    parser.add_argument("--concurrency", type=int, default=DEFAULT_CONCURRENCY)
    parser.add_argument("--workers", type=int, help="SUBSTORE_NORMALIZE_WORKERS for the server")
    parser.add_argument("--batch-size", type=int, help="the client's --batch-size")
    parser.add_argument("--rounds", type=int, default=1, help="pairs of runs: alone, probed")
    args = parser.parse_args()
    count = 1_000_000 if args.million else args.rows
    numbers = make_rows(count)
    runs: list[tuple[Run, Run]] = []
    with database_url() as url, tempfile.TemporaryDirectory() as tmp:
        key, ceiling_account = asyncio.run(prepare(url))
        path = Path(tmp) / "crm.csv"
        write_csv(path, numbers)
        port = free_port()
        endpoint = f"http://127.0.0.1:{port}/graphql"
        # The default rate limits: imports have their own bucket (web/caller.py).
        env = {**os.environ, "SUBSTORE_DATABASE_URL": url, "SUBSTORE_TOKEN": key}
        if args.workers is not None:
            env["SUBSTORE_NORMALIZE_WORKERS"] = str(args.workers)
        server = subprocess.Popen(
            [sys.executable, "-m", "substore.cli", "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        command = import_command(path, endpoint, args, tmp)
        try:
            wait_healthy(f"http://127.0.0.1:{port}/healthz")
            idle = asyncio.run(idle_latencies(endpoint, key))
            for round_ in range(args.rounds):
                pair = []
                for probed in (False, True):
                    # The server tells a batch of the interactive waits of the last second
                    # or two (web/interactive.py): a run starts once the lookups before
                    # it are that far behind, so that "alone" is alone.
                    time.sleep(SETTLE_SECONDS)
                    fresh = asyncio.run(another_key(url, f"import-{round_}-{probed}"))
                    run_env = {**env, "SUBSTORE_TOKEN": fresh}
                    pair.append(
                        asyncio.run(import_run(command, run_env, endpoint, server.pid, probed))
                    )
                runs.append((pair[0], pair[1]))
        finally:
            server.terminate()
            server.wait(timeout=30)
        ceiling = normalisation_ceiling(numbers)
        database, bare_postgres = asyncio.run(database_ceiling(url, ceiling_account, numbers))
    pipeline = 1 / (1 / ceiling + 1 / database)
    print(json.dumps({"rows": count, "rounds": args.rounds}))
    print(
        f"N normalisation ceiling    : {ceiling:>9,.0f} rows/s (bare phonenumbers, {CORES} cores)"
    )
    print(f"D database ceiling         : {database:>9,.0f} rows/s (bare asyncpg unnest upsert)")
    print(f"  its PostgreSQL's CPU per row: {bare_postgres * 1e6:.1f} us")
    print(f"pipeline ceiling 1/(1/N+1/D): {pipeline:>8,.0f} rows/s (both jobs on the same cores)")
    print(f"lookup while idle          : {summary(idle)}")
    for alone, probed in runs:
        report("import alone              ", count, alone, pipeline)
        report("import with the 50 ms probe", count, probed, pipeline)
        print(f"  yielded {probed.yields} times; lookups during it: {summary(probed.latencies)}")
        print(f"  {held(idle, probed.latencies)}")


if __name__ == "__main__":
    main()
