"""Alembic environment: metadata from substore.models, URL from substore's settings."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from substore import db
from substore.config import get_settings
from substore.models import compared_by_alembic, metadata

config = context.config


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        compare_type=True,
        include_object=compared_by_alembic,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_online() -> None:
    url = config.attributes.get("url") or db.database_url(get_settings())
    engine = db.create_engine(url, pool_size=1)
    async with engine.connect() as conn:
        await conn.run_sync(_configure)
        await conn.commit()
    await engine.dispose()


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:  # handed over by substore.db.migrate
        _configure(connection)
    elif context.is_offline_mode():
        context.configure(url=db.database_url(get_settings()), target_metadata=metadata)
        with context.begin_transaction():
            context.run_migrations()
    else:
        asyncio.run(_run_online())


run()
