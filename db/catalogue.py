"""What the public catalogue reads: approved products with public fields only, streamed.

Nothing here takes a list of ids that grows with the catalogue: full reads walk the approved
products by id in batches (keyset), photos of a batch are read by the batch's id range, and
only a page's worth of ids (a bounded number) is ever passed as parameters.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, String, and_, cast, func, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement as _Column

from db.models import SEARCH_VECTOR, Business, Photo, Product, ProductStatus, Review
from db.regions import get_region

BATCH = 1000
MAX_IDS = 200  # ids passed at once: a page, never the catalogue
MAX_TOKENS = 8
_ACCENTED = "àáâãäåāèéêëēìíîïīòóôõöøōùúûüūýÿñçčšž"
_PLAIN = "aaaaaaaeeeeeiiiiiooooooouuuuuyyncesz"


def fold(text: str) -> str:
    """Lower case without accents: what search compares ("Kursi Jati" ~ "kursi jatí")."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def tokens(query: str) -> list[str]:
    """The words of a search (letters and digits), folded, at most MAX_TOKENS of them."""
    words = [w[:40] for w in re.split(r"[\W_]+", fold(query[:200])) if w]
    return list(dict.fromkeys(words))[:MAX_TOKENS]


@dataclass(frozen=True, slots=True)
class CataloguePhoto:
    id: int
    position: int
    store_key: str
    sha256: str


@dataclass(frozen=True, slots=True)
class CatalogueEntry:
    """What the public may see of an approved product: nothing else leaves through here."""

    id: int
    name: str
    sector: str
    description_id: str | None
    description_en: str | None
    price_idr: int | None
    unit: str | None
    min_order: int | None
    monthly_capacity: int | None
    certifications: list[str]
    grade: str | None
    approved_at: datetime | None
    business_name: str
    regency_code: str | None
    regency: str | None
    whatsapp: str | None  # only when the producer agreed to be contacted
    photos: list[CataloguePhoto] = field(default_factory=list)
    name_en: str | None = None
    materials: str | None = None
    shelf_life_days: int | None = None
    contact_consent: bool = False
    updated_at: datetime | None = None
    hs_code: str | None = None  # confirmed by the producer or a curator (curator assist)


@dataclass(frozen=True, slots=True)
class IndexRow:
    """One approved product as the listing orders and filters it (no text)."""

    id: int
    grade: str | None
    sector: str
    region_code: str | None
    stamp: str  # changes whenever anything shown of the product changes


def _regency(code: str | None) -> str | None:
    region = get_region(code) if code else None
    return region.label if region else None


def _whatsapp(phone: str | None, consent: bool | None) -> str | None:
    digits = re.sub(r"[^0-9]", "", phone or "")
    return f"https://wa.me/{digits}" if consent is True and digits else None


def _approved_review() -> ColumnElement[bool]:
    return and_(
        Review.product_id == Product.id,
        Review.round == Product.round,
        Review.decision == "approved",
    )


_APPROVED = Product.status == ProductStatus.approved


def _entries_query() -> Any:
    return (
        select(Product, Business, Review)
        .join(Business, Business.id == Product.business_id)
        .outerjoin(Review, _approved_review())
        .where(_APPROVED)
    )


def _entry(
    p: Product, b: Business, r: Review | None, photos: list[CataloguePhoto]
) -> CatalogueEntry:
    updated = max(p.updated_at, b.updated_at) if p.updated_at and b.updated_at else p.updated_at
    return CatalogueEntry(
        id=p.id,
        name=p.name or "",
        name_en=p.name_en or None,
        sector=p.sector or "other",
        description_id=p.description,
        description_en=p.description_en or None,  # "" when the producer skipped it
        price_idr=p.price,
        unit=p.unit,
        min_order=p.min_order,
        monthly_capacity=p.capacity,
        materials=p.materials or None,
        shelf_life_days=p.shelf_life_days,
        hs_code=p.hs_code or None,
        certifications=list(p.legal_docs or []),
        grade=r.grade if r else None,
        approved_at=r.decided_at if r else None,
        business_name=b.name or "",
        regency_code=b.region_code,
        regency=_regency(b.region_code),
        whatsapp=_whatsapp(b.phone, b.contact_consent),
        contact_consent=b.contact_consent is True,
        updated_at=updated,
        photos=photos,
    )


async def _photos_in_range(
    session: AsyncSession, first: int, last: int
) -> dict[int, list[CataloguePhoto]]:
    out: dict[int, list[CataloguePhoto]] = {}
    rows = await session.execute(
        select(Photo.product_id, Photo.id, Photo.position, Photo.store_key, Photo.sha256)
        .join(Product, Product.id == Photo.product_id)
        .where(Photo.product_id.between(first, last), _APPROVED)
        .order_by(Photo.product_id, Photo.position)
    )
    for product_id, photo_id, position, key, sha in rows.all():
        out.setdefault(product_id, []).append(CataloguePhoto(photo_id, position, key, sha))
    return out


async def stream_entries(
    session: AsyncSession, *, batch: int = BATCH, after_id: int = 0
) -> AsyncIterator[list[CatalogueEntry]]:
    """Every approved product, by id, a batch at a time (keyset: flat memory, no id lists)."""
    last = after_id
    while True:
        found = (
            await session.execute(
                _entries_query().where(Product.id > last).order_by(Product.id).limit(batch)
            )
        ).all()
        if not found:
            return
        first, last = found[0][0].id, found[-1][0].id
        photos = await _photos_in_range(session, first, last)
        yield [_entry(p, b, r, photos.get(p.id, [])) for p, b, r in found]
        session.expunge_all()  # a batch is forgotten once used
        if len(found) < batch:
            return


async def entries_by_id(session: AsyncSession, *, ids: Sequence[int]) -> list[CatalogueEntry]:
    """The approved products among `ids` (a page: at most MAX_IDS), in the order given."""
    wanted = list(dict.fromkeys(ids))[:MAX_IDS]
    if not wanted:
        return []
    found = (await session.execute(_entries_query().where(Product.id.in_(wanted)))).all()
    photos: dict[int, list[CataloguePhoto]] = {}
    for photo in (
        await session.execute(
            select(Photo.product_id, Photo.id, Photo.position, Photo.store_key, Photo.sha256)
            .where(Photo.product_id.in_(wanted))
            .order_by(Photo.product_id, Photo.position)
        )
    ).all():
        photos.setdefault(photo[0], []).append(CataloguePhoto(*photo[1:]))
    by_id = {p.id: _entry(p, b, r, photos.get(p.id, [])) for p, b, r in found}
    return [by_id[i] for i in wanted if i in by_id]


async def entry(session: AsyncSession, *, product_id: int) -> CatalogueEntry | None:
    found = await entries_by_id(session, ids=[product_id])
    return found[0] if found else None


async def stamp(session: AsyncSession) -> tuple[int, str]:
    """A cheap fingerprint of everything public: how many approved products, and the latest
    change to one of them or to any business (an index-only scan on products)."""
    count, latest = (
        await session.execute(select(func.count(), func.max(Product.updated_at)).where(_APPROVED))
    ).one()
    business = await session.scalar(select(func.max(Business.updated_at)))
    return int(count), f"{latest}|{business}"


async def index_rows(
    session: AsyncSession, *, batch: int = 10_000
) -> AsyncIterator[list[IndexRow]]:
    """Every approved product's ordering fields, oldest approval first, in batches. Each row
    comes as one text the database puts together ("id|grade|sector|regency|stamp"): at
    100,000 products, building result rows of several typed columns costs more than the
    query itself."""
    line = (
        cast(Product.id, String)
        + "|"
        + func.coalesce(Review.grade, "")
        + "|"
        + func.coalesce(Product.sector, "other")
        + "|"
        + func.coalesce(Business.region_code, "")
        + "|"
        + cast(Product.updated_at, String)
        + "|"
        + cast(Business.updated_at, String)
        + "|"
        + func.coalesce(cast(Review.decided_at, String), "")
    )
    stmt = (
        select(line)
        .join(Business, Business.id == Product.business_id)
        .outerjoin(Review, _approved_review())
        .where(_APPROVED)
        .order_by(Review.decided_at, Product.id)
        .execution_options(yield_per=batch)
    )
    result = await session.stream(stmt)
    async for part in result.partitions(batch):
        rows = []
        for (text_,) in part:
            pid, grade, sector, region, stamp = text_.split("|", 4)
            rows.append(IndexRow(int(pid), grade or None, sector, region or None, stamp + grade))
        yield rows


def _folded(column: Any, dialect: str) -> _Column[str]:
    if dialect == "sqlite":
        return func.kurasi_fold(column)  # registered on every SQLite connection (db.engine)
    return func.translate(func.lower(column), _ACCENTED, _PLAIN)


async def search_ids(session: AsyncSession, *, query: str) -> set[int]:
    """Approved products whose name or any description holds every word of `query`
    (case- and accent-insensitive)."""
    words = tokens(query)
    if not words:
        return set()
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        # Every word as a prefix of a word ("kursi jati" finds "Kursi Teras Jati").
        query_text = " & ".join(f"{w}:*" for w in words)
        matches = text(f"{SEARCH_VECTOR} @@ to_tsquery('simple'::regconfig, :q)").bindparams(
            q=query_text
        )
        return await _ids(session, select(Product.id).where(_APPROVED, matches))
    columns = [Product.name, Product.name_en, Product.description, Product.description_en]
    folded = [_folded(func.coalesce(c, ""), dialect) for c in columns]
    conditions = []
    for word in words:
        pattern = "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        conditions.append(or_(*(f.like(pattern, escape="\\") for f in folded)))
    return await _ids(session, select(Product.id).where(_APPROVED, *conditions))


async def _ids(session: AsyncSession, stmt: Any) -> set[int]:
    result = await session.stream(stmt.execution_options(yield_per=BATCH))
    found: set[int] = set()
    async for part in result.partitions(BATCH):
        found.update(row[0] for row in part)
    return found


async def catalogue_photo(session: AsyncSession, *, photo_id: int) -> CataloguePhoto | None:
    """A photo of an approved product; None for any other (a draft's, a rejected one's)."""
    photo = await session.scalar(
        select(Photo)
        .join(Product, Product.id == Photo.product_id)
        .where(Photo.id == photo_id, _APPROVED)
    )
    if photo is None:
        return None
    return CataloguePhoto(photo.id, photo.position, photo.store_key, photo.sha256)
