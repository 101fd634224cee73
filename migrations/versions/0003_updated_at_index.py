"""an index for paging by change time (subscribers orderBy: UPDATED_AT)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 08:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        op.f("ix_subscribers_account_id_updated_at_id"),
        "subscribers",
        ["account_id", "updated_at", "id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_subscribers_account_id_updated_at_id"), table_name="subscribers")
