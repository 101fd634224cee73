"""indexes for the subscribers search filter (name and email prefixes, number digits)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 11:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Written out: autogenerate does not compare expression indexes.
_INDEXES = {
    "ix_subscribers_search_first_name": 'lower(first_name) COLLATE "C"',
    "ix_subscribers_search_last_name": 'lower(last_name) COLLATE "C"',
    "ix_subscribers_search_email": 'lower(email) COLLATE "C"',
    "ix_subscribers_search_number": 'number COLLATE "C"',
}


def upgrade() -> None:
    for name, key in _INDEXES.items():
        op.execute(f"CREATE INDEX {name} ON subscribers (account_id, {key})")


def downgrade() -> None:
    for name in _INDEXES:
        op.drop_index(name, table_name="subscribers")
