"""substore.db: reaching PostgreSQL, and failing in one clear line when it cannot."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text
from tests.support import SCANS, SEEKS, empty_store, fill, lookup_plan

from substore import db
from substore.config import Settings
from substore.errors import ConfigError


def substore(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "substore.cli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=120,
    )


async def test_unreachable_url_is_a_config_error():
    settings = Settings(database_url="postgresql://u:secret@127.0.0.1:1/none")
    with pytest.raises(ConfigError, match=r"cannot reach PostgreSQL .*u:\*\*\*@"):
        await db.open_engine(settings)


def test_unwritable_data_dir_is_one_line(tmp_path: Path):
    blocked = tmp_path / "file"
    blocked.write_text("not a directory")
    done = substore("migrate", SUBSTORE_DATA_DIR=str(blocked / "data"))
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1
    assert "cannot be created" in done.stderr


def test_unreachable_url_is_one_line():
    done = substore("migrate", SUBSTORE_DATABASE_URL="postgresql://u:pw@127.0.0.1:1/x")
    assert (done.returncode, done.stderr.count("\n")) == (2, 1)
    assert "pw" not in done.stderr


def test_bad_setting_is_one_line():
    done = substore("migrate", SUBSTORE_DATABASE_URL="sqlite:///x.db")
    assert done.returncode == 2
    assert done.stderr.startswith("substore: error: bad setting: SUBSTORE_DATABASE_URL")


def test_two_processes_share_one_embedded_data_dir(tmp_path: Path):
    env = {**os.environ, "SUBSTORE_DATA_DIR": str(tmp_path)}
    env.pop("SUBSTORE_DATABASE_URL", None)
    command = [sys.executable, "-m", "substore.cli", "migrate"]
    procs = [
        subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    errors = [p.communicate(timeout=120)[1].decode() for p in procs]
    log = tmp_path / "pgdata" / "log"
    assert [p.returncode for p in procs] == [0, 0], (errors, log.exists() and log.read_text())
    # Starting again on the same data dir is idempotent.
    assert substore("migrate", SUBSTORE_DATA_DIR=str(tmp_path)).returncode == 0


async def test_a_pooled_connection_plans_again_for_a_table_that_has_grown(server_url, monkeypatch):
    """As readers do (test_readers.py), a connection from the pool drops plans made for
    a table that was empty when it is next checked out, a second later at the earliest."""
    async with empty_store(server_url) as (engine, account_id):
        async with engine.connect() as conn:
            assert SCANS in await lookup_plan(conn, account_id)
        await fill(engine, account_id, 20_000)
        async with engine.connect() as conn:  # the same connection (pool of one)
            assert SCANS in await lookup_plan(conn, account_id)  # within the second
        monkeypatch.setattr(db, "PLAN_MAX_AGE_SECONDS", 0.0)
        async with engine.connect() as conn:
            assert SEEKS in await lookup_plan(conn, account_id)


async def test_a_pooled_connection_whose_backend_died_is_replaced_at_checkout(
    server_url, monkeypatch
):
    """Dropping plans at checkout meets a connection whose server went away first: the pool
    connects anew instead of failing the request (it failed with a 500 when it did)."""
    async with empty_store(server_url) as (engine, _):
        async with engine.connect() as conn:
            pid = await conn.scalar(text("SELECT pg_backend_pid()"))
        killer = db.create_engine(engine.url.render_as_string(hide_password=False), pool_size=1)
        async with killer.connect() as conn:
            await conn.execute(text("SELECT pg_terminate_backend(CAST(:p AS integer))"), {"p": pid})
        await killer.dispose()
        await asyncio.sleep(0.2)  # the closed socket reaches the client
        monkeypatch.setattr(db, "PLAN_MAX_AGE_SECONDS", 0.0)
        async with engine.connect() as conn:
            assert await conn.scalar(text("SELECT pg_backend_pid()")) != pid
