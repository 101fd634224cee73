"""import_batches: importSubscribers calls made with an idempotency key."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from substore.models.columns import account_column


class ImportBatch(SQLModel, table=True):
    """An importSubscribers call made with an idempotency key: a digest of what it asked
    and its per-row results, so that a repeat of it answers the same and writes nothing.
    `results` is null only inside the transaction that claimed the key."""

    __tablename__ = "import_batches"
    __table_args__ = (
        sa.PrimaryKeyConstraint("account_id", "key"),
        sa.Index(None, "account_id", "created_at"),  # expiry, an account at a time
    )

    account_id: int = Field(sa_column=account_column())
    key: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    digest: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))  # hex SHA-256
    created_at: datetime = Field(sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False))
    results: Any = Field(default=None, sa_column=sa.Column(sa.JSON))
