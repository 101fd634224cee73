"""substore.embedded: the last live process out stops the embedded PostgreSQL, the one
running now; nobody left holding it, a watchdog does not start it again."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support import eventually, postmaster_pid, running, stop_postgres

from substore import embedded


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path
    leave(tmp_path)
    stop_postgres(tmp_path)


def leave(data_dir: Path) -> None:
    """Let go of this test's server only: `embedded.release()` would let go of the test
    run's own database server too (and stop it)."""
    embedded.leave(embedded.pgdata_of(data_dir))


def ended_pid() -> int:
    """The pid of a process that has ended (as a substore process killed with -9 has)."""
    done = subprocess.Popen(["true"])
    done.wait()
    return done.pid


def test_a_holder_that_has_ended_does_not_keep_the_server_running(data_dir):
    embedded.start(data_dir)
    postmaster = postmaster_pid(data_dir)
    holders = data_dir / "pgdata" / ".handle_pids.json"
    holders.write_text(holders.read_text().replace("[", f"[{ended_pid()}, ", 1))
    leave(data_dir)
    assert not running(postmaster)


def test_the_server_stopped_is_the_one_a_watchdog_started_again(data_dir):
    embedded.start(data_dir)
    first = postmaster_pid(data_dir)
    os.kill(first, signal.SIGKILL)
    # The first try may fail while the old server's backends are still exiting.
    assert eventually(lambda: _restarted_without_error())
    again = postmaster_pid(data_dir)
    assert again != first and running(again)
    leave(data_dir)
    assert not running(again)


def test_a_server_nobody_holds_is_not_started_again(data_dir):
    embedded.start(data_dir, hold=False)  # as a serve worker, whose serve has been killed
    first = postmaster_pid(data_dir)
    os.kill(first, signal.SIGKILL)
    assert eventually(lambda: not running(first))
    assert embedded.restart_if_stopped() is False
    assert postmaster_pid(data_dir) == first  # the file a killed server leaves, not a new one


def _restarted_without_error() -> bool:
    try:
        return embedded.restart_if_stopped()
    except Exception:
        return False
