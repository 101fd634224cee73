"""Distributing the tables on Citus: an account's rows on one shard.

accounts, api_keys and trusted_documents become reference tables (a copy on every node);
subscribers, consent_events, the outbox, webhooks and import_batches are distributed by account_id and
co-located, so that everything one account reads or writes is routed to one shard. Every
key of those tables starts with account_id (migration 0005), which is what Citus asks of
them. With no worker registered, Citus 14 puts every shard on the coordinator (and the
shards can be moved to workers added later: citus_rebalance_start()). On PostgreSQL
without the citus extension in the database, nothing here changes anything.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from substore.errors import ConfigError

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


class DistributionError(ConfigError):
    """The tables are in a state this command will not change by itself (serve reports it
    as it reports an unreachable database)."""


# An account's write statements go through this function (repository/routing.py): Citus
# hands each call to the node that holds the account's shards.
WRITE_FUNCTION = "substore_account_write(bigint,text,text[])"
_WORKERS = "SELECT count(*) FROM pg_dist_node WHERE groupid <> 0 AND isactive"


@dataclass(frozen=True, slots=True)
class Distribution:
    citus: bool  # the database has the citus extension
    changed: tuple[str, ...] = ()  # what this call distributed, e.g. "subscribers by account_id"
    workers: int = 0  # worker nodes registered; with none, the coordinator holds every shard


async def has_citus(conn: AsyncConnection) -> bool:
    found = await conn.scalar(text("SELECT 1 FROM pg_extension WHERE extname = 'citus'"))
    return found is not None


async def table_kinds(conn: AsyncConnection) -> dict[str, str]:
    """What Citus has made of each table it knows: reference, local, distributed:COLUMN."""
    return {row.name: row.kind for row in await conn.execute(text(_STATE))}


async def distribute(engine: AsyncEngine) -> Distribution:
    """distribute_tables in a transaction of its own."""
    async with engine.begin() as conn:
        return await distribute_tables(conn)


async def distribute_tables(conn: AsyncConnection) -> Distribution:
    """Make accounts and api_keys reference tables and the account tables distributed by
    account_id (co-located), those that are not already, and delegate the account write
    function by its account; idempotent. The caller holds the migration lock."""
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
        await _run(conn, table, *_make(table))
    changed = [f"{t} ({_wanted(t)})" for t in missing]
    if not await conn.scalar(text(DELEGATED)):
        await _run(conn, "substore_account_write", _DELEGATE, {"f": WRITE_FUNCTION})
        changed.append("substore_account_write (by account_id)")
    workers = int(await conn.scalar(text(_WORKERS)) or 0)
    return Distribution(citus=True, changed=tuple(changed), workers=workers)


# Delegated: Citus runs a call on the node of the account's shards, in a transaction too.
_DELEGATE = """SELECT create_distributed_function(CAST(CAST(:f AS text) AS regprocedure), '$1',
  colocate_with => 'subscribers', force_delegation => true)"""
DELEGATED = """SELECT EXISTS (SELECT 1 FROM pg_dist_object
  WHERE objid = to_regprocedure('substore_account_write(bigint,text,text[])')
    AND distribution_argument_index IS NOT NULL)"""


async def _run(conn: AsyncConnection, name: str, statement: str, params: dict[str, str]) -> None:
    try:
        await conn.execute(text(statement), params)
    except DBAPIError as error:  # a node unreachable, a table Citus cannot take, ...
        raise DistributionError(f"Citus could not distribute {name}: {error.orig}") from None


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
