"""migrations/: Alembic is the only way tables are made, and it matches the models."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from substore.models import metadata


async def test_upgraded_database_matches_the_models(engine):
    def diff(sync_conn):
        context = MigrationContext.configure(sync_conn, opts={"compare_type": True})
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
