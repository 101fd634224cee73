"""The change feed read back: pages of an account's events for replay, by sequence.

An account's events are numbered from 1 in commit order (repository/outbox.py), so a
sequence is a complete cursor: everything after it, in order, is everything the reader
has not seen. The caller owns the connection.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from substore import repository
from substore.errors import ValidationError
from substore.repository import Record

DEFAULT_EVENTS = 100  # events a page when `first` is not given
MAX_EVENTS = 500


@dataclass(frozen=True)
class EventPage:
    rows: list[Record]
    has_next: bool
    has_previous: bool  # events lie at or before `after` (pruned ones count too)


async def page_events(
    conn: AsyncConnection, account: Record, first: int | None, after: int
) -> EventPage:
    """Up to `first` of the account's events numbered above `after`, oldest first."""
    size = DEFAULT_EVENTS if first is None else first
    if not 0 <= size <= MAX_EVENTS:
        raise ValidationError(f"first must be between 0 and {MAX_EVENTS}.", field=("first",))
    if after < 0:
        raise ValidationError("after must be a sequence of 0 or more.", field=("after",))
    rows = await repository.events_after(conn, account.id, after, size + 1)
    return EventPage(rows[:size], len(rows) > size, after > 0)
