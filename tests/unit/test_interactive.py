"""web/interactive: how long interactive requests waited behind other work, by operation."""

from __future__ import annotations

import pytest

from substore.web.interactive import Interactive

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
