"""Where a server runs CPU-bound work (normalising an import): off the event loop.

A process pool gives real parallelism (phonenumbers is pure Python and holds the GIL);
with `workers=0` the work runs in a thread instead, which only keeps the loop responsive.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor
from typing import Any


class CpuPool:
    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._executor: Executor | None = None

    def _pool(self) -> Executor | None:
        if self.workers > 0 and self._executor is None:
            # forkserver: children start clean, without the server's sockets and threads.
            context = multiprocessing.get_context("forkserver")
            self._executor = ProcessPoolExecutor(self.workers, mp_context=context)
        return self._executor

    async def run(self, function: Callable[..., Any], *args: Any) -> Any:
        pool = self._pool()
        if pool is None:
            return await asyncio.to_thread(function, *args)
        return await asyncio.get_running_loop().run_in_executor(pool, function, *args)

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None
