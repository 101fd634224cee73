"""Sending an account's write statement where the account's rows are.

On PostgreSQL a write statement runs as it is. On a Citus database whose tables
`substore migrate` distributed, it goes through `substore_account_write` (migration
0012), which Citus hands to the node that holds the account's shards, where it runs on
them alone: a statement that writes its events in data-modifying CTEs is otherwise
planned via the coordinator, its rows sent to every node and committed in two phases.

Which of the two a connection uses is asked once per database connection (it is kept in
the connection's `info`), so an engine decides when it first writes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.util.typing import TupleAny

from substore.citus import DELEGATED

_KEY = "substore.account_write"
_CITUS = "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus')"
_PARAM = re.compile(r"(?<![:\w]):(\w+)")
_CALL = (
    "SELECT * FROM substore_account_write(CAST(:account_id AS bigint), "
    "CAST(:statement AS text), CAST(:args AS text[])) AS r({columns})"
)
# A statement's result columns as a column definition list, by statement text: the
# statements are a bounded set (one per set of fields a write provides).
_COLUMNS: dict[str, str] = {}


async def delegated(conn: AsyncConnection) -> bool:
    """Whether this connection's writes go through substore_account_write."""
    info = conn.info
    if _KEY not in info:
        citus = bool(await conn.scalar(sa.text(_CITUS)))
        info[_KEY] = citus and bool(await conn.scalar(sa.text(DELEGATED)))
    return bool(info[_KEY])


async def execute(
    conn: AsyncConnection, account_id: int, statement: str, params: Mapping[str, Any]
) -> CursorResult[*TupleAny]:
    """Run `statement` (binds written :name, the account's :account_id among them) for
    `account_id`, on the node that holds the account's rows."""
    if not await delegated(conn):
        return await conn.execute(sa.text(statement), params)
    body, names = positional(statement)
    call = _CALL.format(columns=await _columns(conn, statement))
    args = [as_text(params[name]) for name in names]
    return await conn.execute(
        sa.text(call), {"account_id": account_id, "statement": body, "args": args}
    )


def positional(statement: str) -> tuple[str, list[str]]:
    """`statement` with its :name binds as elements of the function's text array ($2),
    and the names in that array's order. Every bind is cast in the statement: text is
    what the array holds."""
    names: list[str] = []

    def element(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in names:
            names.append(name)
        return f"$2[{names.index(name) + 1}]"

    return _PARAM.sub(element, statement), names


def as_text(value: Any) -> str | None:
    """A parameter in PostgreSQL's text form, which its cast in the statement reads."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return "{" + ",".join("NULL" if v is None else str(v) for v in value) + "}"
    return str(value)


async def _columns(conn: AsyncConnection, statement: str) -> str:
    """The statement's result columns and types, as PostgreSQL describes them (prepared,
    not run)."""
    if statement not in _COLUMNS:
        body, _ = positional(statement)
        driver: Any = (await conn.get_raw_connection()).driver_connection
        # The same text with $n binds: describing it plans nothing and writes nothing.
        numbered = re.sub(r"\$2\[(\d+)\]", r"$\1", body)
        prepared = await driver.prepare(numbered)
        _COLUMNS[statement] = ", ".join(
            f'"{a.name}" {a.type.schema}.{a.type.name}' for a in prepared.get_attributes()
        )
    return _COLUMNS[statement]
