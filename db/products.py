"""Products and their photos: completeness, limits, and status changes by compare-and-set."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from sqlalchemy import func, inspect, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import contains_eager
from sqlalchemy.orm.util import identity_key

from db.models import Business, Photo, PhotoHash, Product, ProductStatus

S = ProductStatus
# How an export shows a column (db/exports.py's Column.kind).
ExportKind = Literal["int", "text", "keep", "code", "when", "bool", "list", "scores", "regency"]

# Which status each producer action leaves from, and where it goes (DESIGN.md's diagram).
TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "submit": (frozenset({S.draft, S.revision_requested}), S.submitted),
    "withdraw": (frozenset({S.submitted}), S.draft),
    "claim": (frozenset({S.submitted}), S.in_review),
    "release": (frozenset({S.in_review}), S.submitted),
    "approve": (frozenset({S.in_review}), S.approved),
    "revise": (frozenset({S.in_review}), S.revision_requested),
    "reject": (frozenset({S.in_review}), S.rejected),
    "undo": (frozenset({S.approved, S.rejected}), S.in_review),  # the curator's 30 s undo
}
EDITABLE = frozenset({S.draft, S.revision_requested})


class ProductField(StrEnum):
    """The product-field vocabulary, in the order a producer is asked: the form, the
    producer's card, the curators' card and a round's snapshot all name fields by it.
    Each field's data half is in `STORED` below; its label, question and card lines are in
    handlers/features/fields.py."""

    name = "name"
    sector = "sector"
    description = "description"
    description_en = "description_en"  # optional; "" when skipped
    name_en = "name_en"  # optional, asked after an English description; "" when skipped
    price = "price"
    unit = "unit"
    min_order = "min_order"
    capacity = "capacity"
    materials = "materials"
    shelf_life = "shelf_life"
    legal_docs = "legal_docs"
    photos = "photos"

    @property
    def column(self) -> str | None:
        """The Product column holding it (None: photos, which are rows of their own)."""
        return STORED[self].column


@dataclass(frozen=True, slots=True)
class Stored:
    """Where a product field is kept and how the data views show it: `column` on Product
    (None: photos, rows of their own); `data_key`, its key in the person's data export
    (/datasaya); `export`, its column in the products export (key, kind and width as
    db/exports.py's Column), or (a text) why the export leaves it out."""

    column: str | None
    data_key: str
    export: tuple[str, ExportKind, int] | str


F = ProductField
_NOT_A_COLUMN = "not a spreadsheet column"
_FREE_TEXT = "free text: " + _NOT_A_COLUMN
STORED: dict[ProductField, Stored] = {
    F.name: Stored("name", "name", ("name", "text", 30)),
    F.sector: Stored("sector", "sector", ("sector", "code", 22)),
    F.description: Stored("description", "description", _FREE_TEXT),
    F.description_en: Stored("description_en", "description_en", _FREE_TEXT),
    F.name_en: Stored(
        "name_en", "name_en", "the catalogue's name for buyers: not a spreadsheet column"
    ),
    F.price: Stored("price", "price_rupiah", ("price_idr", "int", 12)),
    F.unit: Stored("unit", "unit", ("unit", "text", 10)),
    F.min_order: Stored("min_order", "minimum_order", ("min_order", "int", 10)),
    F.capacity: Stored("capacity", "monthly_capacity", ("monthly_capacity", "int", 12)),
    F.materials: Stored("materials", "materials", _FREE_TEXT),
    F.shelf_life: Stored(
        "shelf_life_days", "shelf_life_days", "food products only: not a spreadsheet column"
    ),
    F.legal_docs: Stored("legal_docs", "legal_documents", ("legal_docs", "list", 20)),
    F.photos: Stored(None, "photos", "files: " + _NOT_A_COLUMN),
}
PRODUCT_FIELDS: tuple[ProductField, ...] = tuple(ProductField)
# What a round's snapshot compares (photos by their hashes).
SNAPSHOT_FIELDS: tuple[ProductField, ...] = PRODUCT_FIELDS
REQUIRED_FOR_SUBMIT: tuple[ProductField, ...] = (
    F.name,
    F.sector,
    F.price,
    F.unit,
    F.capacity,
    F.photos,
)
FOOD_SECTORS = frozenset({"food"})


def applies(product: Product, field: str) -> bool:
    if field == F.name_en:  # for the catalogue's buyers, beside an English description
        return bool(product.description_en)
    return field != F.shelf_life or product.sector in FOOD_SECTORS


def answered(product: Product, field: str, *, photo_count: int) -> bool:
    column = ProductField(field).column
    if column is None:
        return photo_count > 0
    return getattr(product, column) is not None


def unanswered(product: Product, *, photo_count: int) -> list[str]:
    return [
        f
        for f in PRODUCT_FIELDS
        if applies(product, f) and not answered(product, f, photo_count=photo_count)
    ]


def missing_for_submit(
    product: Product, business: Business | None, *, photo_count: int
) -> list[str]:
    """What must be filled before curators may see the product ("profile": the business)."""
    missing: list[str] = [
        f for f in REQUIRED_FOR_SUBMIT if not answered(product, f, photo_count=photo_count)
    ]
    if business is None or business.registered_at is None:
        missing.append("profile")
    return missing


async def get_product(
    session: AsyncSession, *, product_id: int, business_id: int | None = None
) -> Product | None:
    """The product with its photos in their order, read in one statement (a product form
    step reads them every time); None if it is not `business_id`'s."""
    stmt = (
        select(Product)
        .outerjoin(Product.photos)
        .options(contains_eager(Product.photos))
        .where(Product.id == product_id)
        .order_by(Photo.position)
    )
    if business_id is not None:
        stmt = stmt.where(Product.business_id == business_id)
    result = await session.execute(stmt.execution_options(populate_existing=True))
    return result.unique().scalar_one_or_none()


async def list_products(session: AsyncSession, *, business_id: int) -> list[Product]:
    result = await session.scalars(
        select(Product).where(Product.business_id == business_id).order_by(Product.id)
    )
    return list(result)


async def count_products(session: AsyncSession, *, business_id: int) -> int:
    return int(
        await session.scalar(
            select(func.count()).select_from(Product).where(Product.business_id == business_id)
        )
        or 0
    )


async def find_draft(session: AsyncSession, *, business_id: int) -> Product | None:
    """The newest product still being written (draft), if any."""
    return await session.scalar(
        select(Product)
        .where(Product.business_id == business_id, Product.status == S.draft)
        .order_by(Product.updated_at.desc(), Product.id.desc())
        .limit(1)
    )


async def create_product(session: AsyncSession, *, business: Business, now: datetime) -> Product:
    product = Product(
        business_id=business.id,
        legal_docs=None,
        status=S.draft,
        created_at=now,
        updated_at=now,
    )
    session.add(product)
    await session.flush()
    return product


COPIED = tuple(f.column for f in PRODUCT_FIELDS if f.column)  # a product's answers
# The curator assist's answers (issue 23), copied too.
ASSIST_COPIED = ("legal_numbers", "hs_code", "hs_source", "target_markets")
PHOTO_COPIED = ("position", "sha256", "store_key", "mime", "width", "height", "size")


async def copy_as_draft(
    session: AsyncSession, *, product: Product, business: Business, now: datetime
) -> Product:
    """A new draft with the product's answers and photos (the stored files are shared)."""
    new = await create_product(session, business=business, now=now)
    for name in COPIED:
        setattr(new, name, getattr(product, name))
    for name in ASSIST_COPIED:
        setattr(new, name, getattr(product, name))
    hashes = {
        h.photo_id: h
        for h in await session.scalars(select(PhotoHash).where(PhotoHash.product_id == product.id))
    }
    for photo in await photos_of(session, product_id=product.id):
        copied = {name: getattr(photo, name) for name in PHOTO_COPIED}
        hints, ids = list(photo.hints), dict(photo.channel_ids)
        twin = Photo(product_id=new.id, hints=hints, channel_ids=ids, **copied)
        session.add(twin)
        if (known := hashes.get(photo.id)) is not None:  # the copy keeps its hash
            await session.flush()
            bands = {b: getattr(known, b) for b in ("b0", "b1", "b2", "b3")}
            session.add(
                PhotoHash(
                    photo_id=twin.id,
                    product_id=new.id,
                    business_id=business.id,
                    hash=known.hash,
                    **bands,
                )
            )
    await session.flush()
    return new


async def photo_count(session: AsyncSession, *, product_id: int) -> int:
    return int(
        await session.scalar(
            select(func.count()).select_from(Photo).where(Photo.product_id == product_id)
        )
        or 0
    )


async def photos_of(session: AsyncSession, *, product_id: int) -> list[Photo]:
    result = await session.scalars(
        select(Photo).where(Photo.product_id == product_id).order_by(Photo.position)
    )
    return list(result)


async def has_photo(session: AsyncSession, *, product_id: int, sha256: str) -> bool:
    found = await session.scalar(
        select(Photo.id).where(Photo.product_id == product_id, Photo.sha256 == sha256)
    )
    return found is not None


async def add_photo(session: AsyncSession, *, product_id: int, **fields: Any) -> Photo:
    position = await session.scalar(
        select(func.coalesce(func.max(Photo.position), 0)).where(Photo.product_id == product_id)
    )
    photo = Photo(product_id=product_id, position=int(position or 0) + 1, **fields)
    session.add(photo)
    await session.flush()
    return photo


async def remove_photo(session: AsyncSession, *, product_id: int, position: int) -> Photo | None:
    """Delete the photo at `position` and close the gap; returns it (for its stored file)."""
    photos = await photos_of(session, product_id=product_id)
    doomed = next((p for p in photos if p.position == position), None)
    if doomed is None:
        return None
    product = session.identity_map.get(identity_key(Product, product_id))
    if product is not None and "photos" not in inspect(product).unloaded:
        product.photos.remove(doomed)  # a loaded product's photos are what is stored
    await session.delete(doomed)
    await session.flush()
    for new_position, photo in enumerate((p for p in photos if p is not doomed), start=1):
        photo.position = new_position
    return doomed


async def store_key_in_use(session: AsyncSession, *, store_key: str) -> bool:
    found = await session.scalar(select(Photo.id).where(Photo.store_key == store_key).limit(1))
    return found is not None


async def change_status(
    session: AsyncSession,
    *,
    product_id: int,
    action: str,
    expected: str,
    now: datetime,
    version: int | None = None,
) -> bool:
    """Move a product from `expected` by `action`; False when someone else moved it first.

    One UPDATE guarded by the expected status (and version): of two racing callers exactly
    one matches a row.
    """
    sources, target = TRANSITIONS[action]
    if expected not in sources:
        return False
    values: dict[str, Any] = {
        "status": target,
        "version": Product.version + 1,
        "updated_at": now,
    }
    if action == "submit":
        values["submitted_at"] = now
        if expected == S.revision_requested:
            values["round"] = Product.round + 1
    stmt = update(Product).where(Product.id == product_id, Product.status == expected)
    if version is not None:
        stmt = stmt.where(Product.version == version)
    result: Any = await session.execute(
        stmt.values(**values).execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)


async def remember_channel_ids(session: AsyncSession, *, channel: str, ids: dict[int, str]) -> None:
    photos = await session.scalars(select(Photo).where(Photo.id.in_(ids)))
    for photo in photos:
        if photo.channel_ids.get(channel) != ids[photo.id]:
            photo.channel_ids = {**photo.channel_ids, channel: ids[photo.id]}
