"""curator assist: legality numbers, HS heading, target markets and flags on products;
banded perceptual hashes of photos; market requirements

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 21:10:00
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("products") as batch:
        batch.add_column(
            sa.Column("legal_numbers", _json(), nullable=False, server_default=sa.text("'{}'"))
        )
        batch.add_column(sa.Column("hs_code", sa.String(length=12), nullable=True))
        batch.add_column(sa.Column("hs_source", sa.String(length=12), nullable=True))
        batch.add_column(sa.Column("target_markets", _json(), nullable=True))
        batch.add_column(
            sa.Column("flags", _json(), nullable=False, server_default=sa.text("'[]'"))
        )
    with op.batch_alter_table("products") as batch:
        batch.alter_column("legal_numbers", server_default=None)
        batch.alter_column("flags", server_default=None)
    op.create_table(
        "photo_hashes",
        sa.Column("photo_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("business_id", sa.Integer(), nullable=False),
        sa.Column("hash", sa.BigInteger(), nullable=False),
        sa.Column("b0", sa.Integer(), nullable=False),
        sa.Column("b1", sa.Integer(), nullable=False),
        sa.Column("b2", sa.Integer(), nullable=False),
        sa.Column("b3", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["photo_id"],
            ["photos.id"],
            name=op.f("fk_photo_hashes_photo_id_photos"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_photo_hashes_product_id_products"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["business_id"],
            ["businesses.id"],
            name=op.f("fk_photo_hashes_business_id_businesses"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("photo_id", name=op.f("pk_photo_hashes")),
    )
    covers = ["hash", "business_id", "product_id", "photo_id"]  # index-only lookups
    for band in ("b0", "b1", "b2", "b3"):
        op.create_index(
            f"ix_photo_hashes_{band}", "photo_hashes", [band], postgresql_include=covers
        )
    op.create_index(op.f("ix_photo_hashes_product_id"), "photo_hashes", ["product_id"])
    op.create_index(op.f("ix_photo_hashes_business_id"), "photo_hashes", ["business_id"])
    op.create_table(
        "market_requirements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("destination", sa.String(length=8), nullable=False),
        sa.Column("sector", sa.String(length=16), nullable=False),
        sa.Column("requirement", sa.String(length=40), nullable=False),
        sa.Column("met_by", sa.String(length=60), nullable=False),
        sa.Column("label_en", sa.String(length=300), nullable=False),
        sa.Column("label_id", sa.String(length=300), nullable=False),
        sa.Column("source", sa.String(length=300), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_market_requirements")),
        sa.UniqueConstraint(
            "destination",
            "sector",
            "requirement",
            name=op.f("uq_market_requirements_destination_sector_requirement"),
        ),
    )


def downgrade() -> None:
    op.drop_table("market_requirements")
    op.drop_table("photo_hashes")
    with op.batch_alter_table("products") as batch:
        for column in ("flags", "target_markets", "hs_source", "hs_code", "legal_numbers"):
            batch.drop_column(column)
