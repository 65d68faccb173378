"""Buyers' inquiries: what the admins and the producer are sent, the producer's tap answer
(interested / not now) passed back to the admins, and /permintaan for admins."""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from db.inquiries import (
    answer_inquiry,
    count_open,
    get_inquiry,
    open_for_owner,
    open_inquiries,
)
from db.models import Inquiry, Notification
from db.notifications import plan
from handlers.i18n import N_
from handlers.kit.context import Context, Translate
from handlers.kit.events import Reply
from handlers.kit.feature import Feature, Surface
from handlers.kit.payload import ButtonData, Payload

FLOW = "inq"


@dataclass(frozen=True)
class AnswerButton(ButtonData, flow=FLOW, steps=("answer",)):
    """The producer's answer to one buyer's inquiry ("interested" or "not_now")."""

    step: str
    inquiry_id: int
    answer: str


ADMIN_KIND = "inquiry_admin"
PRODUCER_KIND = "inquiry"
ANSWER_KIND = "inquiry_answer"
KINDS = frozenset({ADMIN_KIND, PRODUCER_KIND, ANSWER_KIND})


def _answer_label(t: Translate, answer: str | None) -> str:
    if answer == "interested":
        return t("interested")
    if answer == "not_now":
        return t("not now")
    return t("no answer yet")


def _admin_text(t: Translate, i: Inquiry, zone: ZoneInfo) -> str:
    """Everything, the buyer's e-mail included: admins only."""
    return t(
        "📨 Inquiry #{id} from the catalogue ({when})\n"
        "Product: #{product_id} {product}\n"
        "Buyer: {name}, {company} ({country})\n"
        "E-mail: {email}\nQuantity: {quantity}\n\n{message}",
        id=i.id,
        when=i.created_at.astimezone(zone).strftime("%d-%m-%Y %H:%M"),
        product_id=i.product_id or "—",
        product=i.product_name or "—",
        name=i.buyer_name,
        company=i.company or "—",
        country=i.country,
        email=i.email,
        quantity=i.quantity or "—",
        message=i.message,
    )


def _producer_text(t: Translate, i: Inquiry) -> str:
    """No e-mail address: the export desk answers the buyer."""
    return t(
        "📨 A buyer from {country} asks about “{product}”.\n"
        "Company: {company}\nQuantity: {quantity}\n\n{message}\n\n"
        "Are you interested? Kurasi's export desk will put you in touch.",
        country=i.country,
        product=i.product_name or "—",
        company=i.company or "—",
        quantity=i.quantity or "—",
        message=i.message,
    )


def _producer_reply(t: Translate, inquiry: Inquiry) -> Reply:
    return Reply(
        _producer_text(t, inquiry),
        buttons=(
            (
                AnswerButton("answer", inquiry.id, "interested").button(t("👍 Interested")),
                AnswerButton("answer", inquiry.id, "not_now").button(t("Not now")),
            ),
        ),
    )


async def render_notification(
    session: AsyncSession, t: Translate, note: Notification, zone: ZoneInfo
) -> Reply | None:
    inquiry_id = (note.payload or {}).get("inquiry_id")
    inquiry = (
        await get_inquiry(session, inquiry_id=int(inquiry_id))
        if isinstance(inquiry_id, int)
        else None
    )
    if inquiry is None:
        return None
    if note.kind == ADMIN_KIND:
        return Reply(_admin_text(t, inquiry, zone))
    if note.kind == PRODUCER_KIND:
        if inquiry.business_id is None or inquiry.state == "answered":
            return None  # erased since, or answered already
        return _producer_reply(t, inquiry)
    return Reply(
        t(
            "📨 Inquiry #{id} ({product}): the producer answered: {answer}.",
            id=inquiry.id,
            product=inquiry.product_name or "—",
            answer=_answer_label(t, inquiry.answer),
        )
    )


async def on_button(ctx: Context, payload: Payload) -> None:
    t = ctx.t
    pressed = AnswerButton.read(payload)
    if pressed is None:
        ctx.reply(t("That button is no longer valid."))
        return
    answer = pressed.answer
    inquiry = await answer_inquiry(
        ctx.session,
        inquiry_id=pressed.inquiry_id,
        owner_user_id=ctx.user.id,
        answer=answer,
        now=ctx.now,
    )
    if inquiry is None:
        ctx.reply(t("That inquiry was answered already or is no longer open."))
        return
    ctx.reply(
        t("Thank you. The export desk will contact you about this buyer.")
        if answer == "interested"
        else t("Understood. The export desk will tell the buyer."),
        edit=True,
    )
    channel = ctx.settings.review_channel or "telegram"
    targets = (
        [ctx.settings.inquiry_chat_id]
        if ctx.settings.inquiry_chat_id
        else sorted(ctx.settings.admin_ids)
    )
    for chat_id in targets:
        await plan(
            ctx.session,
            kind=ANSWER_KIND,
            dedupe_key=f"inquiry:{inquiry.id}:answer:{chat_id}",
            channel=channel,
            chat_id=chat_id,
            due_at=ctx.now,
            now=ctx.now,
            subject_id=inquiry.product_id,
            payload={"inquiry_id": inquiry.id},
        )


async def show_open(ctx: Context) -> None:
    """/permintaan: for admins, the open inquiries with the buyers' e-mail addresses; for a
    producer, their own unanswered ones with the answer buttons (after a WhatsApp template,
    this is where they read it)."""
    t = ctx.t
    if not ctx.is_admin:
        own = await open_for_owner(ctx.session, owner_user_id=ctx.user.id)
        if not own:
            ctx.reply(t("No buyer's inquiry is waiting for your answer."))
            return
        for inquiry in own:
            reply = _producer_reply(t, inquiry)
            ctx.reply(reply.text, buttons=[list(row) for row in reply.buttons])
        return
    found = await open_inquiries(ctx.session, limit=10)
    if not found:
        ctx.reply(t("No open inquiries from buyers."))
        return
    zone = ZoneInfo(ctx.settings.timezone)
    total = await count_open(ctx.session)
    head = t("Open inquiries: {n} (newest {shown} below).", n=total, shown=len(found))
    parts = [head]
    for i in found:
        parts.append(
            _admin_text(t, i, zone)
            + "\n"
            + t("Producer: {answer}", answer=_answer_label(t, i.answer))
        )
    text = "\n\n".join(parts)
    ctx.reply(text[:4000])


FEATURE = Feature(
    commands={"permintaan": show_open, "inquiries": show_open},
    buttons={FLOW: on_button},
    surface=(
        Surface(
            "permintaan",
            help={"producer": N_("buyers' inquiries about your products")},
            aliases=("inquiries",),
            words=("permintaan", "inquiries"),
            word=N_("inquiries"),
            rank=65,
        ),
    ),
)
