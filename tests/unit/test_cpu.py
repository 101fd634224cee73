"""substore.cpu: where an import's normalising runs, and that it yields to requests."""

from __future__ import annotations

import gc
import os

import phonenumbers
import pytest
from phonenumbers.phonemetadata import PhoneMetadata

from substore import phone
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


async def test_a_normaliser_warms_up_as_it_starts_and_freezes_what_it_loaded():
    pool = CpuPool(1, warm_up=phone.load_metadata)
    try:
        pool.start()
        frozen = await pool.run(gc.get_freeze_count)
        loaded = await pool.run(_regions_loaded)
    finally:
        pool.close()
    assert loaded == len(phonenumbers.SUPPORTED_REGIONS)  # before its first job
    assert frozen > 10_000  # the metadata, out of the collector's way


def _regions_loaded() -> int:
    available = PhoneMetadata._region_available  # None once a region's metadata is loaded
    return sum(1 for region in phonenumbers.SUPPORTED_REGIONS if available[region] is None)
