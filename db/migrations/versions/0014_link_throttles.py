"""link_throttles: wrong link codes and codes sent, per number, surviving a new offer

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 21:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.base

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "link_throttles",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("locked_until", db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("codes", sa.Integer(), nullable=False),
        sa.Column("window_start", db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_code_at", db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("expires_at", db.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_link_throttles")),
    )
    op.create_index(
        op.f("ix_link_throttles_expires_at"), "link_throttles", ["expires_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_link_throttles_expires_at"), table_name="link_throttles")
    op.drop_table("link_throttles")
