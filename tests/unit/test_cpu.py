"""substore.cpu: where an import's normalising runs, and that it yields to requests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from substore.cpu import CpuPool
from substore.priority import LOWEST, niceness

pytestmark = pytest.mark.skipif(not hasattr(os, "SCHED_IDLE"), reason="Linux scheduling")

AUTOGROUP = Path("/proc/self/autogroup").exists()  # the kernel shares CPU between sessions


def how_it_runs() -> tuple[int, bool, tuple[int, int | None]]:
    """In a normaliser: its scheduling policy, whether it leads a session, its nice."""
    pid = os.getpid()
    return os.sched_getscheduler(0), os.getsid(0) == pid, niceness(pid)


async def test_normalisers_run_only_when_no_request_needs_the_cpu():
    before = niceness(os.getpid())
    pool = CpuPool(1)
    try:
        policy, own_session, nice = await pool.run(how_it_runs)
    finally:
        pool.close()
    assert policy == os.SCHED_IDLE
    # A session of its own, so that the kernel does not share the server's CPU with it
    # (autogroup scheduling), at the lowest priority.
    assert own_session
    autogroup = LOWEST if AUTOGROUP else None
    assert nice == (LOWEST, autogroup)
    assert os.sched_getscheduler(0) != os.SCHED_IDLE  # the server itself is not demoted
    assert niceness(os.getpid()) == before
