"""Tables: accounts, api_keys, subscribers, consent_events, trusted_documents, the outbox,
import_batches (models/imports.py) and webhooks (models/webhooks.py). SQLModel classes;
imports nothing of substore outside this package (columns.py: the metadata and the shared
column shapes).

Every subscriber key starts with account_id so the table can later be sharded by account.
"""

from __future__ import annotations

from datetime import datetime, time
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from substore.models.columns import (
    account_column,
    id_column,
    metadata,
    now_column,
    optional_time,
)

# The webhook tables live in models/webhooks.py; named here too, as every other table is.
from substore.models.imports import ImportBatch as ImportBatch
from substore.models.webhooks import DeliveryStatus as DeliveryStatus
from substore.models.webhooks import WebhookDelivery as WebhookDelivery
from substore.models.webhooks import WebhookEndpoint as WebhookEndpoint

__all__ = ["metadata"]  # re-exported for alembic's env.py and the migration tests


def table(model: type[SQLModel]) -> sa.Table:
    """A table model's Table (SQLModel sets `__table__`, but its types do not declare it)."""
    found = sa.inspect(model).local_table
    assert isinstance(found, sa.Table)  # a table=True model maps exactly one table
    return found


class SubscriberStatus(StrEnum):
    SUBSCRIBED = "SUBSCRIBED"
    UNSUBSCRIBED = "UNSUBSCRIBED"


class Scope(StrEnum):
    READ = "read"
    WRITE = "write"


class ConsentAction(StrEnum):
    SUBSCRIBED = "SUBSCRIBED"
    UNSUBSCRIBED = "UNSUBSCRIBED"
    RESUBSCRIBE_REFUSED = "RESUBSCRIBE_REFUSED"
    # `substore rekey --apply`: the key changed with the phonenumbers metadata, or another
    # row of the same person was merged into this one (its events moved here).
    REKEYED = "REKEYED"
    MERGED = "MERGED"


def _time_column(default: str) -> Any:
    return sa.Column(sa.Time, nullable=False, server_default=sa.text(f"'{default}'"))


class Account(SQLModel, table=True):
    __tablename__ = "accounts"

    id: int | None = Field(default=None, sa_column=id_column())
    name: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    default_region: str = Field(sa_column=sa.Column(sa.String(2), nullable=False))
    created_at: datetime | None = Field(default=None, sa_column=now_column())
    # Local times in each subscriber's own zones between which no message may go out
    # (the TCPA allows 8am-9pm). start == end means no quiet hours.
    quiet_hours_start: time = Field(default=time(21), sa_column=_time_column("21:00"))
    quiet_hours_end: time = Field(default=time(8), sa_column=_time_column("08:00"))


class ApiKey(SQLModel, table=True):
    __tablename__ = "api_keys"
    __table_args__ = (
        sa.CheckConstraint("scope IN ('read', 'write')", name="scope"),
        sa.Index(None, "account_id"),
    )

    id: int | None = Field(default=None, sa_column=id_column())
    account_id: int = Field(sa_column=account_column())
    scope: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    prefix: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    # sha256 of the whole secret; the secret itself is shown once and never stored.
    key_hash: str = Field(sa_column=sa.Column("hash", sa.String(64), nullable=False, unique=True))
    created_at: datetime | None = Field(default=None, sa_column=now_column())
    revoked_at: datetime | None = Field(
        default=None, sa_column=sa.Column(sa.DateTime(timezone=True))
    )


class Subscriber(SQLModel, table=True):
    __tablename__ = "subscribers"
    __table_args__ = (
        # Every key starts with account_id, the distribution column on Citus: an account's
        # subscribers live on one shard (migration 0005).
        sa.PrimaryKeyConstraint("account_id", "id"),
        sa.UniqueConstraint("account_id", "e164_number"),
        # Keyset paging: WHERE account_id = ? AND (created_at, id) > (?, ?) ORDER BY ...
        sa.Index(None, "account_id", "created_at", "id"),
        # The same for a sync by change time: ORDER BY updated_at, id.
        sa.Index(None, "account_id", "updated_at", "id"),
        # filter: {attributes: {...}}, jsonb containment (@>), the only operator
        # jsonb_path_ops serves, in a smaller index than the default jsonb_ops.
        sa.Index(
            "ix_subscribers_attributes",
            "attributes",
            postgresql_using="gin",
            postgresql_ops={"attributes": "jsonb_path_ops"},
        ),
        sa.CheckConstraint("status IN ('SUBSCRIBED', 'UNSUBSCRIBED')", name="status"),
    )

    id: int | None = Field(default=None, sa_column=id_column(primary_key=False))
    account_id: int = Field(sa_column=account_column())
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
    created_at: datetime | None = Field(default=None, sa_column=now_column())
    updated_at: datetime | None = Field(default=None, sa_column=now_column())
    # Consent: evidence given (never invented), and the opt-out that only fresh consent
    # or an opt-in keyword may undo.
    consented_at: datetime | None = Field(default=None, sa_column=optional_time())
    consent_source: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    unsubscribed_at: datetime | None = Field(default=None, sa_column=optional_time())
    unsubscribe_source: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    # When status last changed: a statement that sets it to its own time made a change.
    status_changed_at: datetime | None = Field(default=None, sa_column=now_column())
    # phonenumbers' time zones of the number (its country's when the number says no more),
    # space-separated: stored as text[] they cost the bulk upsert about 10% of its speed.
    time_zones: str = Field(
        default="", sa_column=sa.Column(sa.Text, nullable=False, server_default="")
    )


def _search_indexes(table: sa.Table) -> None:
    """The `search` filter's prefix ranges, one index per field, each within an account:
    lower() for case, COLLATE "C" so that a range of strings is a range of the index."""
    c = table.c
    for column in (c.first_name, c.last_name, c.email):
        key = sa.func.lower(column).collate("C")
        sa.Index(f"ix_subscribers_search_{column.name}", c.account_id, key)
    sa.Index("ix_subscribers_search_number", c.account_id, c.number.collate("C"))


# Alembic reflects an index without its COLLATE, so it would see these four as changed on
# every comparison; they are compared by their definitions instead (test_migrations).
UNCOMPARED_INDEXES = frozenset(
    f"ix_subscribers_search_{name}" for name in ("first_name", "last_name", "email", "number")
)


def compared_by_alembic(obj: object, name: str | None, type_: str, *_: object) -> bool:
    """Alembic's include_object hook."""
    return not (type_ == "index" and name in UNCOMPARED_INDEXES)


_search_indexes(table(Subscriber))


class ConsentEvent(SQLModel, table=True):
    """Every change of a subscriber's consent, newest last, and its re-keys and merges."""

    __tablename__ = "consent_events"
    __table_args__ = (
        sa.Index(None, "account_id", "subscriber_id", "id"),
        sa.ForeignKeyConstraint(
            ["account_id", "subscriber_id"],
            ["subscribers.account_id", "subscribers.id"],
            ondelete="CASCADE",
        ),
        sa.CheckConstraint(
            "action IN ('SUBSCRIBED', 'UNSUBSCRIBED', 'RESUBSCRIBE_REFUSED', 'REKEYED', 'MERGED')",
            name="action",
        ),
    )

    account_id: int = Field(sa_column=sa.Column(sa.BigInteger, primary_key=True))
    id: int | None = Field(
        default=None, sa_column=sa.Column(sa.BigInteger, sa.Identity(), primary_key=True)
    )
    subscriber_id: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    at: datetime = Field(sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False))
    action: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    source: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    detail: str | None = Field(default=None, sa_column=sa.Column(sa.Text))


class TrustedDocument(SQLModel, table=True):
    """A GraphQL document a client app was built with, by the SHA-256 of its text: what
    `documentId` and persisted-query hashes name. Shared by every account."""

    __tablename__ = "trusted_documents"

    id: str = Field(sa_column=sa.Column(sa.String(64), primary_key=True))  # hex SHA-256
    document: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    created_at: datetime | None = Field(default=None, sa_column=now_column())


class SubscriberEvent(SQLModel, table=True):
    """The outbox: every change of a subscriber, written in the transaction that made it.

    `sequence` counts an account's events from 1 in commit order (account_event_counters
    hands it out under a row lock held until commit), so a reader that has seen N never
    meets a later event numbered below N. No foreign key to subscribers: a deleted
    subscriber's events stay. Nor to accounts: an event is written only with its account's
    counter row, which has one (migration 0013)."""

    __tablename__ = "subscriber_events"
    __table_args__ = (
        sa.PrimaryKeyConstraint("account_id", "sequence"),
        # Pruning by age, by recorded_at: set by the server as rows are appended, it grows
        # with the table (a BRIN index fits), while occurred_at may be a client's old time.
        sa.Index(None, "recorded_at", postgresql_using="brin"),
        sa.CheckConstraint(
            "type IN ('subscriber.created', 'subscriber.updated', 'subscriber.deleted', "
            "'subscriber.unsubscribed', 'subscriber.resubscribed')",
            name="type",
        ),
    )

    account_id: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    sequence: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    id: str = Field(
        sa_column=sa.Column(sa.Uuid, nullable=False, server_default=sa.text("gen_random_uuid()"))
    )
    type: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    occurred_at: datetime = Field(sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False))
    # When the server wrote the event (occurred_at can be the client's): retention goes by it.
    recorded_at: datetime = Field(
        sa_column=sa.Column(
            sa.DateTime(timezone=True), nullable=False, server_default=sa.text("now()")
        )
    )
    source: str = Field(sa_column=sa.Column(sa.Text, nullable=False))  # api, import, inbound
    actor: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    subscriber_id: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    e164_number: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    status: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    # The fields the change wrote, by their GraphQL names, as stored.
    changes: dict[str, Any] = Field(
        default_factory=dict,
        sa_column=sa.Column(sa.JSON, nullable=False, server_default=sa.text("'{}'::json")),
    )


class AccountEventCounter(SQLModel, table=True):
    """The last event sequence each account handed out (see SubscriberEvent)."""

    __tablename__ = "account_event_counters"

    account_id: int = Field(
        sa_column=sa.Column(
            sa.BigInteger,
            sa.ForeignKey("accounts.id", ondelete="CASCADE"),
            primary_key=True,
        )
    )
    last_sequence: int = Field(
        default=0, sa_column=sa.Column(sa.BigInteger, nullable=False, server_default="0")
    )
