"""web/loop_lag: how late the event loop runs what is due, while it is watched."""

from __future__ import annotations

import asyncio
import time

from substore.web.loop_lag import LoopLag


async def test_a_loop_held_up_is_measured_as_late_by_about_as_long():
    lag = LoopLag()
    lag.watch(time.perf_counter())
    await asyncio.sleep(0.02)  # the timer runs on time
    time.sleep(0.05)  # noqa: ASYNC251 (the process busy: nothing on the loop runs)
    await asyncio.sleep(0.02)
    assert 0.03 <= lag.lag(time.perf_counter()) < 1.0


async def test_nothing_is_measured_unless_watched():
    lag = LoopLag()
    time.sleep(0.03)  # noqa: ASYNC251 (held up, but nobody watches)
    await asyncio.sleep(0.01)
    assert lag.lag(time.perf_counter()) == 0.0
