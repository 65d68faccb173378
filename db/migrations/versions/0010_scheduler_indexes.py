"""indexes for the scheduler's set-based queries and the metrics' queue depths

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-26 02:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (name, table, columns, partial condition or None) — the same list as the models declare.
INDEXES: tuple[tuple[str, str, list[str], str | None], ...] = (
    ("ix_products_status_updated", "products", ["status", "updated_at"], None),
    ("ix_notifications_due", "notifications", ["due_at", "id"], "sent_at IS NULL"),
    ("ix_reviews_open_touched", "reviews", ["touched_at"], "decision IS NULL"),
    ("ix_reviews_decided_at", "reviews", ["decided_at"], None),
    ("ix_reviews_created_at", "reviews", ["created_at"], None),
    ("ix_fairs_end_date", "fairs", ["end_date"], None),
    ("ix_users_admins", "users", ["id"], "is_admin"),
    ("ix_outbox_waiting", "outbox", ["id"], "sent_at IS NULL AND failed_at IS NULL"),
)


def upgrade() -> None:
    for name, table, columns, where in INDEXES:
        condition = sa.text(where) if where else None
        op.create_index(name, table, columns, postgresql_where=condition, sqlite_where=condition)


def downgrade() -> None:
    for name, table, _columns, _where in reversed(INDEXES):
        op.drop_index(name, table_name=table)
