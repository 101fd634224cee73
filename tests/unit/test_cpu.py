"""substore.cpu: where an import's normalising runs, and that it yields to requests."""

from __future__ import annotations

import os

import pytest

from substore.cpu import CpuPool

pytestmark = pytest.mark.skipif(not hasattr(os, "SCHED_IDLE"), reason="Linux scheduling")


async def test_normalisers_run_only_when_no_request_needs_the_cpu():
    pool = CpuPool(1)
    try:
        policy = await pool.run(os.sched_getscheduler, 0)
    finally:
        pool.close()
    assert policy == os.SCHED_IDLE
    assert os.sched_getscheduler(0) != os.SCHED_IDLE  # the server itself is not demoted
