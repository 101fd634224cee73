"""substore_account_write: one account's write statement, run where its shards are

Revision ID: 0012_account_writes
Revises: 0011_rekey_events
Create Date: 2027-01-20 12:00:00

On Citus this function is distributed by its account argument, co-located with
subscribers (citus.py), so that the coordinator hands the call to the node holding the
account's shards; there the statement runs on those shards as plain PostgreSQL: one node,
a one-phase commit. A write statement that carries its outbox in data-modifying CTEs is
otherwise planned by Citus as INSERT ... SELECT via the coordinator, its CTE results sent
to every node and committed with two-phase commit. Without Citus, or where this node does
not hold the shards, the statement runs as given.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012_account_writes"
down_revision: str | None = "0011_rekey_events"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The tables an account's write statements name: the ones co-located with subscribers.
_TABLES = "ARRAY['subscribers', 'consent_events', 'subscriber_events', 'account_event_counters']"

FUNCTION = f"""
CREATE OR REPLACE FUNCTION substore_account_write(account_id bigint, statement text, args text[])
RETURNS SETOF record LANGUAGE plpgsql AS $function$
DECLARE
  tables text[] := {_TABLES};
  shards bigint[] := '{{}}';
  on_shards text := statement;
  i int;
BEGIN
  IF to_regproc('get_shard_id_for_distribution_column') IS NULL THEN
    RETURN QUERY EXECUTE statement USING account_id, args;
    RETURN;
  END IF;
  FOR i IN 1 .. array_length(tables, 1) LOOP
    shards := shards || get_shard_id_for_distribution_column(tables[i], account_id);
    on_shards := regexp_replace(
      on_shards, '\\m' || tables[i] || '\\M', shard_name(tables[i], shards[i]), 'g');
  END LOOP;
  -- The lock a write through Citus takes: a shard move waits for this transaction, and
  -- one that finished first has already taken the placement from this node.
  PERFORM lock_shard_metadata(5, shards);
  IF EXISTS (SELECT 1 FROM pg_dist_placement p, pg_dist_local_group g
             WHERE p.shardid = shards[1] AND p.groupid = g.groupid) THEN
    RETURN QUERY EXECUTE on_shards USING account_id, args;
  ELSE
    RETURN QUERY EXECUTE statement USING account_id, args;
  END IF;
END
$function$
"""


def upgrade() -> None:
    op.execute(FUNCTION)


def downgrade() -> None:
    op.execute("DROP FUNCTION substore_account_write(bigint, text, text[])")
