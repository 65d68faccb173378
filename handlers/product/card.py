"""The product as its producer sees it: the record the form fills, and its card."""

from __future__ import annotations

from dataclasses import dataclass

from db.businesses import get_business
from db.models import Business, Photo, Product, ProductStatus
from db.products import PRODUCT_FIELDS, ProductField, applies, get_product, photos_of
from handlers.context import Context
from handlers.events import MediaOut
from handlers.labels import (
    PRODUCT_FIELD_LABELS,
    STATUS_LABELS,
    legal_text,
    rupiah,
    sector_text,
    thousands,
)
from handlers.precheck import Facts, Rule, precheck

FLOW = "prod"


@dataclass
class Draft:
    """The product form's record: the product, its business and its photos."""

    product: Product
    business: Business
    photos: list[Photo]

    @property
    def facts(self) -> Facts:
        return Facts(self.product, self.business, self.photos)


async def load(ctx: Context, product_id: object) -> Draft | None:
    """The product, if it is still this producer's own."""
    business = await get_business(ctx.session, owner_id=ctx.user.id)
    if not isinstance(product_id, int) or business is None:
        return None
    product = await get_product(ctx.session, product_id=product_id, business_id=business.id)
    if product is None:
        return None
    return Draft(product, business, await photos_of(ctx.session, product_id=product.id))


def status_text(ctx: Context, product: Product) -> str:
    status = ctx.t(STATUS_LABELS[ProductStatus(product.status)])
    if product.round > 1:
        status += " · " + ctx.t("round {n}", n=product.round)
    return status


def field_text(ctx: Context, product: Product, field: ProductField, photos: list[Photo]) -> str:
    t = ctx.t
    unit = product.unit or ""
    p = product
    values = {
        ProductField.name: p.name,
        ProductField.sector: sector_text(t, p.sector) if p.sector else None,
        ProductField.description: p.description,
        ProductField.description_en: p.description_en,
        ProductField.price: f"{rupiah(p.price)} / {unit}".rstrip(" /") if p.price else None,
        ProductField.unit: p.unit,
        ProductField.min_order: f"{thousands(p.min_order)} {unit}" if p.min_order else None,
        ProductField.capacity: f"{thousands(p.capacity)} {unit}" if p.capacity else None,
        ProductField.materials: p.materials,
        ProductField.shelf_life: t("{n} days", n=p.shelf_life_days) if p.shelf_life_days else None,
        ProductField.legal_docs: legal_text(t, p.legal_docs) if p.legal_docs is not None else None,
        ProductField.photos: str(len(photos)),
    }
    return values[field] or "—"


ON_CARD = tuple(f for f in PRODUCT_FIELDS if f not in (ProductField.name, ProductField.unit))


def card_text(ctx: Context, product: Product, photos: list[Photo]) -> str:
    t = ctx.t
    lines = [
        f"📦 {product.name or t('(no name yet)')}",
        t("Status: {status}", status=status_text(ctx, product)),
    ]
    for field in ON_CARD:
        if applies(product, field):
            lines.append(
                f"{t(PRODUCT_FIELD_LABELS[field])}: {field_text(ctx, product, field, photos)}"
            )
    return "\n".join(lines)


def warnings_text(ctx: Context, warnings: list[Rule]) -> str:
    return "\n".join(f"• {ctx.t(w.message)}" for w in warnings)


def card_with_warnings(ctx: Context, draft: Draft) -> str:
    text = card_text(ctx, draft.product, draft.photos)
    warnings = precheck(draft.facts)
    if warnings:
        text += "\n\n" + ctx.t("⚠️ Before curation:") + "\n" + warnings_text(ctx, warnings)
    return text


def media(ctx: Context, photos: list[Photo]) -> tuple[MediaOut, ...]:
    store = ctx.media_store
    if store is None:
        return ()
    channel = ctx.incoming.sender.channel
    return tuple(
        MediaOut(
            path=str(store.path(p.store_key)), photo_id=p.id, cached_id=p.channel_ids.get(channel)
        )
        for p in photos
    )
