"""whatsapp_inbox: messages acknowledged to Meta and not handled yet

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 21:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.base

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "whatsapp_inbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.String(length=128), nullable=False),
        sa.Column("chat_id", sa.String(length=64), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("received_at", db.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_whatsapp_inbox")),
        sa.UniqueConstraint("message_id", name=op.f("uq_whatsapp_inbox_message_id")),
    )
    op.create_index("ix_whatsapp_inbox_sender", "whatsapp_inbox", ["chat_id", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_whatsapp_inbox_sender", table_name="whatsapp_inbox")
    op.drop_table("whatsapp_inbox")
