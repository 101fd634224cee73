"""What every table module shares: the metadata (with its naming convention, set before any
table is defined) and the column shapes the account tables repeat."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlmodel import SQLModel

metadata = SQLModel.metadata
metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def now_column() -> Any:
    return sa.Column(sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now())


def optional_time() -> Any:
    return sa.Column(sa.DateTime(timezone=True))


def id_column(primary_key: bool = True) -> Any:
    # An account's table names its primary key itself, account_id first.
    return sa.Column(sa.BigInteger, sa.Identity(), primary_key=primary_key, nullable=False)


def account_column() -> Any:
    account = sa.ForeignKey("accounts.id", ondelete="CASCADE")
    return sa.Column(sa.BigInteger, account, nullable=False)
