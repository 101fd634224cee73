"""Tables: accounts, api_keys, subscribers. SQLModel classes; imports nothing of substore.

Every subscriber key starts with account_id so the table can later be sharded by account.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

metadata = SQLModel.metadata
metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class SubscriberStatus(StrEnum):
    SUBSCRIBED = "SUBSCRIBED"
    UNSUBSCRIBED = "UNSUBSCRIBED"


class Scope(StrEnum):
    READ = "read"
    WRITE = "write"


def _now_column() -> Any:
    return sa.Column(sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now())


def _id_column() -> Any:
    return sa.Column(sa.BigInteger, sa.Identity(), primary_key=True)


def _account_column() -> Any:
    account = sa.ForeignKey("accounts.id", ondelete="CASCADE")
    return sa.Column(sa.BigInteger, account, nullable=False)


class Account(SQLModel, table=True):
    __tablename__ = "accounts"

    id: int | None = Field(default=None, sa_column=_id_column())
    name: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    default_region: str = Field(sa_column=sa.Column(sa.String(2), nullable=False))
    created_at: datetime | None = Field(default=None, sa_column=_now_column())


class ApiKey(SQLModel, table=True):
    __tablename__ = "api_keys"
    __table_args__ = (
        sa.CheckConstraint("scope IN ('read', 'write')", name="scope"),
        sa.Index(None, "account_id"),
    )

    id: int | None = Field(default=None, sa_column=_id_column())
    account_id: int = Field(sa_column=_account_column())
    scope: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    prefix: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    # sha256 of the whole secret; the secret itself is shown once and never stored.
    key_hash: str = Field(sa_column=sa.Column("hash", sa.String(64), nullable=False, unique=True))
    created_at: datetime | None = Field(default=None, sa_column=_now_column())
    revoked_at: datetime | None = Field(
        default=None, sa_column=sa.Column(sa.DateTime(timezone=True))
    )


class Subscriber(SQLModel, table=True):
    __tablename__ = "subscribers"
    __table_args__ = (
        sa.UniqueConstraint("account_id", "e164_number"),
        # Keyset paging: WHERE account_id = ? AND (created_at, id) > (?, ?) ORDER BY ...
        sa.Index(None, "account_id", "created_at", "id"),
        sa.CheckConstraint("status IN ('SUBSCRIBED', 'UNSUBSCRIBED')", name="status"),
    )

    id: int | None = Field(default=None, sa_column=_id_column())
    account_id: int = Field(sa_column=_account_column())
    e164_number: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    number: str = Field(sa_column=sa.Column(sa.String(17), nullable=False))
    raw_number: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    country_code: int = Field(sa_column=sa.Column(sa.SmallInteger, nullable=False))
    region_code: str | None = Field(default=None, sa_column=sa.Column(sa.String(3)))
    number_type: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    country_code_source: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    default_region: str | None = Field(default=None, sa_column=sa.Column(sa.String(2)))
    normalizer_version: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    first_name: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    last_name: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    email: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    attributes: dict[str, Any] = Field(
        default_factory=dict,
        sa_column=sa.Column(JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
    )
    status: str = Field(
        default=SubscriberStatus.SUBSCRIBED,
        sa_column=sa.Column(
            sa.Text, nullable=False, server_default=SubscriberStatus.SUBSCRIBED.value
        ),
    )
    created_at: datetime | None = Field(default=None, sa_column=_now_column())
    updated_at: datetime | None = Field(default=None, sa_column=_now_column())
