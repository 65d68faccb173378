"""The card as it stands: loaded fresh, drawn again in place, and a too-late presser told
who got there first. What the card's actions (actions.py) and decisions (decisions.py) share."""

from __future__ import annotations

from db.models import Business, Product, ProductStatus, Review, ReviewDecision
from db.reviews import get_review, previous_review, product_with_business
from handlers.features.review.access import group_t
from handlers.features.review.assist import card_assist
from handlers.features.review.card import (
    DECISION_LABELS,
    Act,
    ReviewPayload,
    assist_buttons,
    card_text,
)
from handlers.kit.context import Context
from handlers.kit.events import Address, Button, ButtonPress

Loaded = tuple[Review, Product, Business]


async def load(ctx: Context, review_id: int) -> Loaded | None:
    review = await get_review(ctx.session, review_id=review_id)
    found = (
        await product_with_business(ctx.session, product_id=review.product_id) if review else None
    )
    return (review, *found) if review is not None and found is not None else None


async def reload(ctx: Context, review: Review) -> Loaded:
    loaded = await load(ctx, review.id)
    assert loaded is not None
    return loaded


async def show(
    ctx: Context,
    review: Review,
    product: Product,
    business: Business,
    buttons: list[list[Button]],
    *,
    previous: bool = True,
    footer: str | None = None,
) -> None:
    """The card again, in place: the pressed message, else the card's own message; with
    `footer` (a typed reason's preview) below it, so erasing the card erases that too."""
    t = group_t(ctx)
    before = (
        await previous_review(ctx.session, product_id=product.id, round=review.round)
        if previous
        else None
    )
    grade = ctx.settings.rubric.grade(review.scores)
    language = ctx.settings.review_language
    block, assessment = await card_assist(
        ctx.session, t, product=product, business=business, today=ctx.today, language=language
    )
    text = card_text(
        t,
        (product, business),
        review,
        ctx.now,
        previous=before,
        rubric_grade=grade,
        assist=block,
    )
    if footer:
        text = f"{text}\n\n{footer}"
    approve = ReviewPayload(Act.approve, review.id).pack()
    at = next((i for i, row in enumerate(buttons) if any(b.payload == approve for b in row)), None)
    if at is not None:  # a held card: the assist's one-tap suggestions above the verdicts
        buttons = [*buttons[:at], *assist_buttons(t, review, product, assessment), *buttons[at:]]
    press = ctx.incoming.event
    pressed = press.message_id if isinstance(press, ButtonPress) else None
    # Pressed elsewhere (a typed reason's preview, the previous card): the card is edited.
    on_card = bool(pressed) and review.card_message_id in (None, pressed)
    if on_card:
        ctx.reply(text, buttons=buttons, edit=True)
    elif review.card_message_id:
        where = Address(ctx.incoming.sender.channel, ctx.incoming.chat_id)
        ctx.reply(text, buttons=buttons, to=where, edit_message_id=review.card_message_id)
    else:
        ctx.reply(text, buttons=buttons, about_review=review.id)


async def already_done(ctx: Context, review: Review, product: Product) -> None:
    """Tell a too-late presser who got there first, from a fresh read: under READ COMMITTED
    the review row read earlier in this update may predate the winner's commit."""
    t = group_t(ctx)
    review, product, _business = await reload(ctx, review)
    if review.decision is not None:
        decision = t(DECISION_LABELS[ReviewDecision(review.decision)])
        name = review.curator_name or "—"
        ctx.reply(
            "", alert=t("Already decided by {name}: {decision}.", name=name, decision=decision)
        )
    elif product.status == ProductStatus.in_review:
        ctx.reply("", alert=t("{name} is reviewing this product.", name=review.curator_name or "—"))
    else:
        ctx.reply("", alert=t("This product is no longer waiting for review."))
