"""Curator assist data (issue 23): photo hashes and their banded lookup, the sector's
median price. Legality numbers live on the product (`legal_numbers`); market requirements
in db/requirements.py."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import BigInteger, Integer, any_, cast, func, literal, select, union_all
from sqlalchemy.dialects.postgresql import ARRAY, BIT
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import PhotoHash, Product, ProductStatus

MEDIAN_SAMPLE = 500  # the newest approved prices of a sector and unit


def _bands(value: int, bits: int = 16, count: int = 4) -> tuple[int, ...]:
    unsigned = value + (1 << 64) if value < 0 else value
    return tuple((unsigned >> (bits * i)) & ((1 << bits) - 1) for i in range(count))


async def store_photo_hash(
    session: AsyncSession, *, photo_id: int, product_id: int, business_id: int, value: int
) -> None:
    """`value`: the signed 64-bit hash."""
    b0, b1, b2, b3 = _bands(value)
    session.add(
        PhotoHash(
            photo_id=photo_id,
            product_id=product_id,
            business_id=business_id,
            hash=value,
            b0=b0,
            b1=b1,
            b2=b2,
            b3=b3,
        )
    )
    await session.flush()


async def product_hashes(session: AsyncSession, *, product_id: int) -> dict[int, int]:
    rows = await session.execute(
        select(PhotoHash.photo_id, PhotoHash.hash).where(PhotoHash.product_id == product_id)
    )
    return {photo_id: value for photo_id, value in rows.all()}


async def near_photos(
    session: AsyncSession,
    *,
    value: int,
    probes: Sequence[Sequence[int]],
    max_distance: int,
    exclude_business_id: int | None,
    limit: int = 5,
) -> list[tuple[int, int, int, int]]:
    """Stored photos of other businesses within `max_distance` bits of `value` (signed):
    (photo_id, product_id, business_id, distance), nearest first. `probes[i]` are the band
    values to look up in band i (handlers/rules/photo_hash.probes)."""
    columns = (PhotoHash.b0, PhotoHash.b1, PhotoHash.b2, PhotoHash.b3)
    picked = (PhotoHash.photo_id, PhotoHash.product_id, PhotoHash.business_id, PhotoHash.hash)
    # One select per band, joined: each is an index-only scan of its covering index on
    # PostgreSQL (an OR of the four would be a bitmap scan reading the table's pages).
    postgres = session.get_bind().dialect.name == "postgresql"

    def among(column: Any, values: Sequence[int]) -> Any:
        if postgres:  # one array parameter: nothing to render per call
            return column == any_(literal(list(values), ARRAY(Integer)))
        return column.in_(list(values))

    parts = [
        select(*picked).where(among(column, values))
        for column, values in zip(columns, probes, strict=True)
    ]
    near = union_all(*parts).subquery()
    stmt = select(near.c.photo_id, near.c.product_id, near.c.business_id, near.c.hash)
    if exclude_business_id is not None:
        stmt = stmt.where(near.c.business_id != exclude_business_id)
    if postgres:  # count the differing bits in the database: only matches come back
        xor = near.c.hash.op("#")(literal(value, BigInteger))
        stmt = stmt.where(func.bit_count(cast(xor, BIT(64))) <= max_distance).limit(limit * 8)
    found: dict[int, tuple[int, int, int, int]] = {}
    unsigned = value + (1 << 64) if value < 0 else value
    for photo_id, product_id, business_id, other in (await session.execute(stmt)).all():
        d = (unsigned ^ (other + (1 << 64) if other < 0 else other)).bit_count()
        if d <= max_distance:  # a photo matching in two bands comes twice
            found[photo_id] = (photo_id, product_id, business_id, d)
    return sorted(found.values(), key=lambda f: (f[3], f[0]))[:limit]


async def sector_median_price(
    session: AsyncSession, *, sector: str | None, unit: str | None, exclude_product_id: int
) -> list[int]:
    """Prices of the newest approved products of the sector and unit (the median is the
    caller's: handlers/rules/plausibility.median)."""
    if not sector:
        return []
    stmt = (
        select(Product.price)
        .where(
            Product.status == ProductStatus.approved,
            Product.sector == sector,
            Product.price.is_not(None),
            Product.id != exclude_product_id,
        )
        .order_by(Product.id.desc())
        .limit(MEDIAN_SAMPLE)
    )
    if unit:
        stmt = stmt.where(func.lower(Product.unit) == unit.lower())
    return [int(p) for p in await session.scalars(stmt) if p is not None]


async def product_names(session: AsyncSession, *, product_ids: Sequence[int]) -> dict[int, str]:
    rows = await session.execute(
        select(Product.id, Product.name).where(Product.id.in_(list(product_ids)))
    )
    return {pid: name or "" for pid, name in rows.all()}
