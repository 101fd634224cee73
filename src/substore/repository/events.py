"""Reading and pruning the outbox (subscriber_events; outbox.py writes it)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from substore.models import SubscriberEvent, table
from substore.repository.subscribers import Record

subscriber_events = table(SubscriberEvent)


async def events_after(
    conn: AsyncConnection, account_id: int, after: int, limit: int
) -> list[Record]:
    """Up to `limit` of the account's events numbered above `after`, in order."""
    c = subscriber_events.c
    statement = (
        sa.select(subscriber_events)
        .where(c.account_id == account_id, c.sequence > after)
        .order_by(c.sequence)
        .limit(limit)
    )
    return list(await conn.execute(statement))


async def last_sequence(conn: AsyncConnection, account_id: int) -> int:
    """The account's newest event's number (0: none yet)."""
    c = subscriber_events.c
    found = await conn.scalar(sa.select(sa.func.max(c.sequence)).where(c.account_id == account_id))
    return found or 0


async def prune_events(conn: AsyncConnection, before: datetime, limit: int = 10_000) -> int:
    """Delete up to `limit` events that occurred before `before`; how many went."""
    c = subscriber_events.c
    oldest = (
        sa.select(c.account_id, c.sequence).where(c.occurred_at < before).limit(limit).subquery()
    )
    statement = subscriber_events.delete().where(
        sa.tuple_(c.account_id, c.sequence).in_(sa.select(oldest.c.account_id, oldest.c.sequence))
    )
    return (await conn.execute(statement)).rowcount
