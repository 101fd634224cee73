"""`substore serve` leaves nothing running and nothing on disk, however it ends: not the
embedded PostgreSQL it started (nor one its watchdog started again), not its workers'
metrics directory, not its reaper; a PostgreSQL another substore process still uses is
left running."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest
from tests.support import (
    eventually,
    free_port,
    postmaster_pid,
    running,
    stop_postgres,
    wait_until_healthy,
)


@dataclass
class Served:
    proc: subprocess.Popen
    data_dir: Path
    tmp: Path  # serve's TMPDIR, where it makes its metrics directory
    url: str

    def postmaster(self) -> int | None:
        return postmaster_pid(self.data_dir)

    def metrics_dirs(self) -> list[Path]:
        return list(self.tmp.glob("*-substore-metrics"))

    def reaper(self) -> psutil.Process:
        [found] = [
            child
            for child in psutil.Process(self.proc.pid).children()
            if "substore.reaper" in " ".join(child.cmdline())
        ]
        return found

    def end(self, how: signal.Signals) -> None:
        self.proc.send_signal(how)
        self.proc.wait(timeout=30)


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., Served]]:
    """Starts `substore serve` on its embedded PostgreSQL; whatever a failing test leaves
    running is stopped afterwards."""
    started: list[Served] = []

    def start(workers: int, data_dir: Path | None = None) -> Served:
        port = free_port()
        tmp = tmp_path / f"tmp-{port}"
        tmp.mkdir()
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("SUBSTORE_DATABASE_URL", "PROMETHEUS_MULTIPROC_DIR")
        }
        env |= {
            "SUBSTORE_DATA_DIR": str(data_dir or tmp_path / "data"),
            "SUBSTORE_WORKERS": str(workers),
            "SUBSTORE_NORMALIZE_WORKERS": "0",  # not what these tests are about: start faster
            "TMPDIR": str(tmp),
        }
        with (tmp_path / f"serve-{port}.log").open("w") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "substore.cli", "serve", "--port", str(port)],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=log,
            )
        served = Served(proc, Path(env["SUBSTORE_DATA_DIR"]), tmp, f"http://127.0.0.1:{port}")
        started.append(served)
        wait_until_healthy(f"{served.url}/healthz", seconds=60)
        return served

    yield start
    for served in started:
        if served.proc.poll() is None:
            served.proc.kill()
            served.proc.wait()
        stop_postgres(served.data_dir)


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_stopping_serve_stops_its_postgresql_and_removes_its_metrics(serve, workers, how):
    served = serve(workers)
    postmaster, reaper = served.postmaster(), served.reaper()
    assert running(postmaster)
    assert len(served.metrics_dirs()) == (0 if workers == 1 else 1)
    served.end(how)
    assert not running(postmaster)  # by the time serve has exited, not later
    assert served.metrics_dirs() == []
    assert eventually(lambda: not running(reaper.pid))


@pytest.mark.parametrize("workers", [1, 2])
def test_killing_serve_stops_its_postgresql_and_removes_its_metrics(serve, workers):
    served = serve(workers)
    postmaster, reaper = served.postmaster(), served.reaper()
    served.end(signal.SIGKILL)
    assert eventually(lambda: not running(postmaster))
    assert eventually(lambda: served.metrics_dirs() == [])
    assert eventually(lambda: not running(reaper.pid))


@pytest.mark.parametrize("workers", [1, 2])
def test_a_postgresql_the_watchdog_started_again_is_stopped_with_serve(serve, workers):
    served = serve(workers)
    first = served.postmaster()
    os.kill(first, signal.SIGKILL)
    assert eventually(lambda: served.postmaster() not in (None, first))
    wait_until_healthy(f"{served.url}/healthz", seconds=15)
    again = served.postmaster()
    assert running(again)
    served.end(signal.SIGTERM)
    assert not running(again)
    assert served.metrics_dirs() == []


def test_a_killed_serve_leaves_running_a_postgresql_another_serve_uses(serve, tmp_path):
    first = serve(2, tmp_path / "shared")
    second = serve(1, tmp_path / "shared")  # joins the first one's PostgreSQL
    postmaster, reaper = first.postmaster(), second.reaper()
    assert second.postmaster() == postmaster
    second.end(signal.SIGKILL)
    assert eventually(lambda: not running(reaper.pid))  # it has done what it would
    assert running(postmaster)
    wait_until_healthy(f"{first.url}/healthz", seconds=2)
    first.end(signal.SIGTERM)  # the last one out
    assert not running(postmaster)
