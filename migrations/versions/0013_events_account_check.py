"""subscriber_events: no per-row foreign key to accounts

An event is written only by the statement that counts it in its account's
account_event_counters row, which references accounts: the foreign key on every event
row checked the same account again, once a row (a lookup of accounts and a row lock each).

Revision ID: 0013_events_account_check
Revises: 0012_account_writes
Create Date: 2027-02-01 12:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013_events_account_check"
down_revision: str | None = "0012_account_writes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_FK = "fk_subscriber_events_account_id_accounts"


def upgrade() -> None:
    op.execute(f"ALTER TABLE subscriber_events DROP CONSTRAINT {_FK}")


def downgrade() -> None:
    citus = (
        op.get_bind().exec_driver_sql("SELECT 1 FROM pg_extension WHERE extname = 'citus'").scalar()
    )
    if citus:
        # A key to a reference table wants every statement of the transaction on one
        # connection per node (Citus refuses it after a parallel multi-shard statement).
        op.execute("SET LOCAL citus.multi_shard_modify_mode TO 'sequential'")
    # Events of an account deleted meanwhile went with nothing: they go now, as the
    # cascade would have taken them.
    op.execute(
        "DELETE FROM subscriber_events e WHERE NOT EXISTS "
        "(SELECT 1 FROM accounts a WHERE a.id = e.account_id)"
    )
    op.execute(
        f"ALTER TABLE subscriber_events ADD CONSTRAINT {_FK} FOREIGN KEY (account_id) "
        "REFERENCES accounts (id) ON DELETE CASCADE NOT VALID"
    )
    op.execute(f"ALTER TABLE subscriber_events VALIDATE CONSTRAINT {_FK}")
