"""notifications go out as outbox rows: the outbox row names its notification, and a
notification handed to the outbox says when (so it is not claimed again)

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07 01:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.base

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("notification_id", sa.Integer(), nullable=True))
    with op.batch_alter_table("notifications") as batch:
        batch.add_column(sa.Column("queued_at", db.base.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("notifications") as batch:
        batch.drop_column("queued_at")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("notification_id")
