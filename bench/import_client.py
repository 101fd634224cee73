"""CPU seconds per row of the `substore import` client alone, this tree against a baseline.

The client shares its cores with the server, the normalisers and PostgreSQL, so its CPU
per row is what it takes from the pipeline. Same CSV as bench/import.py (phone,first_name,
`--map firstName=first_name`), one `substore serve`; each run imports into a new, empty
account. The baseline is another commit's src/ (`git archive`), and its runs alternate
with this tree's so both see the same machine. CPU is the client's user+system time from
wait4 (start-up included), not wall time: other work on the cores does not count. The
two trees' rejects files are compared byte for byte. The CPU of a 100-row import says
how much of the figure is start-up.
Usage: python bench/import_client.py [--rows 100000] [--runs 3] [--baseline main]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import io
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from lookup import free_port, wait_healthy
from pg import database_url

HERE = Path(__file__).resolve().parent.parent
bench = importlib.import_module("import")  # bench/import.py: a keyword as a name


def baseline_tree(ref: str, into: Path) -> Path:
    """`ref`'s src/ in `into`; the directory to put on PYTHONPATH."""
    archive = subprocess.run(
        ["git", "-C", str(HERE), "archive", ref, "src"], check=True, capture_output=True
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into / "src"


def client_cpu(src: Path, command: list[str], env: dict[str, str]) -> tuple[float, str]:
    """One import by the client in `src`: its CPU seconds and its summary line."""
    run_env = {**env, "PYTHONPATH": str(src)}
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(command, env=run_env, stdout=out, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        said = out.read().decode().strip()
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"the import failed ({proc.returncode}): {said}")
    return usage.ru_utime + usage.ru_stime, said


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3, help="runs of each tree, alternated")
    parser.add_argument("--baseline", default="main", help="a git ref to compare with")
    args = parser.parse_args()
    numbers = bench.make_rows(args.rows)
    with database_url() as url, tempfile.TemporaryDirectory() as tmp:
        key, _ = asyncio.run(bench.prepare(url))
        path, small = Path(tmp) / "crm.csv", Path(tmp) / "small.csv"
        bench.write_csv(path, numbers)
        bench.write_csv(small, numbers[:100])
        trees = {"baseline": baseline_tree(args.baseline, Path(tmp) / "base"), "this": HERE / "src"}
        port = free_port()
        endpoint = f"http://127.0.0.1:{port}/graphql"
        env = {**os.environ, "SUBSTORE_DATABASE_URL": url, "SUBSTORE_TOKEN": key}
        server = subprocess.Popen(
            [sys.executable, "-m", "substore.cli", "serve", "--port", str(port)],
            env={**env, "PYTHONPATH": str(HERE / "src")},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

        def command(csv: Path, rejects: Path) -> list[str]:
            run = [sys.executable, "-m", "substore.cli", "import", str(csv), "--url", endpoint]
            return [*run, "--map", "firstName=first_name", "--rejects", str(rejects)]

        rejects = {name: Path(tmp) / f"rejects-{name}.csv" for name in trees}
        cpu: dict[str, list[float]] = {name: [] for name in trees}
        fixed: dict[str, list[float]] = {name: [] for name in trees}
        try:
            wait_healthy(f"http://127.0.0.1:{port}/healthz")
            for run in range(args.runs):
                for name, src in trees.items():
                    fresh = asyncio.run(bench.another_key(url, f"client-{name}-{run}"))
                    argv = command(path, rejects[name])
                    seconds, said = client_cpu(src, argv, {**env, "SUBSTORE_TOKEN": fresh})
                    cpu[name].append(seconds)
                    print(f"{name:<8} run {run}: {seconds / args.rows * 1e6:5.1f} us/row  ({said})")
                    fresh = asyncio.run(bench.another_key(url, f"small-{name}-{run}"))
                    argv = command(small, Path(tmp) / "small-rejects.csv")
                    fixed[name].append(client_cpu(src, argv, {**env, "SUBSTORE_TOKEN": fresh})[0])
            same = rejects["baseline"].read_bytes() == rejects["this"].read_bytes()
        finally:
            server.terminate()
            server.wait(timeout=30)
    base, this = (statistics.median(cpu[name]) / args.rows * 1e6 for name in trees)
    print(f"rows: {args.rows:,}; median of {args.runs} runs each, alternated")
    start = {name: statistics.median(fixed[name]) for name in trees}
    print(
        f"start-up (a 100-row file): baseline {start['baseline']:.2f} s, "
        f"this tree {start['this']:.2f} s"
    )
    print(f"client CPU per row: baseline ({args.baseline}) {base:.1f} us, this tree {this:.1f} us")
    print(f"ratio this/baseline: {this / base:.2f}  (aim: this <= 9 us)")
    print(f"rejects files byte for byte the same: {'yes' if same else 'NO'}")


if __name__ == "__main__":
    main()
