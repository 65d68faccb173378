"""A product's life as its producer moves it: opened, sent to the curators, taken back, or
begun again as a new draft from a rejected one."""

from __future__ import annotations

from collections.abc import Sequence

from db.businesses import get_business
from db.models import Business, Product, ProductStatus
from db.products import (
    EDITABLE,
    ProductField,
    change_status,
    count_products,
    missing_for_submit,
)
from db.reviews import close_unclaimed_round, record
from handlers.features.common import menu_buttons
from handlers.features.fields import PRODUCT_FIELD_LABELS, Draft
from handlers.features.product.card import FLOW, show
from handlers.features.review.assist import assess
from handlers.features.review.notices import submitted, withdrawn
from handlers.kit.context import Context
from handlers.kit.events import Button
from handlers.rules.precheck import precheck

S = ProductStatus
CONFIRM = "confirm"
CARD = "card"


async def submit(ctx: Context, draft: Draft, *, confirmed: bool) -> None:
    """Missing answers are asked first; the pre-check's warnings are confirmed (CONFIRM)."""
    product, t = draft.product, ctx.t
    if missing := missing_for_submit(product, draft.business, photo_count=len(draft.photos)):
        names = [
            t(PRODUCT_FIELD_LABELS[ProductField(f)])
            if f in PRODUCT_FIELD_LABELS
            else t("your business profile (/profil)")
            for f in missing
        ]
        ctx.reply(
            t("Before it can be submitted, please fill in: {fields}.", fields=", ".join(names))
        )
        ctx.update_data(editing=False)
        ctx.goto(FLOW, next((f for f in missing if f in PRODUCT_FIELD_LABELS), CARD))
        ctx.reprompt()
        return
    warnings = precheck(draft.facts)
    if warnings and not confirmed:
        ctx.goto(FLOW, CONFIRM)
        ctx.reprompt()
        return
    product.precheck = [w.code for w in warnings]
    assessed = await assess(
        ctx.session,
        product=product,
        business=draft.business,
        photos=draft.photos,
        today=ctx.today,
    )
    product.flags = assessed.flags  # for the queue's triage (handlers/features/review/assist.py)
    await ctx.session.flush()
    moved = await _move(ctx, product, "submit", expected=product.status)
    ctx.end_flow()
    if not moved:
        ctx.reply(t("This product changed in the meantime. Open it again with /produk."))
        return
    await ctx.session.refresh(product)
    await submitted(ctx, product)
    ctx.reply(
        t(
            "📤 “{name}” is submitted for curation (round {round}). A certified curator will "
            "review it; I will tell you about every change. /produk shows its status.",
            name=product.name,
            round=product.round,
        ),
        buttons=menu_buttons(ctx),
    )


async def _move(ctx: Context, product: Product, action: str, *, expected: str) -> bool:
    """The producer's status change, by compare-and-set on status and version."""
    return await change_status(
        ctx.session,
        product_id=product.id,
        action=action,
        expected=expected,
        version=product.version,
        now=ctx.now,
    )


async def open_product(ctx: Context, product: Product, *, edit: bool = False) -> None:
    """A draft (or, with `edit`, a product sent back for revision) opens its card in the
    form; any other shows where it stands and what to do next."""
    if product.status == S.draft or (edit and product.status in EDITABLE):
        ctx.goto(FLOW, CARD)
        ctx.update_data(product_id=product.id, editing=False, album=None)
        ctx.reprompt()
    elif (business := await get_business(ctx.session, owner_id=ctx.user.id)) is not None:
        await show(ctx, product, business)


async def withdraw(ctx: Context, product: Product) -> None:
    if not await _move(ctx, product, "withdraw", expected=S.submitted):
        ctx.reply(ctx.t("A curator has already started on it, so it can't be withdrawn now."))
        return
    await ctx.session.refresh(product)
    by, now = ctx.user.id, ctx.now
    await record(ctx.session, action="withdraw", product=product, actor_user_id=by, now=now)
    if (closed := await close_unclaimed_round(ctx.session, product_id=product.id)) is not None:
        withdrawn(ctx, closed)
    ctx.reply(ctx.t("Withdrawn. It is a draft again — change what you need and submit it again."))
    await open_product(ctx, product)


async def at_limit(
    ctx: Context, business: Business, buttons: Sequence[Sequence[Button]] = ()
) -> bool:
    """The business has as many products as it may: say so (and offer `buttons`)."""
    limit = ctx.settings.max_products
    if await count_products(ctx.session, business_id=business.id) < limit:
        return False
    ctx.reply(
        ctx.t("You have reached the limit of {n} products. Withdraw or finish one first.", n=limit),
        buttons=buttons,
    )
    return True
