"""catalogue: English product description, producer's consent to be contacted

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26 02:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("products") as batch:
        batch.add_column(sa.Column("description_en", sa.Text(), nullable=True))
    with op.batch_alter_table("businesses") as batch:
        batch.add_column(sa.Column("contact_consent", sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("businesses") as batch:
        batch.drop_column("contact_consent")
    with op.batch_alter_table("products") as batch:
        batch.drop_column("description_en")
