"""web/interactive: how long interactive requests waited behind other work, by operation."""

from __future__ import annotations

import time

import pytest
from starlette.responses import Response

from substore.web.interactive import DELAY_HEADER, Interactive
from substore.web.shared_delay import SharedDelay

MS = 0.001


def test_a_request_at_its_operations_usual_time_waited_nothing():
    tracker = Interactive()
    for step in range(20):
        tracker.record("Lookup", 1 * MS, step * 0.01)
    assert tracker.delay(0.2) == 0.0


def test_the_excess_over_the_fastest_recent_time_is_the_wait():
    tracker = Interactive()
    tracker.record("Lookup", 1 * MS, 0.0)
    tracker.record("Lookup", 9 * MS, 0.1)
    assert tracker.delay(0.2) == pytest.approx(8 * MS)


def test_each_operation_has_its_own_base():
    tracker = Interactive()
    tracker.record("Page", 20 * MS, 0.0)  # a slow operation is not a waiting one
    tracker.record("Lookup", 1 * MS, 0.0)
    tracker.record("Page", 21 * MS, 0.1)
    tracker.record("Lookup", 1 * MS, 0.1)
    assert tracker.delay(0.2) == pytest.approx(1 * MS)


def test_a_wait_is_told_for_a_window_or_two_then_forgotten():
    tracker = Interactive(window=1.0)
    tracker.record("Lookup", 1 * MS, 0.0)
    tracker.record("Lookup", 6 * MS, 1.5)
    assert tracker.delay(2.0) == pytest.approx(5 * MS)
    assert tracker.delay(2.6) == pytest.approx(5 * MS)  # the window before's
    assert tracker.delay(4.0) == 0.0


def test_a_base_is_the_fastest_time_of_the_last_ten_to_twenty_seconds():
    tracker = Interactive()
    tracker.record("Lookup", 1 * MS, 0.0)
    for step in range(1, 16):  # the table grew: every lookup now takes 3 ms
        tracker.record("Lookup", 3 * MS, step * 1.0)
    assert tracker.base("Lookup") == pytest.approx(1 * MS)  # a busy spell is not a new base
    for step in range(16, 25):
        tracker.record("Lookup", 3 * MS, step * 1.0)
    assert tracker.base("Lookup") == pytest.approx(3 * MS)
    assert tracker.base("Page") is None


async def test_a_batch_hears_of_lookups_another_process_answered(tmp_path):
    """The lookups' process and the batches' process are told apart by their files."""
    lookups = Interactive(shared=SharedDelay(tmp_path, "lookups"))
    batches = Interactive(shared=SharedDelay(tmp_path, "batches"))
    batches.answered(Response(), {}, 0.0, batch=True)  # an import runs in that process
    now = time.perf_counter()
    lookups.record("Lookup", 1 * MS, now)
    lookups.record("Lookup", 9 * MS, now + 0.01)
    answer = Response()
    batches.answered(answer, {}, now, batch=True)
    assert float(answer.headers[DELAY_HEADER]) == pytest.approx(8.0, abs=0.5)
