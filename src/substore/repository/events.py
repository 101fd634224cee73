"""Reading the outbox (subscriber_events; outbox.py writes it, webhooks.py prunes it)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from substore.models import AccountEventCounter, SubscriberEvent, table
from substore.repository.subscribers import Record

subscriber_events = table(SubscriberEvent)
counters = table(AccountEventCounter)


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


def newest_sequence(account_id: Any) -> sa.ColumnElement[Any]:
    """The account's newest event's number, from its counter (0: none yet). Not
    max(sequence): the counter is one row, and stays right when events are pruned."""
    c = counters.c
    found = sa.select(c.last_sequence).where(c.account_id == account_id).scalar_subquery()
    return sa.func.coalesce(found, 0)


async def last_sequence(conn: AsyncConnection, account_id: int) -> int:
    """The account's newest event's number (0: none yet)."""
    return await conn.scalar(sa.select(newest_sequence(account_id))) or 0
