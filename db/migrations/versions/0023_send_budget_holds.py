"""send budgets: holds (spans of future send slots no worker may use), set after a send that
may have reached the platform late

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07 01:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    holds = sa.JSON().with_variant(JSONB(), "postgresql")
    with op.batch_alter_table("send_budgets") as batch:
        batch.add_column(sa.Column("holds", holds, server_default="[]", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("send_budgets") as batch:
        batch.drop_column("holds")
