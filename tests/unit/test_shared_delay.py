"""web/shared_delay: a batch's process tells the waits another process's lookups had."""

from __future__ import annotations

from substore.web.shared_delay import CHECK_SECONDS, FRESH_SECONDS, IMPORT_SECONDS, SharedDelay


def test_a_delay_said_by_one_process_reaches_another_while_fresh(tmp_path):
    lookups, batches = SharedDelay(tmp_path, "lookups"), SharedDelay(tmp_path, "batches")
    lookups.publish(0.008, 100.0)
    assert batches.worst(100.5) == 0.008
    assert batches.worst(100.0 + FRESH_SECONDS + 0.1) == 0.0  # no longer "lately"


def test_a_batch_anywhere_makes_every_process_watch_its_loop(tmp_path):
    lookups, batches = SharedDelay(tmp_path, "lookups"), SharedDelay(tmp_path, "batches")
    assert not lookups.anyone_importing(10.0)
    batches.importing(10.0)
    assert lookups.anyone_importing(10.0 + 2 * CHECK_SECONDS)
    assert not lookups.anyone_importing(10.0 + IMPORT_SECONDS + CHECK_SECONDS)


def test_alone_a_process_knows_only_its_own(tmp_path):
    alone = SharedDelay(None)
    alone.publish(0.004, 1.0)
    assert alone.worst(1.5) == 0.004
    assert not alone.anyone_importing(1.5)
    assert list(tmp_path.iterdir()) == []
