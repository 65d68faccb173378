"""Reminder messages (what each scheduled kind says) and /pengingat, the producer's switches."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Notification, User
from db.reviews import get_review, product_with_business, release, stale_claims
from handlers.features.reminders.kinds import (
    GROUP_OF,
    GROUPS,
    KINDS,
    PRODUCER_KINDS,
    PRODUCT_SUBJECTS,
    Rendering,
    _review_digest,
    template_values,
)
from handlers.features.review.card import card_text, waiting_buttons
from handlers.i18n import N_
from handlers.kit.capabilities import for_channel
from handlers.kit.context import Context, Translate, button
from handlers.kit.events import Address, Button, Reply
from handlers.kit.feature import Feature, Surface
from handlers.kit.payload import Payload
from handlers.kit.render import fit

__all__ = [
    "FEATURE",
    "GROUPS",
    "GROUP_OF",
    "KINDS",
    "PRODUCER_KINDS",
    "PRODUCT_SUBJECTS",
    "_review_digest",
    "expire_claims",
    "render",
    "template_values",
]

FLOW = "remind"


# --- /pengingat -------------------------------------------------------------------------


def _switches(ctx: Context) -> list[list[Button]]:
    off = set(ctx.user.reminder_optouts or [])
    return [
        [button(("🔕 " if g in off else "🔔 ") + ctx.t(label), FLOW, "toggle", g)]
        for g, label in GROUPS.items()
    ]


async def show(ctx: Context) -> None:
    ctx.reply(
        ctx.t("Which reminders do you want? Tap one to switch it on (🔔) or off (🔕)."),
        buttons=_switches(ctx),
    )


async def on_button(ctx: Context, payload: Payload) -> None:
    # "toggle" is the button; "on" and "off" are it typed with a verb (handlers/kit/typed.py)
    if payload.step not in ("toggle", "on", "off") or payload.value not in GROUPS:
        ctx.reply(ctx.t("That button is no longer valid."))
        return
    off = [g for g in ctx.user.reminder_optouts or [] if g != payload.value]
    was_off = payload.value in (ctx.user.reminder_optouts or [])
    if payload.step == "off" or (payload.step == "toggle" and not was_off):
        off.append(payload.value)
    ctx.user.reminder_optouts = off
    ctx.reply(
        ctx.t("Saved. Tap again to change it."),
        buttons=_switches(ctx),
        edit=True,
    )


# --- what each kind says (handlers/features/reminders/kinds.py) --------------------------


async def render(
    session: AsyncSession,
    note: Notification,
    *,
    translator: Callable[[str], Translate],
    now: datetime,
    zone: ZoneInfo,
    recipient: User | None,
    review_language: str,
    review_chats: tuple[tuple[str, tuple[str, ...]], ...],
) -> Reply | None:
    """The message for a due notification, or None when it no longer applies; drawn
    within the capabilities of the recipient's channel."""
    t = translator(recipient.language or "id") if recipient else translator(review_language)
    kind = KINDS.get(note.kind)
    if kind is None:
        return None
    reply = await kind.render(session, note, Rendering(t, now, zone, review_chats))
    if reply is None or recipient is None:
        return reply
    return fit(for_channel(recipient.channel), t, reply)


# --- the claim timeout (run by bot/scheduler.py beside the reminders) --------------------


async def expire_claims(
    session: AsyncSession, t: Translate, *, now: datetime, claim_timeout: timedelta
) -> list[tuple[Address, Reply]]:
    """Claims untouched for `claim_timeout` go back to the queue; their chats are told."""
    out: list[tuple[Address, Reply]] = []
    for review in await stale_claims(session, before=now - claim_timeout):
        found = await product_with_business(session, product_id=review.product_id)
        if found is None or review.channel is None or review.chat_id is None:
            continue
        product, business = found
        holder = review.curator_name or "—"
        if not await release(
            session, review=review, product=product, actor_user_id=None, now=now, action="timeout"
        ):
            continue
        fresh = await get_review(session, review_id=review.id)
        assert fresh is not None
        await session.refresh(product)
        where = Address(review.channel, review.chat_id)
        if fresh.card_message_id:
            text = card_text(t, (product, business), fresh, now)
            buttons = tuple(tuple(r) for r in waiting_buttons(t, fresh))
            out.append(
                (where, Reply(text=text, buttons=buttons, edit_message_id=fresh.card_message_id))
            )
        out.append(
            (
                where,
                Reply(
                    t(
                        "⏰ #{id} {name} returns to the queue: {holder} held it for {hours} hours "
                        "without a decision.",
                        id=product.id,
                        name=product.name,
                        holder=holder,
                        hours=int(claim_timeout.total_seconds() // 3600),
                    ),
                    about_review=review.id,
                ),
            )
        )
    return out


FEATURE = Feature(
    commands={"pengingat": show, "reminders": show},
    buttons={FLOW: on_button},
    surface=(
        Surface(
            "pengingat",
            help={"producer": N_("choose which reminders you get")},
            aliases=("reminders",),
            words=("pengingat", "reminders"),
            word=N_("reminders"),
            menu=N_("Choose which reminders you get"),
            rank=60,
        ),
    ),
)
