"""A keyset page and, in the same statement, whether any row lies behind its cursor.

Relay's hasPreviousPage (paging forward) and hasNextPage (paging back) ask about the side
of the cursor the page was not read toward. Reading one row there, the other way along
the same index, answers it without a second round trip.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection


async def page_and_behind(
    conn: AsyncConnection,
    page: sa.Select[Any],
    behind: sa.Select[Any],
    keys: Sequence[str],
    descending: bool,
) -> tuple[list[Any], bool]:
    """The rows of `page`, in its order of `keys`, and whether `behind` (the same columns,
    at most a row) found one."""
    return split(await conn.execute(union(page, behind, keys, descending)))


def union(
    page: sa.Select[Any], behind: sa.Select[Any], keys: Sequence[str], descending: bool
) -> sa.Select[Any]:
    """Both in one statement, `page`'s rows first in its order; each row carries one more
    column, `behind`, true for the row of `behind`."""
    both = sa.union_all(
        page.add_columns(sa.false().label("behind")), behind.add_columns(sa.true().label("behind"))
    )
    # An order for the union as a whole: SQL promises none from its branches.
    columns = both.selected_columns
    order = [columns[key].desc() if descending else columns[key] for key in keys]
    return both.order_by(columns.behind, *order)  # type: ignore[return-value]


def split(rows: Iterable[Any]) -> tuple[list[Any], bool]:
    """A union's rows: the page's, and whether the row behind it was there."""
    everything = list(rows)
    found = [row for row in everything if not row.behind]
    return found, len(everything) > len(found)
