"""the outbox: subscriber_events, numbered per account by account_event_counters

Revision ID: 0008_subscriber_events
Revises: 0007_trusted_documents
Create Date: 2026-12-06 01:25:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_subscriber_events"
down_revision: str | None = "0007_trusted_documents"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TYPES = (
    "'subscriber.created', 'subscriber.updated', 'subscriber.deleted', "
    "'subscriber.unsubscribed', 'subscriber.resubscribed'"
)


def _account() -> sa.ForeignKey:
    return sa.ForeignKey("accounts.id", ondelete="CASCADE")


def upgrade() -> None:
    op.create_table(
        "subscriber_events",
        sa.Column("account_id", sa.BigInteger, _account(), nullable=False),
        sa.Column("sequence", sa.BigInteger, nullable=False),
        sa.Column(
            "id",
            sa.Uuid(as_uuid=False),
            server_default=sa.text("gen_random_uuid()"),
            nullable=False,
        ),
        sa.Column("type", sa.Text, nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "recorded_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("actor", sa.Text),
        sa.Column("subscriber_id", sa.BigInteger, nullable=False),
        sa.Column("e164_number", sa.String(16), nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("changes", sa.JSON, server_default=sa.text("'{}'::json"), nullable=False),
        sa.PrimaryKeyConstraint("account_id", "sequence", name="pk_subscriber_events"),
        sa.CheckConstraint(f"type IN ({_TYPES})", name="ck_subscriber_events_type"),
    )
    # Pruning by age goes by recorded_at, which the server sets: occurred_at can be a
    # client's (an inbound keyword's receivedAt), so an old one would be pruned at once.
    op.create_index(
        "ix_subscriber_events_recorded_at",
        "subscriber_events",
        ["recorded_at"],
        postgresql_using="brin",
    )
    op.create_table(
        "account_event_counters",
        sa.Column("account_id", sa.BigInteger, _account(), nullable=False),
        sa.Column("last_sequence", sa.BigInteger, server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("account_id", name="pk_account_event_counters"),
    )


def downgrade() -> None:
    op.drop_table("account_event_counters")
    op.drop_index("ix_subscriber_events_recorded_at", "subscriber_events")
    op.drop_table("subscriber_events")
