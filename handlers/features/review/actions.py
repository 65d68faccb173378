"""Curator actions on a card: claim, score, release, take the next one; the decisions
themselves (approve, revise, reject, undo) are decisions.py's.

The card is one message edited in place; every press is checked against the stored state
(who holds it, what status the product has) and against where it came from (access.py), so an
old card, a second curator or a forged button can never change anything.
"""

from __future__ import annotations

from db.models import Business, Product, ProductStatus, Review
from db.products import photos_of
from db.reviews import claim, latest_review, product_with_business, release, waiting
from handlers.features.review import decisions
from handlers.features.review.access import chat_sectors, display_name, group_t, refusal
from handlers.features.review.assist import find_copies
from handlers.features.review.card import Act, ReviewPayload, held_buttons, waiting_buttons
from handlers.features.review.notices import CLAIMED, tell_producer
from handlers.features.review.refresh import already_done, load, reload, show
from handlers.kit.context import Context
from handlers.kit.events import ButtonPress, Text
from handlers.kit.labels import STATUS_LABELS, region_label
from handlers.kit.payload import Payload

S = ProductStatus


async def on_group_button(ctx: Context, press: ButtonPress) -> None:
    raw = Payload.unpack(press.payload)
    payload = ReviewPayload.unpack(raw) if raw is not None else None
    if payload is None:
        ctx.reply("", alert=group_t(ctx)("That button is no longer valid."))
        return
    await on_button(ctx, payload)


async def on_group_message(ctx: Context) -> None:
    """A curator's typed reason (a reply to the bot's question); other talk is ignored."""
    event = ctx.incoming.event
    if isinstance(event, Text) and decisions.awaits_reason(ctx):
        await decisions.typed_reason(ctx, event.text)


async def on_button(ctx: Context, payload: ReviewPayload) -> None:
    t = group_t(ctx)
    loaded = await load(ctx, payload.review_id)
    if loaded is None:
        ctx.reply("", alert=t("This card is out of date."))
        return
    review, product, business = loaded
    refused = await refusal(ctx, review, product, business)
    if refused is not None:
        ctx.reply("", alert=refused)
        return
    if payload.act == Act.noop:
        ctx.reply("", alert=t("Tap 1, 2 or 3 beside a criterion to score it."))
        return
    if payload.act == Act.claim:
        await _claim(ctx, review, product, business)
        return
    if payload.act == Act.next:
        await claim_next(ctx)
        return
    if payload.act == Act.undo:
        await decisions.undo(ctx, review, product, business)
        return
    if payload.act == Act.peek:  # any curator of this chat may look
        await peek(ctx, product, int(payload.reason or 0))
        return
    if review.decision is not None or product.status != S.in_review:
        await already_done(ctx, review, product)
        return
    if review.curator_user_id != ctx.user.id and not (ctx.is_admin and payload.act == Act.release):
        ctx.reply("", alert=t("{name} is reviewing this product.", name=review.curator_name or "—"))
        return
    match payload.act:
        case Act.score:
            assert payload.criterion is not None and payload.score is not None
            review.scores = {**review.scores, payload.criterion: payload.score}
            review.touched_at = ctx.now
            await ctx.session.flush()
            await show(ctx, review, product, business, held_buttons(t, review))
        case Act.hs:  # the holder confirms a suggested HS heading
            product.hs_code, product.hs_source = payload.reason, "curator"
            review.touched_at = ctx.now
            await ctx.session.flush()
            await show(ctx, review, product, business, held_buttons(t, review))
        case Act.approve:
            await decisions.approve(ctx, review, product, business)
        case Act.revise | Act.reject:
            await decisions.choose_reasons(ctx, review, product, business, payload.act)
        case Act.reason:
            await decisions.toggle_reason(ctx, review, product, business, payload.reason or "")
        case Act.write:
            decisions.ask_reason_text(ctx, review)
        case Act.send:
            await decisions.send_decision(ctx, review, product, business)
        case Act.back:
            ctx.end_flow()
            await show(ctx, review, product, business, held_buttons(t, review), previous=False)
        case Act.release:
            await _release(ctx, review, product, business)


async def _claim(ctx: Context, review: Review, product: Product, business: Business) -> None:
    t = group_t(ctx)
    if review.decision is not None or product.status != S.submitted:
        await already_done(ctx, review, product)
        return
    won = await claim(
        ctx.session,
        review=review,
        product=product,
        curator_user_id=ctx.user.id,
        curator_name=display_name(ctx),
        now=ctx.now,
    )
    review, product, business = await reload(ctx, review)
    if not won:
        await already_done(ctx, review, product)
        return
    ctx.reply("", alert=t("It's yours. Score the seven criteria, then decide."))
    await show(ctx, review, product, business, held_buttons(t, review))
    await tell_producer(ctx, business, product, CLAIMED, review)


async def claim_next(ctx: Context) -> None:
    """/ambil, and "Take the next one" after a decision: the oldest waiting product whose
    card is in this chat, claimed."""
    t = group_t(ctx)
    sectors = chat_sectors(ctx)
    chat = (ctx.incoming.sender.channel, ctx.incoming.chat_id)
    for product in await waiting(ctx.session, sectors=sectors or None):
        review = await latest_review(ctx.session, product_id=product.id)
        if (
            review is None
            or review.decision is not None
            or (review.channel, review.chat_id) != chat
        ):
            continue
        loaded = await load(ctx, review.id)
        if loaded is None:
            continue
        review, product, business = loaded
        refused = await refusal(ctx, review, product, business)
        if refused is not None:
            _say(ctx, refused)
            return
        await _claim(ctx, review, product, business)
        if not isinstance(ctx.incoming.event, ButtonPress):
            ctx.reply(
                t("#{id} {name} is yours: its card is above.", id=product.id, name=product.name),
                about_review=review.id,
            )
        return
    _say(ctx, t("The queue is empty. 🎉"))


def _say(ctx: Context, text: str) -> None:
    """An alert on a button press; a message after a command."""
    if isinstance(ctx.incoming.event, ButtonPress):
        ctx.reply("", alert=text)
    else:
        ctx.reply(text)


async def _release(ctx: Context, review: Review, product: Product, business: Business) -> None:
    t = group_t(ctx)
    released = await release(
        ctx.session, review=review, product=product, actor_user_id=ctx.user.id, now=ctx.now
    )
    review, product, business = await reload(ctx, review)
    if not released:
        await already_done(ctx, review, product)
        return
    ctx.end_flow()
    ctx.reply("", alert=t("Released: back in the queue."))
    await show(ctx, review, product, business, waiting_buttons(t, review), previous=False)


async def peek(ctx: Context, product: Product, product_id: int) -> None:
    """The product a copied photo comes from, for the curators (never told to producers);
    only a product this card's photos match, so a forged button shows nothing else."""
    t = group_t(ctx)
    photos = await photos_of(ctx.session, product_id=product.id)
    copies = await find_copies(ctx.session, product=product, photos=photos)
    found = None
    if any(c.other_product_id == product_id for c in copies):
        found = await product_with_business(ctx.session, product_id=product_id)
    if found is None:
        ctx.reply("", alert=t("That product no longer exists."))
        return
    other, business = found
    ctx.reply(
        t(
            "🔍 #{id} {name} — {business}, {region} · {status}",
            id=other.id,
            name=other.name or "—",
            business=business.name or "—",
            region=region_label(business.region_code) or "—",
            status=t(STATUS_LABELS.get(ProductStatus(other.status), other.status)),
        )
    )
