"""importer/pacing: lanes halve while the server's interactive requests wait and come back
one at a time while they do not; never below one, never above --concurrency."""

from __future__ import annotations

import asyncio

from substore.importer.pacing import (
    GROW_SECONDS,
    HIGH_MS,
    LOW_MS,
    SHRINK_SECONDS,
    Controller,
    Pacing,
    delay_of,
)

BUSY, CALM = HIGH_MS + 1, LOW_MS / 2


def test_busy_answers_halve_the_lanes_down_to_one_and_no_further():
    control, now, seen = Controller(8), 0.0, []
    for _ in range(10):
        now += SHRINK_SECONDS
        control.observe(BUSY, now)
        seen.append(control.limit)
    assert seen[:4] == [4, 2, 1, 1]
    assert min(seen) == 1 and control.fewest == 1
    assert control.yields == 3  # 8 -> 4 -> 2 -> 1


def test_answers_in_flight_cut_once():
    control = Controller(8)
    assert control.observe(BUSY, 10.0) == (8, 4)
    # The batches sent before the cut answer for the old load: no second cut yet.
    assert control.observe(BUSY, 10.0 + SHRINK_SECONDS / 2) is None
    assert control.limit == 4


def test_calm_answers_add_one_lane_a_period_up_to_the_most():
    control, now = Controller(4), 0.0
    control.observe(BUSY, now)
    control.observe(BUSY, now := now + SHRINK_SECONDS)
    assert control.limit == 1
    limits = []
    for _ in range(20):
        now += GROW_SECONDS / 4
        control.observe(CALM, now)
        limits.append(control.limit)
    assert limits == sorted(limits)  # only up
    assert limits[2] == 1 and limits[3] == 2  # one lane after a calm period
    assert max(limits) == 4 and limits[-1] == 4  # and never past --concurrency


def test_a_delay_between_the_thresholds_holds_the_lanes_where_they_are():
    control = Controller(4)
    control.observe(BUSY, 0.0)
    for step in range(1, 10):
        assert control.observe((LOW_MS + HIGH_MS) / 2, step * GROW_SECONDS) is None
    assert control.limit == 2


def test_a_server_that_says_nothing_is_never_yielded_to():
    control = Controller(4)
    for step in range(10):
        assert control.observe(None, step * 1.0) is None
    assert control.limit == 4 and control.yields == 0


def test_one_lane_stays_one_lane_and_rests_while_busy():
    control = Controller(1)
    assert control.observe(BUSY, 5.0) == (1, 0)
    assert control.observe(CALM, 50.0) is None
    assert control.limit == 1 and control.yields == 0 and not control.resting


def test_the_header_is_read_as_milliseconds():
    assert delay_of({"substore-interactive-delay": "7.5"}) == 7.5
    assert delay_of({"substore-interactive-delay": "soon"}) is None
    assert delay_of({}) is None


async def test_only_as_many_batches_as_the_limit_are_in_flight():
    changes: list[tuple[int, int]] = []
    pacing = Pacing(4, lambda old, new: changes.append((old, new)))
    pacing.heard({"substore-interactive-delay": str(BUSY)}, 1.0)
    pacing.heard({"substore-interactive-delay": str(BUSY)}, 1.0 + SHRINK_SECONDS)
    assert changes == [(4, 2), (2, 1)]
    most = 0

    async def batch() -> None:
        nonlocal most
        async with pacing.slot():
            most = max(most, pacing.busy)
            await asyncio.sleep(0)

    await asyncio.gather(*(batch() for _ in range(6)))
    assert most == 1
    pacing.heard({"substore-interactive-delay": "0"}, 1.0 + SHRINK_SECONDS + GROW_SECONDS)
    pacing.finish(10.0)
    assert changes[-1] == (1, 2)
    assert pacing.below_seconds == 10.0 - 1.0  # below 4 lanes from the first cut to the end


def test_at_one_lane_a_busy_answer_rests_the_lane_until_one_is_not_busy():
    control, now = Controller(2), 0.0
    control.observe(BUSY, now)
    assert control.limit == 1 and not control.resting
    now += SHRINK_SECONDS
    assert control.observe(BUSY, now) == (1, 0)
    assert control.resting and control.rests == 1
    now += SHRINK_SECONDS
    assert control.observe(BUSY, now) is None  # told once
    control.observe((LOW_MS + HIGH_MS) / 2, now + 0.1)  # not busy, not calm
    assert not control.resting and control.limit == 1


async def test_a_resting_lane_holds_its_slot_as_long_again_as_its_batch_took():
    pacing = Pacing(1)
    pacing.controller.resting = True
    loop = asyncio.get_running_loop()
    started = loop.time()
    async with pacing.slot():
        await asyncio.sleep(0.05)
    assert loop.time() - started >= 0.1
    pacing.controller.resting = False
    started = loop.time()
    async with pacing.slot():
        await asyncio.sleep(0.05)
    assert loop.time() - started < 0.1
