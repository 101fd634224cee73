"""migrations/: Alembic is the only way tables are made, and it matches the models."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, time

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine
from tests.support import new_database

from substore import citus, db
from substore.models import UNCOMPARED_INDEXES, compared_by_alembic, metadata


async def test_upgraded_database_matches_the_models(engine):
    def diff(sync_conn):
        opts = {"compare_type": True, "include_object": compared_by_alembic}
        context = MigrationContext.configure(sync_conn, opts=opts)
        return compare_metadata(context, metadata)

    async with engine.connect() as conn:
        assert await conn.run_sync(diff) == []


async def test_upgrade_creates_every_table_and_the_paging_index(engine):
    def tables(sync_conn):
        inspector = inspect(sync_conn)
        indexes = {i["name"] for i in inspector.get_indexes("subscribers")}
        return set(inspector.get_table_names()), indexes

    async with engine.connect() as conn:
        names, indexes = await conn.run_sync(tables)
    assert {"accounts", "api_keys", "subscribers", "alembic_version"} <= names
    assert "ix_subscribers_account_id_created_at_id" in indexes


async def test_the_search_indexes_fold_case_and_compare_bytes(engine):
    """The indexes alembic cannot compare, read back from the database."""
    query = text("SELECT indexname, indexdef FROM pg_indexes WHERE indexname = ANY(:names)")
    async with engine.connect() as conn:
        rows = dict((await conn.execute(query, {"names": list(UNCOMPARED_INDEXES)})).all())
    assert set(rows) == UNCOMPARED_INDEXES
    for name, definition in rows.items():
        field = name.removeprefix("ix_subscribers_search_")
        key = field if field == "number" else f"lower({field})"
        assert definition.endswith(f'(account_id, {key} COLLATE "C")'), definition


@pytest.fixture
async def empty_database(server_url: str) -> AsyncIterator[AsyncEngine]:
    async with new_database(server_url, "substore_migration") as url:
        engine = db.create_engine(url, pool_size=1)
        yield engine
        await engine.dispose()


async def test_the_consent_migration_runs_on_a_populated_database(empty_database):
    engine = empty_database
    await db.migrate(engine, "0001")
    insert = """INSERT INTO subscribers (account_id, e164_number, number, raw_number,
      country_code, region_code, number_type, country_code_source, normalizer_version,
      status, updated_at)
      VALUES (:a, :e, :n, :raw, :cc, :rc, 'MOBILE', 'PLUS_SIGN', '9.0.43', :s, :u)"""
    async with engine.begin() as conn:
        account = (
            await conn.execute(
                text(
                    "INSERT INTO accounts (name, default_region) VALUES ('old', 'US') RETURNING id"
                )
            )
        ).scalar_one()
        rows = [
            ("+12015550123", "2015550123", 1, "US", "SUBSCRIBED"),
            ("+447911123456", "7911123456", 44, "GB", "UNSUBSCRIBED"),
            ("+80012345678", "12345678", 800, None, "SUBSCRIBED"),
        ]
        for e164, national, cc, region, status in rows:
            params = {"a": account, "e": e164, "n": national, "raw": e164, "cc": cc, "rc": region}
            params["s"] = status
            await conn.execute(text(insert), {**params, "u": datetime(2026, 1, 1, tzinfo=UTC)})
    await db.migrate(engine)
    async with engine.connect() as conn:
        found = {
            r.e164_number: r
            for r in await conn.execute(text("SELECT * FROM subscribers ORDER BY id"))
        }
        quiet = (await conn.execute(text("SELECT quiet_hours_start FROM accounts"))).scalar_one()
    assert found["+12015550123"].time_zones == "America/New_York"
    assert "Europe/London" in found["+447911123456"].time_zones.split()
    assert found["+80012345678"].time_zones == ""
    assert found["+447911123456"].unsubscribed_at == datetime(2026, 1, 1, tzinfo=UTC)
    assert found["+12015550123"].unsubscribed_at is None
    assert quiet == time(21)


async def test_the_account_first_keys_migration_runs_on_a_populated_database(empty_database):
    """0005 rebuilds subscribers' primary key and the events' reference to it under rows."""
    engine = empty_database
    await db.migrate(engine, "0004")
    async with engine.begin() as conn:
        account = (
            await conn.execute(
                text("INSERT INTO accounts (name, default_region) VALUES ('a', 'US') RETURNING id")
            )
        ).scalar_one()
        subscriber = (
            await conn.execute(
                text(
                    """INSERT INTO subscribers (account_id, e164_number, number, raw_number,
                    country_code, number_type, country_code_source, normalizer_version)
                    VALUES (:a, '+12015550123', '2015550123', 'x', 1, 'MOBILE', 'PLUS_SIGN', 'v')
                    RETURNING id"""
                ),
                {"a": account},
            )
        ).scalar_one()
        await conn.execute(
            text(
                "INSERT INTO consent_events (account_id, subscriber_id, at, action) VALUES (:a, :s, now(), 'UNSUBSCRIBED')"
            ),
            {"a": account, "s": subscriber},
        )
    await db.migrate(engine)

    def keys(sync_conn):
        inspector = inspect(sync_conn)
        [fk] = inspector.get_foreign_keys("consent_events")
        return inspector.get_pk_constraint("subscribers")["constrained_columns"], fk

    async with engine.begin() as conn:
        primary, fk = await conn.run_sync(keys)
        assert primary == ["account_id", "id"]
        assert (fk["constrained_columns"], fk["referred_columns"]) == (
            ["account_id", "subscriber_id"],
            ["account_id", "id"],
        )
        assert await conn.scalar(text("SELECT count(*) FROM consent_events")) == 1
        # The events still go with their subscriber.
        await conn.execute(text("DELETE FROM subscribers WHERE id = :s"), {"s": subscriber})
        assert await conn.scalar(text("SELECT count(*) FROM consent_events")) == 0


async def test_the_attributes_index_is_built_under_rows_and_dropped_on_downgrade(empty_database):
    """0006: a GIN jsonb_path_ops index over rows stored before it, used at once."""
    from alembic import command

    engine = empty_database
    await db.migrate(engine, "0005")
    async with engine.begin() as conn:
        await conn.execute(text("INSERT INTO accounts (name, default_region) VALUES ('a', 'US')"))
        await conn.execute(
            text(
                """INSERT INTO subscribers (account_id, e164_number, number, raw_number,
                country_code, number_type, country_code_source, normalizer_version, attributes)
                SELECT 1, '+1201555' || lpad(n::text, 4, '0'), 'x', 'x', 1, 'MOBILE',
                  'PLUS_SIGN', 'v', jsonb_build_object('n', n) FROM generate_series(1, 50) n"""
            )
        )
    await db.migrate(engine)
    index = text("SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_subscribers_attributes'")
    async with engine.begin() as conn:
        definition = await conn.scalar(index)
        assert definition.endswith("USING gin (attributes jsonb_path_ops)"), definition
        # On Citus SET LOCAL does not reach the workers' scans of the shards: no plan to read.
        if not await citus.has_citus(conn):
            await conn.execute(text("SET LOCAL enable_seqscan = off"))
            plan = await conn.execute(
                text("EXPLAIN SELECT id FROM subscribers WHERE attributes @> '{\"n\": 7}'")
            )
            assert "ix_subscribers_attributes" in "\n".join(r[0] for r in plan)

    def downgrade(sync_conn) -> None:
        config = db.alembic_config()
        config.attributes["connection"] = sync_conn
        command.downgrade(config, "0005")

    async with engine.begin() as conn:
        await conn.run_sync(downgrade)
        assert await conn.scalar(index) is None
