"""CPU by process for bench/import.py: the import client, `substore serve`'s workers, their
normaliser processes, and the benchmark's own PostgreSQL."""

from __future__ import annotations

import contextlib
from pathlib import Path

import psutil
from sqlalchemy.engine import make_url


def postgres_cpu(server: psutil.Process | None) -> float:
    if server is None:
        return 0.0
    total = 0.0
    for process in (server, *server.children()):
        with contextlib.suppress(psutil.Error):  # a backend that has just ended
            times = process.cpu_times()
            total += times.user + times.system
    return total


def postmaster(url: str) -> psutil.Process | None:
    """The PostgreSQL server of `url`: this benchmark's own, not the other clusters a
    shared machine runs (their CPU had been counted as the import's). An embedded one is
    reached by its socket in its data directory, whose postmaster.pid names it."""
    parsed = make_url(url)
    socket_dir = parsed.query.get("host")
    pid_file = Path(str(socket_dir)) / "postmaster.pid" if socket_dir else None
    if pid_file is not None and pid_file.exists():
        return psutil.Process(int(pid_file.read_text().split()[0]))
    for conn in psutil.net_connections(kind="tcp"):
        if conn.status == psutil.CONN_LISTEN and conn.laddr.port == (parsed.port or 5432):
            return psutil.Process(conn.pid) if conn.pid else None
    return None


def cpu_by_process(
    server_pid: int, client_pid: int | None, database: psutil.Process | None = None
) -> dict[str, float]:
    """CPU seconds used so far by the client, the server, its workers, and PostgreSQL
    (`database` and its backends; every postgres process when it is not known)."""

    def used(process: psutil.Process) -> float:
        with contextlib.suppress(psutil.Error):
            times = process.cpu_times()
            return times.user + times.system
        return 0.0

    server = psutil.Process(server_pid)
    if database is not None:
        postgres = [database, *database.children()]
    else:
        postgres = [p for p in psutil.process_iter(["name"]) if p.info["name"] == "postgres"]
    # serve's workers are its spawned children; the normaliser pools are theirs.
    workers = [server, *(c for c in server.children() if _is_worker(c))]
    pools = [c for c in server.children(recursive=True) if c not in workers]
    return {
        "client": used(psutil.Process(client_pid)) if client_pid else 0.0,
        "server": sum(used(worker) for worker in workers),
        "normaliser": sum(used(child) for child in pools),
        "postgres": sum(used(p) for p in postgres),
    }


def _is_worker(process: psutil.Process) -> bool:
    with contextlib.suppress(psutil.Error):
        command = " ".join(process.cmdline())
        return "spawn_main" in command and "forkserver" not in command
    return False
