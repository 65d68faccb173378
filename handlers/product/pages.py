"""/produk's pages for a product that is not being written: where it stands and what to do
next. Every page ends in buttons (the next step, and back to the list), never a dead end."""

from __future__ import annotations

import copy
from datetime import datetime
from zoneinfo import ZoneInfo

from db.models import Business, Photo, Product, ProductStatus, Review
from db.products import PRODUCT_FIELDS, create_product, photos_of
from db.reviews import latest_review, waiting
from handlers import catalogue
from handlers.context import Context, button
from handlers.events import Button
from handlers.forms.dates import date_text
from handlers.product.card import card_text, media
from handlers.review.card import reason_text
from handlers.rubric import CRITERIA, CRITERION_LABELS

S = ProductStatus
LIST = "plist"  # the /produk buttons (handlers/product/submit.py names the same)
COPIED = tuple(f.column for f in PRODUCT_FIELDS if f.column)  # a product's answers
PHOTO_COPIED = (
    *("position", "sha256", "store_key", "mime", "width", "height", "size"),
    *("hints", "channel_ids"),
)


def _day(ctx: Context, moment: datetime | None) -> str:
    if moment is None:
        return "—"
    return date_text(ctx.t, moment.astimezone(ZoneInfo(ctx.settings.timezone)).date())


def scores_text(ctx: Context, review: Review) -> str:
    t = ctx.t
    return ", ".join(
        f"{t(CRITERION_LABELS[c])} {review.scores[c]}" for c in CRITERIA if c in review.scores
    )


async def queue_place(ctx: Context, product: Product) -> tuple[int, int] | None:
    """(place, length) of the product in its sector's queue of unclaimed submissions."""
    queue = await waiting(ctx.session, sectors=[product.sector] if product.sector else None)
    ids = [p.id for p in queue]
    return (ids.index(product.id) + 1, len(ids)) if product.id in ids else None


def back_row(ctx: Context) -> list[Button]:
    return [button(ctx.t("📦 My products"), "menu", "main", "products")]


async def next_step(ctx: Context, product: Product, review: Review | None) -> str:
    """One line for the list and the page: what happens next, or what to do."""
    t = ctx.t
    match product.status:
        case S.draft:
            return t("Finish it and submit it for curation.")
        case S.submitted:
            place = await queue_place(ctx, product)
            since = _day(ctx, product.submitted_at)
            if place is None:
                return t("Waiting for a curator since {date}.", date=since)
            return t(
                "Waiting for a curator since {date}; number {place} of {total} in the queue.",
                date=since,
                place=place[0],
                total=place[1],
            )
        case S.in_review:
            claimed = review.claimed_at if review is not None else None
            return t("A curator has been reviewing it since {date}.", date=_day(ctx, claimed))
        case S.revision_requested:
            return t("Change what the curator asks and submit it again.")
        case S.approved:
            grade = review.grade if review is not None and review.grade else "—"
            decided = review.decided_at if review is not None else None
            return t("Approved with grade {grade} on {date}.", grade=grade, date=_day(ctx, decided))
        case S.rejected:
            return t("Not approved. You can start a new product from it.")
    return ""


async def show(ctx: Context, product: Product, business: Business) -> None:
    """The page of a product in any state but draft."""
    t = ctx.t
    photos = await photos_of(ctx.session, product_id=product.id)
    review = await latest_review(ctx.session, product_id=product.id)
    text = card_text(ctx, product, photos) + "\n\n" + await next_step(ctx, product, review)
    rows: list[list[Button]] = []
    pid = str(product.id)
    match product.status:
        case S.submitted:
            rows.append([button(t("↩️ Withdraw to edit"), LIST, "withdraw", pid)])
        case S.revision_requested:
            if review is not None:
                text += "\n\n" + t("The curator's reasons:") + "\n" + reason_text(t, review)
            rows.append([button(t("✏️ Edit & submit again"), LIST, "edit", pid)])
        case S.approved if review is not None:
            if review.scores:
                text += "\n" + t("Scores (1–3): {scores}", scores=scores_text(ctx, review))
            extra, extra_rows = catalogue.approval_extras(t, product, business)
            text += f"\n\n{extra}" if extra else ""
            rows += extra_rows
        case S.rejected:
            if review is not None:
                text += "\n\n" + t("The curator's reasons:") + "\n" + reason_text(t, review)
            rows.append([button(t("📄 New product from this one"), LIST, "copy", pid)])
    if product.precheck and product.status in (S.submitted, S.in_review):
        text += "\n" + t("Pre-check notes: {n}", n=len(product.precheck))
    rows.append(back_row(ctx))
    ctx.reply(text, buttons=rows, media=media(ctx, photos))


async def copy_as_draft(ctx: Context, product: Product, business: Business) -> Product:
    """A new draft with the product's answers and photos (the files are shared)."""
    new = await create_product(ctx.session, business=business, now=ctx.now)
    for name in COPIED:
        setattr(new, name, getattr(product, name))
    for photo in await photos_of(ctx.session, product_id=product.id):
        copied = {name: copy.copy(getattr(photo, name)) for name in PHOTO_COPIED}
        ctx.session.add(Photo(product_id=new.id, **copied))
    await ctx.session.flush()
    return new
