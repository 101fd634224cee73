"""consent_events: REKEYED and MERGED, the events of `substore rekey --apply`

Revision ID: 0011_rekey_events
Revises: 0010_import_batches
Create Date: 2027-01-20 12:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011_rekey_events"
down_revision: str | None = "0010_import_batches"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OLD = "'SUBSCRIBED', 'UNSUBSCRIBED', 'RESUBSCRIBE_REFUSED'"
_NEW = f"{_OLD}, 'REKEYED', 'MERGED'"


def _allow(actions: str) -> None:
    # NOT VALID then VALIDATE: the check is added without holding the table's write lock
    # while every existing event is read.
    op.execute("ALTER TABLE consent_events DROP CONSTRAINT ck_consent_events_action")
    op.execute(
        "ALTER TABLE consent_events ADD CONSTRAINT ck_consent_events_action "
        f"CHECK (action IN ({actions})) NOT VALID"
    )
    op.execute("ALTER TABLE consent_events VALIDATE CONSTRAINT ck_consent_events_action")


def upgrade() -> None:
    _allow(_NEW)


def downgrade() -> None:
    op.execute("DELETE FROM consent_events WHERE action IN ('REKEYED', 'MERGED')")
    _allow(_OLD)
