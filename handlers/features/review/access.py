"""Who may act on a review, and where: the rule every card button and typed reason passes."""

from __future__ import annotations

from db.models import Business, Product, Review
from db.reviews import is_curator
from handlers.kit.context import Context, Translate


def group_t(ctx: Context) -> Translate:
    return ctx.translator(ctx.settings.review_language)


def chat_sectors(ctx: Context) -> tuple[str, ...] | None:
    """The sectors this review chat covers (empty: all); None when it is not a review chat."""
    for chat_id, sectors in ctx.settings.review_chats:
        if chat_id == ctx.incoming.chat_id:
            return tuple(sectors)
    return None


def is_review_chat(ctx: Context) -> bool:
    return chat_sectors(ctx) is not None


def display_name(ctx: Context) -> str:
    user = ctx.user
    return user.display_name or (f"@{user.username}" if user.username else user.external_id)


async def refusal(ctx: Context, review: Review, product: Product, business: Business) -> str | None:
    """Why this person may not act on this review here (None: they may).

    The press must come from the chat holding the review's card, from a curator of that chat
    or an admin: a button forged in another review chat changes nothing."""
    t = group_t(ctx)
    if business.owner_id == ctx.user.id:
        return t("You can't review your own product.")
    here = (ctx.incoming.sender.channel, ctx.incoming.chat_id)
    if review.chat_id is None or (review.channel, review.chat_id) != here:
        return t("This product's card is in another review chat.")
    sectors = chat_sectors(ctx)
    if sectors is None or (sectors and product.sector not in sectors):
        return t("This chat doesn't review that sector.")
    if ctx.is_admin:
        return None
    if not await is_curator(
        ctx.session,
        channel=ctx.user.channel,
        external_id=ctx.user.external_id,
        chat_id=review.chat_id,
    ):
        return t("Only registered curators of this chat can do that.")
    return None
