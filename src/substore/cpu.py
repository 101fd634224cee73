"""Where a server runs CPU-bound work (normalising an import): off the event loop.

A process pool gives real parallelism (phonenumbers is pure Python and holds the GIL);
with `workers=0` the work runs in a thread instead, which only keeps the loop responsive.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import multiprocessing
import os
import select
import threading
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor
from typing import Any


class CpuPool:
    def __init__(self, workers: int, warm_up: Callable[[], Any] | None = None) -> None:
        self.workers = workers
        self.warm_up = warm_up  # what every process loads before its first job
        self._executor: Executor | None = None

    def _pool(self) -> Executor | None:
        if self.workers > 0 and self._executor is None:
            # forkserver: children start clean, without the server's sockets and threads.
            context = multiprocessing.get_context("forkserver")
            self._executor = ProcessPoolExecutor(
                self.workers,
                mp_context=context,
                initializer=_start_worker,
                initargs=(os.getpid(), self.warm_up),
            )
        return self._executor

    def start(self) -> None:
        """Start every process now (each runs `warm_up` as it starts).

        Blocking; a server calls it before it serves. Left to the first import, starting
        the forkserver and a process held that worker's event loop (and every lookup on
        it) for over 100 ms.
        """
        pool = self._pool()
        if pool is not None:
            for done in [pool.submit(os.getpid) for _ in range(self.workers)]:
                done.result()

    async def run(self, function: Callable[..., Any], *args: Any) -> Any:
        pool = self._pool()
        if pool is None:
            return await asyncio.to_thread(function, *args)
        return await asyncio.get_running_loop().run_in_executor(pool, function, *args)

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None


def _start_worker(server_pid: int, warm_up: Callable[[], Any] | None) -> None:
    exit_with(server_pid)
    yield_to_requests()
    if warm_up is not None:
        warm_up()
    # What start-up loaded lives as long as the process: out of the collector's way, as in
    # the server's workers: the collector's full passes had walked all of it, row after row.
    gc.collect()
    gc.freeze()


def yield_to_requests() -> None:
    """Run this process only when no request needs the CPU (Linux's SCHED_IDLE).

    Normalising an import is bulk work that competes with every lookup on a small
    machine; at SCHED_IDLE a waking request preempts it at once. With the two cores
    saturated by a 100k import a lookup took p50 5.6-6.6 ms, and 3.5-4.2 ms with the
    normalisers idle-scheduled; the import's rows/s did not change (bench/import.py).
    """
    if hasattr(os, "SCHED_IDLE"):  # Linux; elsewhere the normalisers run as they are
        with contextlib.suppress(OSError):
            os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))


def exit_with(server_pid: int) -> None:
    """In a worker: end this process as soon as the server process ends, however it ends.

    A worker waits on a queue whose other end it holds itself, so it never sees the
    server go; after a kill -9 the workers stayed behind. A pidfd becomes readable when
    the process it names exits.
    """

    def watch() -> None:
        try:
            fd = os.pidfd_open(server_pid)
        except OSError:  # already gone (or no pidfd on this kernel: poll instead)
            fd = None
        if fd is not None:
            select.select([fd], [], [])
        else:
            while _alive(server_pid):
                threading.Event().wait(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="exit-with-server", daemon=True).start()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
