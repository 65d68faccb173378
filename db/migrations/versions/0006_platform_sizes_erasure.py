"""names sized to Telegram's limits; what erasing a producer removes from review chats

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 02:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    # Telegram: first name 64 + space + last name 64 characters.
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.alter_column(
            "display_name", existing_type=sa.String(length=128), type_=sa.String(length=129)
        )
    with op.batch_alter_table("reviews", schema=None) as batch_op:
        batch_op.alter_column(
            "curator_name", existing_type=sa.String(length=128), type_=sa.String(length=129)
        )
        batch_op.add_column(
            sa.Column("album_message_ids", _JSON, nullable=False, server_default=sa.text("'[]'"))
        )


def downgrade() -> None:
    with op.batch_alter_table("reviews", schema=None) as batch_op:
        batch_op.drop_column("album_message_ids")
        batch_op.alter_column(
            "curator_name", existing_type=sa.String(length=129), type_=sa.String(length=128)
        )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.alter_column(
            "display_name", existing_type=sa.String(length=129), type_=sa.String(length=128)
        )
