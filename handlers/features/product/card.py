"""The product as its producer sees it: the record the form fills, its card, and its page in
/produk (where it stands and what to do next; every page ends in buttons, never a dead end).
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from db.businesses import get_business
from db.models import Business, Photo, Product, ProductStatus, Review
from db.products import ProductField, applies, get_product, photos_of
from db.reviews import latest_review, waiting
from handlers.features import catalogue
from handlers.features.buttons import ProductButton
from handlers.features.fields import BY_FIELD, FIELDS, PRODUCT_FIELD_LABELS, Draft
from handlers.features.product import numbers
from handlers.features.review.card import reason_text
from handlers.kit.context import Context, button
from handlers.kit.events import Button, MediaOut
from handlers.kit.forms.dates import date_text
from handlers.kit.labels import STATUS_LABELS
from handlers.rules.precheck import Rule, precheck
from handlers.rules.rubric import CRITERIA, CRITERION_LABELS

FLOW = "prod"
S = ProductStatus
# The fields with a line of their own on the card (features/fields.py), in their order.
ON_CARD = tuple(spec.field for spec in FIELDS if not isinstance(spec.card, str))


async def load(ctx: Context, product_id: object) -> Draft | None:
    """The product, if it is still this producer's own."""
    business = await get_business(ctx.session, owner_id=ctx.user.id)
    if not isinstance(product_id, int) or business is None:
        return None
    product = await get_product(ctx.session, product_id=product_id, business_id=business.id)
    return Draft(product, business, list(product.photos)) if product else None


def status_text(ctx: Context, product: Product) -> str:
    status = ctx.t(STATUS_LABELS[S(product.status)])
    return status + (" · " + ctx.t("round {n}", n=product.round) if product.round > 1 else "")


def field_text(ctx: Context, product: Product, field: ProductField, photos: list[Photo]) -> str:
    """A field's value on the card as features/fields.py declares it ("—": not given)."""
    card = BY_FIELD[field].card
    return ("—" if isinstance(card, str) else card(ctx.t, product, photos)) or "—"


def card_text(ctx: Context, product: Product, photos: list[Photo]) -> str:
    t = ctx.t
    lines = [
        f"📦 {product.name or t('(no name yet)')}",
        t("Status: {status}", status=status_text(ctx, product)),
        *(
            f"{t(PRODUCT_FIELD_LABELS[f])}: {field_text(ctx, product, f, photos)}"
            for f in ON_CARD
            if applies(product, f)
        ),
        *numbers.card_lines(ctx, product),  # curator assist: numbers, HS heading, markets
    ]
    return "\n".join(lines)


def warnings_text(ctx: Context, warnings: list[Rule]) -> str:
    return "\n".join(f"• {ctx.t(w.message)}" for w in warnings)


def card_with_warnings(ctx: Context, draft: Draft) -> str:
    text = card_text(ctx, draft.product, draft.photos)
    if warnings := precheck(draft.facts):
        text += "\n\n" + ctx.t("⚠️ Before curation:") + "\n" + warnings_text(ctx, warnings)
    return text


def media(ctx: Context, photos: list[Photo]) -> tuple[MediaOut, ...]:
    store, channel = ctx.media_store, ctx.incoming.sender.channel
    if store is None:
        return ()
    return tuple(
        MediaOut(str(store.path(p.store_key)), photo_id=p.id, cached_id=p.channel_ids.get(channel))
        for p in photos
    )


# --- its page in /produk ------------------------------------------------------------------


def _day(ctx: Context, moment: datetime | None) -> str:
    if moment is None:
        return "—"
    return date_text(ctx.t, moment.astimezone(ZoneInfo(ctx.settings.timezone)).date())


def back_row(ctx: Context) -> list[Button]:
    return [button(ctx.t("📦 My products"), "menu", "main", "products")]


async def next_step(ctx: Context, product: Product, review: Review | None) -> str:
    """One line for the list and the page: what happens next, or what to do."""
    t = ctx.t
    match product.status:
        case S.draft:
            return t("Finish it and submit it for curation.")
        case S.submitted:
            queue = await waiting(ctx.session, sectors=[product.sector] if product.sector else None)
            ids, since = [p.id for p in queue], _day(ctx, product.submitted_at)
            if product.id not in ids:
                return t("Waiting for a curator since {date}.", date=since)
            return t(
                "Waiting for a curator since {date}; number {place} of {total} in the queue.",
                date=since,
                place=ids.index(product.id) + 1,
                total=len(ids),
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
    t, pid = ctx.t, product.id
    photos = await photos_of(ctx.session, product_id=product.id)
    review = await latest_review(ctx.session, product_id=product.id)
    text = card_text(ctx, product, photos) + "\n\n" + await next_step(ctx, product, review)
    if review is not None and product.status in (S.revision_requested, S.rejected):
        text += "\n\n" + t("The curator's reasons:") + "\n" + reason_text(t, review)
    rows: list[list[Button]] = []
    match product.status:
        case S.submitted:
            rows.append([ProductButton("withdraw", pid).button(t("↩️ Withdraw to edit"))])
        case S.revision_requested:
            rows.append([ProductButton("edit", pid).button(t("✏️ Edit & submit again"))])
        case S.approved if review is not None:
            if review.scores:
                scores = ", ".join(
                    f"{t(CRITERION_LABELS[c])} {review.scores[c]}"
                    for c in CRITERIA
                    if c in review.scores
                )
                text += "\n" + t("Scores (1–3): {scores}", scores=scores)
            extra, extra_rows = catalogue.approval_extras(t, product, business)
            text += f"\n\n{extra}" if extra else ""
            rows += extra_rows
        case S.rejected:
            rows.append([ProductButton("copy", pid).button(t("📄 New product from this one"))])
    if product.precheck and product.status in (S.submitted, S.in_review):
        text += "\n" + t("Pre-check notes: {n}", n=len(product.precheck))
    rows.append(back_row(ctx))
    ctx.reply(text, buttons=rows, media=media(ctx, photos))
