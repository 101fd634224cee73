"""Reading the outbox (subscriber_events; outbox.py writes it, webhooks.py prunes it)."""

from __future__ import annotations

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
