"""stats_snapshots: the admins' statistics computed once per scheduler tick and read by
/statistik and `kurasi stats`, instead of ~15 grouped statements over the whole history on
every call

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07 01:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from db.base import UTCDateTime

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "stats_snapshots",
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("claimed_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("stats", _JSON, nullable=True),
        sa.Column("computed_at", UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("timezone", name=op.f("pk_stats_snapshots")),
    )


def downgrade() -> None:
    op.drop_table("stats_snapshots")
