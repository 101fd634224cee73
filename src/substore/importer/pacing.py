"""How many lanes may have a batch in flight: fewer while the server's interactive
requests wait, as many as --concurrency while they do not.

The server answers each batch with `Substore-Interactive-Delay`: the worst time (ms) its
interactive requests lately spent waiting behind other work (web/interactive.py). The
controller is AIMD on that signal, as TCP Vegas reads queueing delay: above HIGH_MS the
lanes allowed halve (at most once per SHRINK_SECONDS, since the batches already in
flight answer for the old load), never below one; after GROW_SECONDS of answers at or
below LOW_MS one more lane may send, never more than --concurrency. Below one lane, half
a lane: while answers at one lane still say busy, the lane rests as long as each batch
took before it sends the next, until an answer is no longer busy. Lanes keep their rows
(the same number always travels in the same lane); only how many send at once changes.
A server that sends no such header is never yielded to.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field

DELAY_HEADER = "substore-interactive-delay"  # web/interactive.py's, as httpx reads it
HIGH_MS = 5.0  # half the lookup bar's allowance (p99 within idle + 10 ms)
LOW_MS = 2.0
SHRINK_SECONDS = 0.5
GROW_SECONDS = 1.0

# Told (old lanes, new lanes) each time the limit moves.
OnChange = Callable[[int, int], None]


@dataclass
class Controller:
    """The lanes allowed to send, from the delays the server reports (module docstring)."""

    most: int
    limit: int = field(init=False)
    fewest: int = field(init=False)  # the lowest the limit went
    yields: int = 0  # times the limit was halved
    resting: bool = False  # at one lane and still busy: rest between batches
    rests: int = 0  # times it began to rest
    _calm_since: float = 0.0
    _last_cut: float = float("-inf")

    def __post_init__(self) -> None:
        self.limit = self.fewest = self.most

    def observe(self, delay_ms: float | None, now: float) -> tuple[int, int] | None:
        """One answer's delay (None: the server does not say); (old, new) if the limit moved."""
        if delay_ms is None:
            return None
        if delay_ms <= HIGH_MS:
            self.resting = False  # not busy now: a whole lane again
        if delay_ms > LOW_MS:
            self._calm_since = now
            if delay_ms > HIGH_MS and now - self._last_cut >= SHRINK_SECONDS:
                if self.limit > 1:
                    return self._move(max(1, self.limit // 2), now)
                if not self.resting:
                    self.resting, self.rests, self._last_cut = True, self.rests + 1, now
                    return 1, 0  # told as (1 lane, 0): half a lane
            return None
        if self.limit < self.most and now - self._calm_since >= GROW_SECONDS:
            self._calm_since = now
            return self._move(self.limit + 1, now)
        return None

    def _move(self, limit: int, now: float) -> tuple[int, int]:
        old, self.limit = self.limit, limit
        if limit < old:
            self.yields += 1
            self._last_cut = now
            self.fewest = min(self.fewest, limit)
        return old, limit


def delay_of(headers: Mapping[str, str] | None) -> float | None:
    """The header's milliseconds, or None when it is missing or not a number."""
    value = (headers or {}).get(DELAY_HEADER)
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


class Pacing:
    """A semaphore whose size is the controller's limit: a lane holds a slot per batch."""

    def __init__(self, most: int, on_change: OnChange | None = None) -> None:
        self.controller = Controller(most)
        self.on_change = on_change or (lambda old, new: None)
        self.busy = 0
        self.below_seconds = 0.0  # time spent with fewer lanes than --concurrency
        self._below_since: float | None = None
        self._turn = asyncio.Condition()

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        async with self._turn:
            await self._turn.wait_for(lambda: self.busy < self.controller.limit)
            self.busy += 1
        started = time.monotonic()
        try:
            yield
            if self.controller.resting:  # the slot is held meanwhile: half a lane
                await asyncio.sleep(time.monotonic() - started)
        finally:
            async with self._turn:
                self.busy -= 1
                self._turn.notify_all()

    def heard(self, headers: Mapping[str, str], now: float) -> None:
        """A batch's answer: its delay may move the limit (waiters see it at the next turn)."""
        moved = self.controller.observe(delay_of(headers), now)
        if moved is None:
            return
        old, new = moved
        if new < self.controller.most and self._below_since is None:
            self._below_since = now
        elif new == self.controller.most and self._below_since is not None:
            self.below_seconds += now - self._below_since
            self._below_since = None
        self.on_change(old, new)

    def finish(self, now: float) -> None:
        if self._below_since is not None:
            self.below_seconds += now - self._below_since
            self._below_since = None
