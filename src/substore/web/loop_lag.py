"""How late this process's event loop runs what is due: how long a request arriving now
would wait before the app reads it (toobusy-js's lag, Node's monitorEventLoopDelay).

A request's time in the app does not see that wait: the process was busy with an import
batch's steps, or waited for a core behind PostgreSQL and the normalisers. A timer every
INTERVAL measures it while interactive requests come during an import (and for
KEEP_SECONDS after), and the worst lateness of the last window or two joins their waits
(web/interactive.py). Nothing runs while no import does.
"""

from __future__ import annotations

import asyncio
import time

from substore.web.recent import RecentWorst

INTERVAL = 0.005
KEEP_SECONDS = 3.0


class LoopLag:
    def __init__(self, window: float = 1.0) -> None:
        self._task: asyncio.Task[None] | None = None
        self._until = 0.0
        self._late = RecentWorst(window)  # seconds

    def watch(self, now: float) -> None:
        """Measure from now until KEEP_SECONDS after the last call (made by interactive
        requests while an import runs)."""
        self._until = now + KEEP_SECONDS
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._measure())

    def lag(self, now: float) -> float:
        """The worst lateness (seconds) of this window and the last."""
        return self._late.worst(now)

    def note(self, late: float, now: float) -> None:
        self._late.note(late, now)

    async def _measure(self) -> None:
        while time.perf_counter() < self._until:
            due = time.perf_counter() + INTERVAL
            await asyncio.sleep(INTERVAL)
            now = time.perf_counter()
            self.note(max(0.0, now - due), now)
