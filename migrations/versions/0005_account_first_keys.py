"""every key of an account's tables starts with account_id (Citus distributes by it)

subscribers' primary key (id) becomes (account_id, id), and the consent events refer to
their subscriber by (account_id, subscriber_id). Written by hand: autogenerate does not
notice a changed primary key.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 11:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_constraint(
        "fk_consent_events_subscriber_id_subscribers", "consent_events", type_="foreignkey"
    )
    op.drop_constraint("pk_subscribers", "subscribers", type_="primary")
    op.create_primary_key("pk_subscribers", "subscribers", ["account_id", "id"])
    op.create_foreign_key(
        "fk_consent_events_account_id_subscribers",
        "consent_events",
        "subscribers",
        ["account_id", "subscriber_id"],
        ["account_id", "id"],
        ondelete="CASCADE",
    )


def downgrade() -> None:
    op.drop_constraint(
        "fk_consent_events_account_id_subscribers", "consent_events", type_="foreignkey"
    )
    op.drop_constraint("pk_subscribers", "subscribers", type_="primary")
    op.create_primary_key("pk_subscribers", "subscribers", ["id"])
    op.create_foreign_key(
        "fk_consent_events_subscriber_id_subscribers",
        "consent_events",
        "subscribers",
        ["subscriber_id"],
        ["id"],
        ondelete="CASCADE",
    )
