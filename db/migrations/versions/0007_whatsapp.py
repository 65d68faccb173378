"""whatsapp: sent messages with their delivery status, link offers, linked identities

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26 02:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.base

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "whatsapp_messages",
        sa.Column("message_id", sa.String(length=128), nullable=False),
        sa.Column("chat_id", sa.String(length=64), nullable=False),
        sa.Column("sent_at", db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("status_at", db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("error", sa.String(length=300), nullable=True),
        sa.PrimaryKeyConstraint("message_id", name=op.f("pk_whatsapp_messages")),
    )
    op.create_index(
        op.f("ix_whatsapp_messages_chat_id"), "whatsapp_messages", ["chat_id"], unique=False
    )
    op.create_table(
        "whatsapp_links",
        sa.Column("whatsapp_user_id", sa.Integer(), nullable=False),
        sa.Column("telegram_user_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("expires_at", db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("locked_until", db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("declined", sa.Boolean(), nullable=False),
        sa.Column("created_at", db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["whatsapp_user_id"],
            ["users.id"],
            name=op.f("fk_whatsapp_links_whatsapp_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["telegram_user_id"],
            ["users.id"],
            name=op.f("fk_whatsapp_links_telegram_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("whatsapp_user_id", name=op.f("pk_whatsapp_links")),
    )
    op.create_table(
        "user_aliases",
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("external_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_user_aliases_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("channel", "external_id", name=op.f("pk_user_aliases")),
    )
    op.create_index(op.f("ix_user_aliases_user_id"), "user_aliases", ["user_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_user_aliases_user_id"), table_name="user_aliases")
    op.drop_table("user_aliases")
    op.drop_table("whatsapp_links")
    op.drop_index(op.f("ix_whatsapp_messages_chat_id"), table_name="whatsapp_messages")
    op.drop_table("whatsapp_messages")
