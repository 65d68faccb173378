"""outbox carries any message to someone else, retried with backoff

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 02:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.base

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("payload", db.base.JSONType, nullable=True))
        batch.add_column(
            sa.Column("next_attempt_at", db.base.UTCDateTime(timezone=True), nullable=True)
        )
        batch.add_column(sa.Column("held_until", db.base.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("held_until")
        batch.drop_column("next_attempt_at")
        batch.drop_column("payload")
