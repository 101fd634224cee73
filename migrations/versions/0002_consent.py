"""consent: evidence and opt-out columns, time zones, quiet hours, consent events

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02 07:20:00
"""

from collections.abc import Sequence

import phonenumbers
import sqlalchemy as sa
from alembic import op
from phonenumbers import timezone

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BATCH = 10_000


def upgrade() -> None:
    stamp = sa.DateTime(timezone=True)
    op.add_column("subscribers", sa.Column("consented_at", stamp, nullable=True))
    op.add_column("subscribers", sa.Column("consent_source", sa.Text(), nullable=True))
    op.add_column("subscribers", sa.Column("unsubscribed_at", stamp, nullable=True))
    op.add_column("subscribers", sa.Column("unsubscribe_source", sa.Text(), nullable=True))
    op.add_column(
        "subscribers",
        sa.Column("status_changed_at", stamp, server_default=sa.text("now()"), nullable=False),
    )
    op.add_column(
        "subscribers",
        sa.Column("time_zones", sa.Text(), server_default="", nullable=False),
    )
    op.add_column(
        "accounts",
        sa.Column(
            "quiet_hours_start", sa.Time(), server_default=sa.text("'21:00'"), nullable=False
        ),
    )
    op.add_column(
        "accounts",
        sa.Column("quiet_hours_end", sa.Time(), server_default=sa.text("'08:00'"), nullable=False),
    )
    op.create_table(
        "consent_events",
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("subscriber_id", sa.BigInteger(), nullable=False),
        sa.Column("at", stamp, nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "action IN ('SUBSCRIBED', 'UNSUBSCRIBED', 'RESUBSCRIBE_REFUSED')",
            name=op.f("ck_consent_events_action"),
        ),
        sa.ForeignKeyConstraint(
            ["subscriber_id"],
            ["subscribers.id"],
            name=op.f("fk_consent_events_subscriber_id_subscribers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account_id", "id", name=op.f("pk_consent_events")),
    )
    op.create_index(
        op.f("ix_consent_events_account_id_subscriber_id_id"),
        "consent_events",
        ["account_id", "subscriber_id", "id"],
        unique=False,
    )
    # What is known of rows stored before consent was tracked: a status that changed no
    # later than the row's last update; an opt-out that only fresh consent may undo.
    op.execute("UPDATE subscribers SET status_changed_at = updated_at")
    op.execute(
        "UPDATE subscribers SET unsubscribed_at = updated_at, "
        "unsubscribe_source = 'before consent tracking' WHERE status = 'UNSUBSCRIBED'"
    )
    _backfill_time_zones()


def _backfill_time_zones() -> None:
    bind = op.get_bind()
    last = 0
    while True:
        rows = bind.execute(
            sa.text(
                "SELECT id, e164_number FROM subscribers WHERE id > :last ORDER BY id LIMIT :n"
            ),
            {"last": last, "n": _BATCH},
        ).all()
        if not rows:
            return
        zones = [_zones(e164) for _, e164 in rows]
        bind.execute(
            sa.text(
                "UPDATE subscribers SET time_zones = z.zones "
                "FROM unnest(CAST(:ids AS bigint[]), CAST(:zones AS text[])) AS z(id, zones) "
                "WHERE subscribers.id = z.id"
            ),
            {"ids": [r[0] for r in rows], "zones": zones},
        )
        last = rows[-1][0]


def _zones(e164: str) -> str:
    # Frozen here on purpose: a migration must not change when application code does.
    found = timezone.time_zones_for_number(phonenumbers.parse(e164))
    return " ".join(z for z in found if z != timezone.UNKNOWN_TIMEZONE)


def downgrade() -> None:
    op.drop_index(
        op.f("ix_consent_events_account_id_subscriber_id_id"), table_name="consent_events"
    )
    op.drop_table("consent_events")
    op.drop_column("accounts", "quiet_hours_end")
    op.drop_column("accounts", "quiet_hours_start")
    for column in (
        "time_zones",
        "status_changed_at",
        "unsubscribe_source",
        "unsubscribed_at",
        "consent_source",
        "consented_at",
    ):
        op.drop_column("subscribers", column)
