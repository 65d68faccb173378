"""One person, two channels: a producer registered on Telegram who writes from WhatsApp with
the same phone number is offered to link the chats. A 6-digit code goes to their Telegram chat
and is typed on WhatsApp; 5 wrong codes mean a 15-minute wait. Afterwards both chats are one
user (one profile, one set of products).
"""

from __future__ import annotations

import math
from datetime import datetime

from db.businesses import get_business
from db.links import (
    MAX_CODES,
    MAX_FAILURES,
    account_for_phone,
    add_alias,
    check_code,
    decline,
    get_account,
    link_state,
    new_code,
    throttle_key,
)
from handlers.i18n import N_
from handlers.kit.context import Context, button
from handlers.kit.events import Address, ButtonPress, Command, Text
from handlers.kit.feature import Feature, SimpleFlow
from handlers.kit.payload import Payload

FLOW = "link"
HOME = "telegram"  # where producers registered before WhatsApp existed


async def offer(ctx: Context) -> bool:
    """On /start from another channel: offer to link when this number is registered on
    Telegram. True when the offer (or the code step) was shown."""
    sender = ctx.incoming.sender
    if sender.channel == HOME or not sender.phone or ctx.flow is not None:
        return False
    own = await get_business(ctx.session, owner_id=ctx.user.id)
    if own is not None and own.registered_at is not None:
        return False
    state = await link_state(ctx.session, user_id=ctx.user.id)
    if state is not None and state.declined:
        return False
    account = await account_for_phone(
        ctx.session, channel=HOME, phone=sender.phone, exclude_user_id=ctx.user.id
    )
    if account is None:
        return False
    business = await get_business(ctx.session, owner_id=account.id)
    ctx.goto(FLOW, "offer")
    ctx.update_data(account=account.id)
    t = ctx.t
    ctx.reply(
        t(
            "This number ({phone}) is already registered with Kurasi on Telegram ({name}). "
            "Link this chat to it, so your profile and products are the same here?",
            phone=sender.phone,
            name=business.name if business is not None and business.name else "—",
        ),
        buttons=[
            [button(t("🔗 Yes, link"), FLOW, "offer", "yes")],
            [button(t("➕ No, start fresh"), FLOW, "offer", "no")],
        ],
    )
    return True


async def on_button(ctx: Context, payload: Payload) -> None:
    if ctx.flow != FLOW or payload.step not in ("offer", "code"):
        ctx.reply(ctx.t("That button is from an earlier step."))
        return
    account = int(ctx.data.get("account", 0))
    if payload.value == "no":
        await decline(ctx.session, user_id=ctx.user.id, other_user_id=account, now=ctx.now)
        ctx.end_flow()
        ctx.reply(ctx.t("All right — let's register this chat on its own. Send /start."))
        return
    await _send_code(ctx, account)


async def _send_code(ctx: Context, account: int) -> None:
    other = await get_account(ctx.session, user_id=account)
    if other is None:
        ctx.end_flow()
        ctx.reply(ctx.t("That account no longer exists. Send /start to register."))
        return
    asked = await new_code(
        ctx.session,
        user_id=ctx.user.id,
        other_user_id=other.id,
        number=_number(ctx),
        account=throttle_key(other.channel, other.external_id),
        now=ctx.now,
    )
    ctx.goto(FLOW, "code")
    again = [[button(ctx.t("🔁 Send a new code"), FLOW, "code", "again")]]
    if asked.outcome == "locked":
        _locked(ctx, asked.until)
        return
    if asked.outcome == "wait":
        ctx.reply(
            ctx.t(
                "A code was sent a moment ago. Type it here, or ask for a new one in "
                "{seconds} seconds.",
                seconds=_seconds(ctx, asked.until),
            ),
            buttons=again,
        )
        return
    if asked.outcome == "too_many":
        ctx.reply(
            ctx.t(
                "That is {max} codes already. Type the last one here, or ask for a new one "
                "in {minutes} minutes.",
                max=MAX_CODES,
                minutes=_minutes(ctx, asked.until),
            )
        )
        return
    other_t = ctx.translator(other.language or "id")
    ctx.reply(
        other_t(
            "🔗 Your code to link WhatsApp {phone} to this Kurasi account: {code}\n"
            "Type it in WhatsApp within 10 minutes. If that was not you, ignore this "
            "message.",
            phone=ctx.incoming.sender.phone or "",
            code=asked.code or "",
        ),
        to=Address(channel=other.channel, chat_id=other.external_id),
    )
    ctx.reply(
        ctx.t("I sent a 6-digit code to your Kurasi chat on Telegram. Type it here."),
        buttons=again,
    )


def _number(ctx: Context) -> str:
    """The identity trying codes, as the throttle knows it (kept across new offers)."""
    sender = ctx.incoming.sender
    return throttle_key(sender.channel, sender.external_id)


def _seconds(ctx: Context, until: datetime | None) -> int:
    return max(1, math.ceil(((until or ctx.now) - ctx.now).total_seconds()))


def _minutes(ctx: Context, until: datetime | None) -> int:
    return max(1, math.ceil(((until or ctx.now) - ctx.now).total_seconds() / 60))


def _locked(ctx: Context, until: datetime | None) -> None:
    ctx.reply(
        ctx.t(
            "Too many wrong codes. Please wait {minutes} minutes, then type the code again.",
            minutes=_minutes(ctx, until),
        )
    )


async def on_event(ctx: Context) -> None:
    event = ctx.incoming.event
    if ctx.step != "code" or not isinstance(event, Text):
        if isinstance(event, ButtonPress | Command):
            return
        ctx.reply(ctx.t("Please answer with the buttons above."))
        return
    result = await check_code(
        ctx.session, user_id=ctx.user.id, number=_number(ctx), code=event.text, now=ctx.now
    )
    t = ctx.t
    match result.outcome:
        case "linked":
            assert result.telegram_user_id is not None
            sender = ctx.incoming.sender
            await add_alias(
                ctx.session,
                channel=sender.channel,
                external_id=sender.external_id,
                user_id=result.telegram_user_id,
            )
            ctx.end_flow()
            ctx.reply(
                t(
                    "✅ Linked! This chat and your Telegram chat are now one account: the "
                    "same profile and products. Send /start for the menu."
                )
            )
        case "wrong":
            ctx.reply(
                t(
                    "That code is not right. {tries} of {max} tries left.",
                    tries=result.tries_left,
                    max=MAX_FAILURES,
                )
            )
        case "locked":
            _locked(ctx, result.locked_until)
        case "expired" | "none":
            ctx.reply(
                t("That code has expired. Press the button for a new one."),
                buttons=[[button(t("🔁 Send a new code"), FLOW, "code", "again")]],
            )


async def prompt(ctx: Context) -> None:
    if ctx.step == "code":
        ctx.reply(ctx.t("Type the 6-digit code I sent to your Telegram chat."))
    else:
        ctx.end_flow()


FEATURE = Feature(
    forms=(SimpleFlow(FLOW, on_event, on_button, prompt),),
    hints={FLOW: N_("send /start to carry on where you left off")},
)
