"""Reads borrow kept connections (web/readers.py): what an operator and a caller see of that.
How many connections reads hold, that a lost one costs one answer and not the next, and
that reads never see a write's uncommitted rows."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text
from tests.support import SCANS, SEEKS, asgi_client, empty_store, fill, lookup_plan

from substore import db
from substore.config import Settings
from substore.web.app import create_app
from substore.web.readers import Readers

LOOKUP = 'query { subscriber(number: "+12015550100") { e164Number } }'


async def _pid(readers: Readers) -> int:
    async with readers.lease() as lease:
        pid = (await lease.connection.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        await lease.connection.commit()  # as the endpoint ends each read
        return pid


async def _backends(engine, pids: set[int]) -> set[int]:
    async with engine.connect() as conn:
        found = await conn.execute(
            text("SELECT pid FROM pg_stat_activity WHERE pid = ANY(:pids)"), {"pids": list(pids)}
        )
        return {row.pid for row in found}


async def test_reads_hold_at_most_size_connections_and_give_them_back_on_close(engine):
    readers = Readers(engine, size=2)
    held: list = []

    async def read() -> None:
        async with readers.lease() as lease:
            await lease.connection.execute(text("SELECT pg_sleep(0.05)"))
            held.append((await lease.connection.execute(text("SELECT pg_backend_pid()"))).scalar())
            await lease.connection.commit()

    await asyncio.gather(*(read() for _ in range(6)))  # six at once: some borrow past size
    assert len(readers._idle) == 2
    assert await _pid(readers) in set(held)  # the next read reuses one of them
    checked_out = engine.sync_engine.pool.checkedout()
    await readers.close()
    assert engine.sync_engine.pool.checkedout() == checked_out - 2


async def test_a_read_in_autocommit_never_sees_an_uncommitted_write(engine, account):
    readers = Readers(engine, size=1)
    async with engine.connect() as writer:
        await writer.execute(
            text("UPDATE accounts SET name = 'uncommitted' WHERE id = :a"), {"a": account.id}
        )
        async with readers.lease() as lease:
            seen = await lease.connection.execute(
                text("SELECT name FROM accounts WHERE id = :a"), {"a": account.id}
            )
            assert seen.scalar_one() == account.name
        await writer.rollback()
    await readers.close()


async def test_a_failed_read_does_not_hand_its_connection_to_the_next(engine):
    readers = Readers(engine, size=2)
    first = await _pid(readers)
    with pytest.raises(RuntimeError):
        async with readers.lease() as lease:
            assert (
                await lease.connection.execute(text("SELECT pg_backend_pid()"))
            ).scalar() == first
            raise RuntimeError("a bug in a resolver")
    async with readers.lease() as lease:
        lease.keep = False  # an answer of 500 or more
    assert readers._idle == []
    await readers.close()


async def test_a_lost_connection_costs_one_503_and_the_next_lookup_is_answered(engine, api):
    app = create_app(Settings(rate_limit_per_second=0), engine=engine)
    await api.data(
        'mutation { createSubscriber(input: {number: "+12015550100"}) { subscriber { id } } }'
    )
    async with asgi_client(app, headers=api.headers()) as client:
        assert (await client.post("/graphql", json={"query": LOOKUP})).status_code == 200
        pid = await _pid(app.state.readers)
        async with engine.connect() as conn:  # as a failover or an administrator would
            await conn.execute(text("SELECT pg_terminate_backend(CAST(:p AS integer))"), {"p": pid})
        assert not await _backends(engine, {pid})
        answers = [await client.post("/graphql", json={"query": LOOKUP}) for _ in range(3)]
    # A planned read that meets the dead connection is answered again by the plain
    # executor, which reconnects: the caller may not even see the 503.
    assert answers[0].status_code in (200, 503), answers[0].text
    assert [a.status_code for a in answers[1:]] == [200, 200]
    assert answers[2].json()["data"]["subscriber"] == {"e164Number": "+12015550100"}


async def test_reads_after_a_dispose_use_new_connections(database_url):
    engine = db.create_engine(database_url, pool_size=2)
    readers = Readers(engine, size=1)
    before = await _pid(readers)
    await engine.dispose()  # what the watchdog does after the embedded server restarts
    assert await _pid(readers) != before
    assert not await _backends(engine, {before})
    await readers.close()
    await engine.dispose()


async def test_a_reader_whose_pool_was_disposed_during_its_read_is_not_reused(database_url):
    engine = db.create_engine(database_url, pool_size=2)
    readers = Readers(engine, size=1)
    async with readers.lease() as lease:
        during = (await lease.connection.execute(text("SELECT pg_backend_pid()"))).scalar()
        await lease.connection.commit()
        await engine.dispose()  # the watchdog, while this read was running
    assert await _pid(readers) != during
    await readers.close()
    await engine.dispose()


async def test_a_reader_plans_its_lookups_again_for_a_table_that_has_grown(server_url, monkeypatch):
    """A lookup first prepared on an empty table (reading all of the account's rows is right there) must
    not go on scanning once an import has filled the table."""
    async with empty_store(server_url, connections=2) as (engine, account_id):
        readers = Readers(engine, size=1)
        async with readers.lease() as lease:
            assert SCANS in await lookup_plan(lease.connection, account_id)
        await fill(engine, account_id, 20_000)
        monkeypatch.setattr(db, "PLAN_MAX_AGE_SECONDS", 0.0)  # instead of waiting a second
        async with readers.lease() as lease:
            assert SEEKS in await lookup_plan(lease.connection, account_id)
        await readers.close()
