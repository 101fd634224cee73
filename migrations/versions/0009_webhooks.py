"""webhooks: endpoints per account and their deliveries

Revision ID: 0009_webhooks
Revises: 0008_subscriber_events
Create Date: 2026-12-06 01:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_webhooks"
down_revision: str | None = "0008_subscriber_events"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    stamp = sa.DateTime(timezone=True)
    op.create_table(
        "webhook_endpoints",
        sa.Column("account_id", sa.BigInteger, nullable=False),
        sa.Column("id", sa.BigInteger, sa.Identity(always=False), nullable=False),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("event_types", sa.ARRAY(sa.Text)),
        sa.Column("secret", sa.Text, nullable=False),
        sa.Column("enabled", sa.Boolean, server_default=sa.true(), nullable=False),
        sa.Column("disabled_reason", sa.Text),
        sa.Column("delivered_sequence", sa.BigInteger, server_default="0", nullable=False),
        sa.Column("created_at", stamp, server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", stamp, server_default=sa.func.now(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name="fk_webhook_endpoints_account_id_accounts",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account_id", "id", name="pk_webhook_endpoints"),
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("account_id", sa.BigInteger, nullable=False),
        sa.Column("id", sa.BigInteger, sa.Identity(always=False), nullable=False),
        sa.Column("endpoint_id", sa.BigInteger, nullable=False),
        sa.Column("message_id", sa.Text, nullable=False),
        sa.Column("first_sequence", sa.BigInteger, nullable=False),
        sa.Column("last_sequence", sa.BigInteger, nullable=False),
        sa.Column("event_count", sa.Integer, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("attempts", sa.Integer, server_default="0", nullable=False),
        sa.Column("last_status_code", sa.Integer),
        sa.Column("last_error", sa.Text),
        sa.Column("created_at", stamp, nullable=False),
        sa.Column("last_attempt_at", stamp),
        sa.Column("next_attempt_at", stamp),
        sa.Column("delivered_at", stamp),
        sa.CheckConstraint(
            "status IN ('PENDING', 'SUCCEEDED', 'FAILED', 'CANCELLED')",
            name="ck_webhook_deliveries_status",
        ),
        sa.ForeignKeyConstraint(
            ["account_id", "endpoint_id"],
            ["webhook_endpoints.account_id", "webhook_endpoints.id"],
            name="fk_webhook_deliveries_account_id_webhook_endpoints",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account_id", "id", name="pk_webhook_deliveries"),
    )
    op.create_index(
        "ix_webhook_deliveries_account_id_endpoint_id_id",
        "webhook_deliveries",
        ["account_id", "endpoint_id", "id"],
    )
    op.create_index(
        "ix_webhook_deliveries_pending",
        "webhook_deliveries",
        ["account_id", "endpoint_id", "id"],
        postgresql_where=sa.text("status = 'PENDING'"),
    )


def downgrade() -> None:
    op.drop_index("ix_webhook_deliveries_pending", "webhook_deliveries")
    op.drop_index("ix_webhook_deliveries_account_id_endpoint_id_id", "webhook_deliveries")
    op.drop_table("webhook_deliveries")
    op.drop_table("webhook_endpoints")
