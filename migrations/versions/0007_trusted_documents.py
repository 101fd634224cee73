"""trusted documents: the GraphQL documents client apps were built with, by SHA-256

Revision ID: 0007_trusted_documents
Revises: 0006_attributes_index
Create Date: 2026-12-06 01:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_trusted_documents"
down_revision: str | None = "0006_attributes_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "trusted_documents",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("document", sa.Text, nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name="pk_trusted_documents"),
    )


def downgrade() -> None:
    op.drop_table("trusted_documents")
