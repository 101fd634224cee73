"""Distributing the tables on Citus: an account's rows on one shard.

accounts, api_keys and trusted_documents become reference tables (a copy on every node);
subscribers, consent_events, the outbox, webhooks and import_batches are distributed by account_id and
co-located, so that everything one account reads or writes is routed to one shard. Every
key of those tables starts with account_id (migration 0005), which is what Citus asks of
them. On PostgreSQL without the citus extension in the database, nothing here changes
anything.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

REFERENCE = ("accounts", "api_keys", "trusted_documents")
DISTRIBUTED = (
    "subscribers",
    "consent_events",
    "subscriber_events",
    "account_event_counters",
    "webhook_endpoints",
    "webhook_deliveries",
    "import_batches",
)  # in this order: the others follow subscribers
COLUMN = "account_id"

# pg_dist_partition: hash-distributed tables are 'h'; reference tables and Citus local
# tables are both 'n', told apart by their replication model ('t' for reference).
_STATE = """SELECT logicalrelid::regclass::text AS name,
  CASE WHEN partmethod = 'h' THEN 'distributed:' || column_to_column_name(logicalrelid, partkey)
       WHEN repmodel = 't' THEN 'reference' ELSE 'local' END AS kind
FROM pg_dist_partition"""


class DistributionError(Exception):
    """The tables are in a state this command will not change by itself."""


@dataclass(frozen=True, slots=True)
class Distribution:
    citus: bool  # the database has the citus extension
    changed: tuple[str, ...] = ()  # what this call distributed, e.g. "subscribers by account_id"


async def has_citus(conn: AsyncConnection) -> bool:
    found = await conn.scalar(text("SELECT 1 FROM pg_extension WHERE extname = 'citus'"))
    return found is not None


async def table_kinds(conn: AsyncConnection) -> dict[str, str]:
    """What Citus has made of each table it knows: reference, local, distributed:COLUMN."""
    return {row.name: row.kind for row in await conn.execute(text(_STATE))}


async def distribute(engine: AsyncEngine) -> Distribution:
    """Make accounts and api_keys reference tables and the account tables distributed by
    account_id (co-located), those that are not already; idempotent."""
    async with engine.begin() as conn:
        if not await has_citus(conn):
            return Distribution(citus=False)
        kinds = await table_kinds(conn)
        wrong = [t for t in (*REFERENCE, *DISTRIBUTED) if kinds.get(t, _wanted(t)) != _wanted(t)]
        if wrong:
            raise DistributionError(
                f"Citus already holds {', '.join(f'{t} ({kinds[t]})' for t in wrong)}; "
                "undistribute them first (SELECT undistribute_table('TABLE', "
                "cascade_via_foreign_keys => true)) and run substore migrate again"
            )
        # Otherwise the tables that refer to accounts become Citus local tables on the way.
        await conn.execute(text("SET LOCAL citus.enable_local_reference_table_foreign_keys TO off"))
        missing = [t for t in (*REFERENCE, *DISTRIBUTED) if t not in kinds]
        for table in missing:
            statement, params = _make(table)
            try:
                await conn.execute(text(statement), params)
            except DBAPIError as error:  # no worker nodes, a node unreachable, ...
                raise DistributionError(
                    f"Citus could not distribute {table}: {error.orig}"
                ) from None
        return Distribution(citus=True, changed=tuple(f"{t} ({_wanted(t)})" for t in missing))


def _wanted(table: str) -> str:
    return "reference" if table in REFERENCE else f"distributed:{COLUMN}"


def _make(table: str) -> tuple[str, dict[str, str]]:
    """The call that makes `table` what it should be; the distributed tables after the
    first are co-located with it."""
    name = "CAST(CAST(:t AS text) AS regclass)"
    if table in REFERENCE:
        return f"SELECT create_reference_table({name})", {"t": table}
    colocate = "default" if table == DISTRIBUTED[0] else DISTRIBUTED[0]
    call = f"create_distributed_table({name}, CAST(:c AS text), colocate_with => CAST(:w AS text))"
    return f"SELECT {call}", {"t": table, "c": COLUMN, "w": colocate}
