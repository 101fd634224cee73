"""a GIN index for the subscribers filter on attributes (jsonb containment, @>)

Revision ID: 0006_attributes_index
Revises: 0005
Create Date: 2026-12-06 01:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006_attributes_index"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # jsonb_path_ops: @> is the only operator the filter uses, and its index is smaller
    # and faster for it than the default jsonb_ops. GIN cannot lead with account_id
    # (without btree_gin): the planner combines it with the account's own rows.
    op.create_index(
        "ix_subscribers_attributes",
        "subscribers",
        ["attributes"],
        unique=False,
        postgresql_using="gin",
        postgresql_ops={"attributes": "jsonb_path_ops"},
    )


def downgrade() -> None:
    op.drop_index("ix_subscribers_attributes", table_name="subscribers")
