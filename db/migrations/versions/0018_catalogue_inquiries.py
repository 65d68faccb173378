"""the export catalogue: a product's optional English name, and buyers' inquiries

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06 21:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.base

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# The catalogue's search (db.catalogue.SEARCH_VECTOR at the time of writing): PostgreSQL only.
_ACCENTED = "àáâãäåāèéêëēìíîïīòóôõöøōùúûüūýÿñçčšž"
_PLAIN = "aaaaaaaeeeeeiiiiiooooooouuuuuyyncesz"
SEARCH_VECTOR = (
    "to_tsvector('simple'::regconfig, translate(lower("
    "coalesce(name, '') || ' ' || coalesce(name_en, '') || ' ' || "
    "coalesce(description, '') || ' ' || coalesce(description_en, '')), "
    f"'{_ACCENTED}', '{_PLAIN}'))"
)


def upgrade() -> None:
    with op.batch_alter_table("products") as batch:
        batch.add_column(sa.Column("name_en", sa.String(length=100), nullable=True))
    op.create_table(
        "inquiries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=True),
        sa.Column("business_id", sa.Integer(), nullable=True),
        sa.Column("product_name", sa.String(length=100), nullable=True),
        sa.Column("buyer_name", sa.String(length=100), nullable=False),
        sa.Column("company", sa.String(length=150), nullable=True),
        sa.Column("country", sa.String(length=60), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("quantity", sa.String(length=60), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("answer", sa.String(length=16), nullable=True),
        sa.Column("answered_at", db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["business_id"],
            ["businesses.id"],
            name=op.f("fk_inquiries_business_id_businesses"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_inquiries_product_id_products"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inquiries")),
    )
    op.create_index(op.f("ix_inquiries_product_id"), "inquiries", ["product_id"])
    op.create_index(op.f("ix_inquiries_business_id"), "inquiries", ["business_id"])
    op.create_index("ix_inquiries_source_created", "inquiries", ["source", "created_at"])
    op.create_index("ix_inquiries_state_created", "inquiries", ["state", "created_at"])
    if op.get_context().dialect.name == "postgresql":
        op.execute(f"CREATE INDEX ix_products_search ON products USING gin (({SEARCH_VECTOR}))")


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_products_search")
    op.drop_table("inquiries")
    with op.batch_alter_table("products") as batch:
        batch.drop_column("name_en")
