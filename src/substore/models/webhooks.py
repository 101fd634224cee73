"""Webhook tables: endpoints and the deliveries of their batches of events."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from substore.models.columns import now_column, optional_time


class DeliveryStatus(StrEnum):
    PENDING = "PENDING"  # being sent, or waiting for its next attempt
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"  # given up after the retry schedule: the endpoint was disabled
    CANCELLED = "CANCELLED"  # replaced by redeliverWebhookEvents


PENDING_INDEX = "ix_webhook_deliveries_pending"


class WebhookEndpoint(SQLModel, table=True):
    """Where an account's events are POSTed, and how far they have been delivered.

    `delivered_sequence` is the endpoint's cursor: every event of the account numbered at
    or below it has been delivered (or was of a type the endpoint does not take). The
    secret is kept as given out: signing needs it (Standard Webhooks' HMAC)."""

    __tablename__ = "webhook_endpoints"

    account_id: int = Field(
        sa_column=sa.Column(
            sa.BigInteger, sa.ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
        )
    )
    id: int | None = Field(
        default=None, sa_column=sa.Column(sa.BigInteger, sa.Identity(), primary_key=True)
    )
    url: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    # NULL: every type, also types added later.
    event_types: list[str] | None = Field(default=None, sa_column=sa.Column(sa.ARRAY(sa.Text)))
    secret: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    enabled: bool = Field(
        default=True, sa_column=sa.Column(sa.Boolean, nullable=False, server_default=sa.true())
    )
    disabled_reason: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    delivered_sequence: int = Field(
        default=0, sa_column=sa.Column(sa.BigInteger, nullable=False, server_default="0")
    )
    created_at: datetime = Field(default=None, sa_column=now_column())
    updated_at: datetime = Field(default=None, sa_column=now_column())


class WebhookDelivery(SQLModel, table=True):
    """One batch of an endpoint's events (up to 100), and every attempt to send it: the
    same `message_id` (the webhook-id header) on each attempt."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        sa.Index(None, "account_id", "endpoint_id", "id"),
        # The dispatcher's every tick looks for pending batches (a few among all retained).
        sa.Index(
            PENDING_INDEX,
            "account_id",
            "endpoint_id",
            "id",
            postgresql_where=sa.text("status = 'PENDING'"),
        ),
        sa.ForeignKeyConstraint(
            ["account_id", "endpoint_id"],
            ["webhook_endpoints.account_id", "webhook_endpoints.id"],
            ondelete="CASCADE",
        ),
        sa.CheckConstraint(
            "status IN ('PENDING', 'SUCCEEDED', 'FAILED', 'CANCELLED')", name="status"
        ),
    )

    account_id: int = Field(sa_column=sa.Column(sa.BigInteger, primary_key=True))
    id: int | None = Field(
        default=None, sa_column=sa.Column(sa.BigInteger, sa.Identity(), primary_key=True)
    )
    endpoint_id: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    message_id: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    # The events after the cursor this batch covers; those of other types are not sent.
    first_sequence: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    last_sequence: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    event_count: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    status: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    attempts: int = Field(
        default=0, sa_column=sa.Column(sa.Integer, nullable=False, server_default="0")
    )
    last_status_code: int | None = Field(default=None, sa_column=sa.Column(sa.Integer))
    last_error: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    created_at: datetime = Field(sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False))
    last_attempt_at: datetime | None = Field(default=None, sa_column=optional_time())
    next_attempt_at: datetime | None = Field(default=None, sa_column=optional_time())
    delivered_at: datetime | None = Field(default=None, sa_column=optional_time())
