"""import_batches: the answers of importSubscribers calls made with an idempotency key

Revision ID: 0010_import_batches
Revises: 0009_webhooks
Create Date: 2027-01-10 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_import_batches"
down_revision: str | None = "0009_webhooks"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "import_batches",
        sa.Column(
            "account_id",
            sa.BigInteger,
            sa.ForeignKey("accounts.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("key", sa.Text, nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("results", sa.JSON),
        sa.PrimaryKeyConstraint("account_id", "key", name="pk_import_batches"),
    )
    op.create_index(
        "ix_import_batches_account_id_created_at", "import_batches", ["account_id", "created_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_import_batches_account_id_created_at", "import_batches")
    op.drop_table("import_batches")
