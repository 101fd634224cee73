"""A keyset page and, in the same statement, whether any row lies behind its cursor.

Relay's hasPreviousPage (paging forward) and hasNextPage (paging back) ask about the side
of the cursor the page was not read toward. Reading one row there, the other way along
the same index, answers it without a second round trip.
"""

from __future__ import annotations

from collections.abc import Sequence
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
    at most a row) found one. The rows carry one more column, `behind`, always false."""
    both = sa.union_all(
        page.add_columns(sa.false().label("behind")), behind.add_columns(sa.true().label("behind"))
    )
    # An order for the union as a whole: SQL promises none from its branches.
    columns = both.selected_columns
    order = [columns[key].desc() if descending else columns[key] for key in keys]
    rows = list(await conn.execute(both.order_by(columns.behind, *order)))
    found = [row for row in rows if not row.behind]
    return found, len(rows) > len(found)
