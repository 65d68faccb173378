"""export_requests: an admin's /ekspor, stored with the update that asked, so a restart or
a crash mid-export starts it again instead of losing it

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 01:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from db.base import UTCDateTime

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
_OPEN = "finished_at IS NULL"


def upgrade() -> None:
    op.create_table(
        "export_requests",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "user_id",
            sa.Integer(),
            sa.ForeignKey("users.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("spec", _JSON, nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("runs", sa.Integer(), nullable=False),
        sa.Column("lease_until", UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", UTCDateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_export_requests_user_id", "export_requests", ["user_id"])
    op.create_index(
        "ix_export_requests_open",
        "export_requests",
        ["id"],
        postgresql_where=sa.text(_OPEN),
        sqlite_where=sa.text(_OPEN),
    )


def downgrade() -> None:
    op.drop_index("ix_export_requests_open", table_name="export_requests")
    op.drop_index("ix_export_requests_user_id", table_name="export_requests")
    op.drop_table("export_requests")
