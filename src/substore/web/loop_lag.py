"""How late this process's event loop runs what is due: how long a request arriving now
would wait before the app reads it (toobusy-js's lag, Node's monitorEventLoopDelay).

A request's time in the app does not see that wait: the process was busy with an import
batch's steps, or waited for a core behind PostgreSQL and the normalisers. A timer every
INTERVAL measures it while import batches arrive (and for KEEP_SECONDS after), and the
worst lateness of the last window or two joins the delay told to import batches
(web/interactive.py). Nothing runs while no import does.
"""

from __future__ import annotations

import asyncio
import time

INTERVAL = 0.005
KEEP_SECONDS = 3.0


class LoopLag:
    def __init__(self, window: float = 1.0) -> None:
        self.window = window
        self._task: asyncio.Task[None] | None = None
        self._until = 0.0
        self._worst = 0.0  # this window's worst lateness, in seconds
        self._previous = 0.0
        self._started = 0.0

    def watch(self, now: float) -> None:
        """Measure from now until KEEP_SECONDS after the last call (an import batch's)."""
        self._until = now + KEEP_SECONDS
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._measure())

    def lag(self, now: float) -> float:
        """The worst lateness (seconds) of this window and the last."""
        self._roll(now)
        return max(self._worst, self._previous)

    def note(self, late: float, now: float) -> None:
        self._roll(now)
        self._worst = max(self._worst, late)

    async def _measure(self) -> None:
        while time.perf_counter() < self._until:
            due = time.perf_counter() + INTERVAL
            await asyncio.sleep(INTERVAL)
            now = time.perf_counter()
            self.note(max(0.0, now - due), now)

    def _roll(self, now: float) -> None:
        elapsed = now - self._started
        if elapsed >= self.window:
            self._previous = self._worst if elapsed < 2 * self.window else 0.0
            self._worst, self._started = 0.0, now
