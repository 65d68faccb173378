"""Deciding on a card: approve (with a written reason when the grade does not pass), ask for
a revision or reject with quick-pick or written reasons, and undo within the grace period.

A written reason is a reply to the bot's question in the review chat; it is shown back and
sent with one press. The producer is told through notices.py.
"""

from __future__ import annotations

from datetime import timedelta

from db.models import Business, Product, ProductStatus, Review, ReviewDecision, Verdict
from db.notifications import cancel_pending
from db.reviews import decide, undo_decision
from handlers.features.review.access import display_name, group_t, refusal
from handlers.features.review.card import (
    FLOW,
    REASONS,
    Act,
    ReviewPayload,
    held_buttons,
    reason_buttons,
)
from handlers.features.review.notices import DECISION, UNDO_SECONDS, tell_producer
from handlers.features.review.refresh import already_done, load, reload, show
from handlers.kit.context import Context
from handlers.kit.events import ButtonPress
from handlers.kit.parsing import clean_text
from handlers.rules.rubric import APPROVABLE

MIN_REASON = 10
MAX_REASON = 1000
REASON_TEXT = "reason_text"
OVERRIDE = "override"
REASONS_STEP = "reasons"


async def approve(ctx: Context, review: Review, product: Product, business: Business) -> None:
    grade = ctx.settings.rubric.grade(review.scores)
    if grade not in APPROVABLE:
        ask_reason_text(ctx, review, step=OVERRIDE, grade=grade)
        return
    await finish(ctx, review, product, business, Verdict.approve, reasons=[], text=None)


async def choose_reasons(
    ctx: Context, review: Review, product: Product, business: Business, act: Act
) -> None:
    """Revise or Reject pressed: the quick-pick reasons on the card."""
    ctx.goto(FLOW, REASONS_STEP)
    ctx.update_data(review_id=review.id, action=act.value, reasons=[])
    buttons = reason_buttons(group_t(ctx), review, [], act)
    await show(ctx, review, product, business, buttons, previous=False)


async def toggle_reason(
    ctx: Context, review: Review, product: Product, business: Business, code: str
) -> None:
    t = group_t(ctx)
    if ctx.flow != FLOW or ctx.data.get("review_id") != review.id or code not in REASONS:
        ctx.reply("", alert=t("Press Revise or Reject first."))
        return
    chosen = list(ctx.data.get("reasons") or [])
    chosen = [c for c in chosen if c != code] if code in chosen else [*chosen, code]
    ctx.update_data(reasons=chosen)
    buttons = reason_buttons(t, review, chosen, ctx.data.get("action", Verdict.revise))
    await show(ctx, review, product, business, buttons, previous=False)


def ask_reason_text(
    ctx: Context,
    review: Review,
    *,
    step: str = REASON_TEXT,
    grade: str | None = None,
    unscored: bool = False,
) -> None:
    t = group_t(ctx)
    data = ctx.data if ctx.flow == FLOW and ctx.data.get("review_id") == review.id else {}
    ctx.goto(FLOW, step)
    ctx.update_data(
        review_id=review.id,
        action=data.get("action", Verdict.approve.value),
        reasons=data.get("reasons", []),
    )
    if step == OVERRIDE:
        question = (
            (
                t("Not every criterion is scored yet.")
                if grade is None
                else t("Grade {grade} does not normally pass.", grade=grade)
            )
            + " "
            + t(
                "To approve anyway, reply to this message with your reason "
                "(at least {n} characters).",
                n=MIN_REASON,
            )
        )
    else:
        question = t(
            "#{id}: reply to this message with the reason for the producer "
            "(at least {n} characters).",
            id=review.product_id,
            n=MIN_REASON,
        )
        if unscored:
            question = t("Not every criterion is scored yet.") + " " + question
    who = f"@{ctx.user.username}" if ctx.user.username else display_name(ctx)
    ctx.reply(f"{who}: {question}", force_reply=True, about_review=review.id)


def awaits_reason(ctx: Context) -> bool:
    """A reason was asked for in this chat and not yet given."""
    return ctx.flow == FLOW and ctx.step in (REASON_TEXT, OVERRIDE)


async def typed_reason(ctx: Context, raw: str) -> None:
    t = group_t(ctx)
    review_id = ctx.data.get("review_id")
    loaded = await load(ctx, review_id) if isinstance(review_id, int) else None
    if loaded is None:
        ctx.end_flow()
        return
    review, product, business = loaded
    if await refusal(ctx, review, product, business) is not None:
        return  # a reason typed in another chat is not an answer to this card
    if (
        review.decision is not None
        or product.status != ProductStatus.in_review
        or review.curator_user_id != ctx.user.id
    ):
        ctx.end_flow()
        await already_done(ctx, review, product)
        if ctx.replies and not ctx.replies[-1].text:
            ctx.reply(ctx.replies.pop().alert or "")
        return
    text = clean_text(raw, max_len=MAX_REASON)
    if text is None or len(text) < MIN_REASON:
        ctx.reply(
            t(
                "Please write at least {n} characters (at most {max}).",
                n=MIN_REASON,
                max=MAX_REASON,
            ),
            force_reply=True,
            about_review=review.id,
        )
        return
    if ctx.step == OVERRIDE:
        await finish(
            ctx, review, product, business, Verdict.approve, reasons=[], text=text, override=True
        )
        return
    # A typed revision or rejection reason is shown back first, and sent with "Send".
    action = Verdict(ctx.data.get("action", Verdict.revise))
    reasons = list(ctx.data.get("reasons") or [])
    ctx.goto(FLOW, REASONS_STEP)
    ctx.update_data(review_id=review.id, action=action.value, reasons=reasons, text=text)
    send = t("📨 Send revision request") if action == Verdict.revise else t("📨 Send rejection")
    # The preview is part of the card, not a message of its own: a producer who erases
    # their data takes the card with it, and with it the words written about their product.
    preview = t(
        "#{id}: this is what the producer will read:\n\n{text}\n\n"
        "Press “{send}” to send it, or write it again.",
        id=review.product_id,
        text=text,
        send=send,
    )
    buttons = [
        [ReviewPayload(Act.send, review.id).button(send)],
        [
            ReviewPayload(Act.write, review.id).button(t("✍️ Write again")),
            ReviewPayload(Act.back, review.id).button(t("↩️ Back")),
        ],
    ]
    await show(ctx, review, product, business, buttons, footer=preview)


async def send_decision(ctx: Context, review: Review, product: Product, business: Business) -> None:
    t = group_t(ctx)
    if ctx.flow != FLOW or ctx.data.get("review_id") != review.id:
        ctx.reply("", alert=t("Press Revise or Reject first."))
        return
    reasons = list(ctx.data.get("reasons") or [])
    typed = ctx.data.get("text")
    text = typed if isinstance(typed, str) and typed else None
    if not reasons and text is None:
        ctx.reply("", alert=t("Choose at least one reason, or write one."))
        return
    if text is None and ctx.settings.rubric.grade(review.scores) is None:
        ask_reason_text(ctx, review, unscored=True)  # DECISION_RULE: unscored, written
        return
    action = Verdict(ctx.data.get("action", Verdict.revise))
    await finish(ctx, review, product, business, action, reasons=reasons, text=text)


async def finish(
    ctx: Context,
    review: Review,
    product: Product,
    business: Business,
    action: Verdict,
    *,
    reasons: list[str],
    text: str | None,
    override: bool = False,
) -> None:
    t = group_t(ctx)
    decided = await decide(
        ctx.session,
        review=review,
        product=product,
        action=action,
        actor_user_id=ctx.user.id,
        grade=ctx.settings.rubric.grade(review.scores),
        reasons=reasons,
        reason_text=text,
        override=override,
        now=ctx.now,
    )
    ctx.end_flow()
    review, product, business = await reload(ctx, review)
    if not decided:
        await already_done(ctx, review, product)
        return
    next_row = [ReviewPayload(Act.next, review.id).button(t("⏭ Take the next one"))]
    if action == Verdict.revise:
        ctx.reply("", alert=t("Decision sent to the producer."))
        buttons = [next_row]
    else:
        ctx.reply(
            "",
            alert=t(
                "Decided. The producer is told in {n} seconds, unless you undo it.",
                n=UNDO_SECONDS,
            ),
        )
        undo = ReviewPayload(Act.undo, review.id).button(t("↩️ Undo ({n} s)", n=UNDO_SECONDS))
        buttons = [[undo], next_row]
    _close_preview(ctx, review)
    await show(ctx, review, product, business, buttons)
    await tell_producer(ctx, business, product, review.decision or "", review)


def _close_preview(ctx: Context, review: Review) -> None:
    """A decision sent from a typed reason's preview: the preview loses its buttons."""
    press = ctx.incoming.event
    if isinstance(press, ButtonPress) and press.message_id not in (None, review.card_message_id):
        t = group_t(ctx)
        ctx.reply(t("📨 Sent."), edit=True)


async def undo(ctx: Context, review: Review, product: Product, business: Business) -> None:
    """Take back an approval or rejection while the producer has not been told."""
    t = group_t(ctx)
    mine = review.curator_user_id == ctx.user.id or ctx.is_admin
    if review.decision not in (ReviewDecision.approved, ReviewDecision.rejected) or not mine:
        ctx.reply("", alert=t("There is nothing of yours to undo here."))
        return
    decided = review.decided_at
    if decided is not None and decided.tzinfo is None:
        decided = decided.replace(tzinfo=ctx.now.tzinfo)
    late = decided is None or ctx.now > decided + timedelta(seconds=UNDO_SECONDS)
    held = (
        []
        if late
        else await cancel_pending(ctx.session, kind=DECISION, subject_id=product.id, now=ctx.now)
    )
    undone = bool(held) and await undo_decision(
        ctx.session, review=review, product=product, actor_user_id=ctx.user.id, now=ctx.now
    )
    if not undone:
        for note in held:
            note.sent_at = note.result = None  # the decision stands: it is still told
        ctx.reply("", alert=t("Too late to undo: the producer has been told."))
        return
    review, product, business = await reload(ctx, review)
    ctx.reply("", alert=t("Undone. It is yours again, with your scores."))
    await show(ctx, review, product, business, held_buttons(t, review))
