"""SQL for webhook endpoints and their deliveries (webhooks/ sends them).

Every statement is scoped by account except the dispatcher's two sweeps (`due_endpoints`,
`prune_delivered_events`), which look at every account at once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from substore.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint, table
from substore.repository.events import counters, last_sequence, newest_sequence
from substore.repository.events import subscriber_events as events
from substore.repository.subscribers import Record

endpoints = table(WebhookEndpoint)
deliveries = table(WebhookDelivery)
PENDING = DeliveryStatus.PENDING.value
# The casts: SQLAlchemy types an INSERT's or UPDATE's RETURNING result as Any; its rows are
# Records like a select's.


async def create_endpoint(
    conn: AsyncConnection, account_id: int, url: str, event_types: list[str] | None, secret: str
) -> Record:
    values = {"account_id": account_id, "url": url, "event_types": event_types, "secret": secret}
    # A new endpoint starts at the account's newest event (its counter, which stays right
    # when every event has been pruned): it gets what happens from now on. Read first, not
    # as a subquery of the INSERT: Citus routes no INSERT with a subquery.
    newest = await last_sequence(conn, account_id)
    statement = endpoints.insert().values(**values, delivered_sequence=newest).returning(endpoints)
    return cast(Record, (await conn.execute(statement)).one())


async def list_endpoints(conn: AsyncConnection, account_id: int) -> list[Record]:
    c = endpoints.c
    statement = sa.select(endpoints).where(c.account_id == account_id).order_by(c.id)
    return list(await conn.execute(statement))


async def get_endpoint(conn: AsyncConnection, account_id: int, endpoint_id: int) -> Record | None:
    c = endpoints.c
    statement = sa.select(endpoints).where(c.account_id == account_id, c.id == endpoint_id)
    return (await conn.execute(statement)).one_or_none()


async def update_endpoint(
    conn: AsyncConnection, account_id: int, endpoint_id: int, values: dict[str, Any]
) -> Record | None:
    c = endpoints.c
    statement = (
        endpoints.update()
        .where(c.account_id == account_id, c.id == endpoint_id)
        .values(**values, updated_at=sa.func.now())
        .returning(endpoints)
    )
    return cast(Record | None, (await conn.execute(statement)).one_or_none())


async def delete_endpoint(conn: AsyncConnection, account_id: int, endpoint_id: int) -> bool:
    c = endpoints.c
    statement = endpoints.delete().where(c.account_id == account_id, c.id == endpoint_id)
    return (await conn.execute(statement)).rowcount > 0


async def page_deliveries(
    conn: AsyncConnection, account_id: int, endpoint_id: int, before_id: int | None, limit: int
) -> list[Record]:
    """Up to `limit` deliveries of the endpoint, newest first, older than `before_id`."""
    c = deliveries.c
    statement = (
        sa.select(deliveries)
        .where(c.account_id == account_id, c.endpoint_id == endpoint_id)
        .order_by(c.id.desc())
        .limit(limit)
    )
    if before_id is not None:
        statement = statement.where(c.id < before_id)
    return list(await conn.execute(statement))


async def due_endpoints(conn: AsyncConnection, now: datetime, limit: int) -> list[Record]:
    """(account_id, id) of enabled endpoints with something to send now: events past
    their cursor, or a pending batch whose next attempt is due; not those waiting."""
    e, d = endpoints.c, deliveries.c
    pending = sa.select(d.next_attempt_at).where(
        d.account_id == e.account_id, d.endpoint_id == e.id, d.status == PENDING
    )
    newest = sa.select(counters.c.last_sequence).where(counters.c.account_id == e.account_id)
    waiting = pending.where(d.next_attempt_at > now).exists()
    statement = (
        sa.select(e.account_id, e.id)
        .where(
            e.enabled,
            ~waiting,
            sa.or_(pending.exists(), e.delivered_sequence < newest.scalar_subquery()),
        )
        .limit(limit)
    )
    return list(await conn.execute(statement))


async def pending_delivery(
    conn: AsyncConnection, account_id: int, endpoint_id: int
) -> Record | None:
    c = deliveries.c
    statement = sa.select(deliveries).where(
        c.account_id == account_id, c.endpoint_id == endpoint_id, c.status == PENDING
    )
    return (await conn.execute(statement.order_by(c.id).limit(1))).one_or_none()


async def start_delivery(conn: AsyncConnection, values: dict[str, Any]) -> Record:
    statement = deliveries.insert().values(**values).returning(deliveries)
    return cast(Record, (await conn.execute(statement)).one())


async def advance_cursor(
    conn: AsyncConnection, account_id: int, endpoint_id: int, start: int, to: int
) -> bool:
    """Move the endpoint's cursor from `start` to `to`; False if it was no longer at
    `start` (a redelivery moved it meanwhile)."""
    c = endpoints.c
    statement = (
        endpoints.update()
        .where(c.account_id == account_id, c.id == endpoint_id, c.delivered_sequence == start)
        .values(delivered_sequence=to)
    )
    return (await conn.execute(statement)).rowcount > 0


async def record_attempt(
    conn: AsyncConnection, account_id: int, delivery_id: int, values: dict[str, Any]
) -> bool:
    """Update a pending delivery after an attempt; False if it is pending no more."""
    c = deliveries.c
    statement = (
        deliveries.update()
        .where(c.account_id == account_id, c.id == delivery_id, c.status == PENDING)
        .values(attempts=c.attempts + 1, **values)
    )
    return (await conn.execute(statement)).rowcount > 0


async def lock_cursor_at(
    conn: AsyncConnection, account_id: int, endpoint_id: int, start: int
) -> bool:
    """Whether the endpoint's cursor is at `start`, locking the endpoint's row to the end
    of the transaction (a redelivery waits for it)."""
    c = endpoints.c
    statement = (
        sa.select(c.id)
        .where(c.account_id == account_id, c.id == endpoint_id, c.delivered_sequence == start)
        .with_for_update()
    )
    return (await conn.scalar(statement)) is not None


async def retry_pending_now(conn: AsyncConnection, account_id: int, endpoint_id: int) -> None:
    c = deliveries.c
    statement = (
        deliveries.update()
        .where(c.account_id == account_id, c.endpoint_id == endpoint_id, c.status == PENDING)
        .values(next_attempt_at=sa.func.now())
    )
    await conn.execute(statement)


async def cancel_pending(conn: AsyncConnection, account_id: int, endpoint_id: int) -> None:
    c = deliveries.c
    statement = (
        deliveries.update()
        .where(c.account_id == account_id, c.endpoint_id == endpoint_id, c.status == PENDING)
        .values(status=DeliveryStatus.CANCELLED.value, next_attempt_at=None)
    )
    await conn.execute(statement)


async def kept_sequences(conn: AsyncConnection, account_id: int) -> tuple[int | None, int | None]:
    """The account's oldest and newest events still kept (None, None: none kept). The
    newest is the counter's: pruning goes oldest first, so it is kept if any is."""
    c = events.c
    oldest = sa.select(sa.func.min(c.sequence)).where(c.account_id == account_id)
    statement = sa.select(oldest.scalar_subquery(), newest_sequence(account_id))
    first, last = (await conn.execute(statement)).one()
    return (None, None) if first is None else (first, last)


async def prune_delivered_events(
    conn: AsyncConnection, before: datetime, limit: int = 10_000
) -> int:
    """Delete up to `limit` events recorded before `before` (the server's recorded_at, never
    occurred_at, which can be a client's) that every enabled endpoint of their account has
    delivered (a disabled endpoint holds nothing back); how many went."""
    ev, e = events.c, endpoints.c
    undelivered = sa.select(e.id).where(
        e.account_id == ev.account_id, e.enabled, e.delivered_sequence < ev.sequence
    )
    oldest = (
        sa.select(ev.account_id, ev.sequence)
        .where(ev.recorded_at < before, ~undelivered.exists())
        .limit(limit)
        .subquery()
    )
    statement = events.delete().where(
        sa.tuple_(ev.account_id, ev.sequence).in_(sa.select(oldest.c.account_id, oldest.c.sequence))
    )
    return (await conn.execute(statement)).rowcount


async def prune_deliveries(conn: AsyncConnection, before: datetime, limit: int = 10_000) -> int:
    """Delete up to `limit` finished deliveries created before `before`."""
    c = deliveries.c
    oldest = (
        sa.select(c.account_id, c.id)
        .where(c.created_at < before, c.status != PENDING)
        .limit(limit)
        .subquery()
    )
    statement = deliveries.delete().where(
        sa.tuple_(c.account_id, c.id).in_(sa.select(oldest.c.account_id, oldest.c.id))
    )
    return (await conn.execute(statement)).rowcount
