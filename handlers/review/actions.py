"""Curator actions on a card: claim, score, approve, ask for a revision, reject, release.

The card is one message edited in place; every press is checked against the stored state
(who holds it, what status the product has) and against where it came from (access.py), so an
old card, a second curator or a forged button can never change anything.
"""

from __future__ import annotations

from datetime import timedelta

from db.models import Business, Product, ProductStatus, Review, ReviewDecision, Verdict
from db.notifications import cancel_pending
from db.reviews import (
    claim,
    decide,
    get_review,
    latest_review,
    previous_review,
    product_with_business,
    release,
    undo_decision,
    waiting,
)
from handlers.context import Context
from handlers.events import Address, Button, ButtonPress, Text
from handlers.parsing import clean_text
from handlers.payload import Payload
from handlers.review.access import chat_sectors, display_name, group_t, refusal
from handlers.review.card import (
    DECISION_LABELS,
    FLOW,
    REASONS,
    Act,
    ReviewPayload,
    card_text,
    held_buttons,
    reason_buttons,
    waiting_buttons,
)
from handlers.review.notices import CLAIMED, DECISION, UNDO_SECONDS, tell_producer
from handlers.rubric import APPROVABLE

MIN_REASON = 10
MAX_REASON = 1000
S = ProductStatus
REASON_TEXT = "reason_text"
OVERRIDE = "override"
REASONS_STEP = "reasons"


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
    if isinstance(event, Text) and ctx.flow == FLOW and ctx.step in (REASON_TEXT, OVERRIDE):
        await _typed_reason(ctx, event.text)


async def _load(ctx: Context, review_id: int) -> tuple[Review, Product, Business] | None:
    review = await get_review(ctx.session, review_id=review_id)
    found = (
        await product_with_business(ctx.session, product_id=review.product_id) if review else None
    )
    return (review, *found) if review is not None and found is not None else None


async def on_button(ctx: Context, payload: ReviewPayload) -> None:
    t = group_t(ctx)
    loaded = await _load(ctx, payload.review_id)
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
        await _undo(ctx, review, product, business)
        return
    if review.decision is not None or product.status != S.in_review:
        await _already_done(ctx, review, product)
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
            await _show(ctx, review, product, business, held_buttons(t, review))
        case Act.approve:
            await _approve(ctx, review, product, business)
        case Act.revise | Act.reject:
            ctx.goto(FLOW, REASONS_STEP)
            ctx.update_data(review_id=review.id, action=payload.act.value, reasons=[])
            buttons = reason_buttons(t, review, [], payload.act)
            await _show(ctx, review, product, business, buttons, previous=False)
        case Act.reason:
            await _toggle_reason(ctx, review, product, business, payload.reason or "")
        case Act.write:
            _ask_reason_text(ctx, review, step=REASON_TEXT)
        case Act.send:
            await _send_decision(ctx, review, product, business)
        case Act.back:
            ctx.end_flow()
            await _show(ctx, review, product, business, held_buttons(t, review), previous=False)
        case Act.release:
            await _release(ctx, review, product, business)


async def _show(
    ctx: Context,
    review: Review,
    product: Product,
    business: Business,
    buttons: list[list[Button]],
    *,
    previous: bool = True,
) -> None:
    """The card again, in place: the pressed message, else the card's own message."""
    t = group_t(ctx)
    before = (
        await previous_review(ctx.session, product_id=product.id, round=review.round)
        if previous
        else None
    )
    grade = ctx.settings.rubric.grade(review.scores)
    text = card_text(t, (product, business), review, ctx.now, previous=before, rubric_grade=grade)
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
        ctx.reply(text, buttons=buttons)


async def _reload(ctx: Context, review: Review) -> tuple[Review, Product, Business]:
    loaded = await _load(ctx, review.id)
    assert loaded is not None
    return loaded


async def _already_done(ctx: Context, review: Review, product: Product) -> None:
    """Tell a too-late presser who got there first, from a fresh read: under READ COMMITTED
    the review row read earlier in this update may predate the winner's commit."""
    t = group_t(ctx)
    review, product, _business = await _reload(ctx, review)
    if review.decision is not None:
        decision = t(DECISION_LABELS[ReviewDecision(review.decision)])
        name = review.curator_name or "—"
        ctx.reply(
            "", alert=t("Already decided by {name}: {decision}.", name=name, decision=decision)
        )
    elif product.status == S.in_review:
        ctx.reply("", alert=t("{name} is reviewing this product.", name=review.curator_name or "—"))
    else:
        ctx.reply("", alert=t("This product is no longer waiting for review."))


async def _claim(ctx: Context, review: Review, product: Product, business: Business) -> None:
    t = group_t(ctx)
    if review.decision is not None or product.status != S.submitted:
        await _already_done(ctx, review, product)
        return
    won = await claim(
        ctx.session,
        review=review,
        product=product,
        curator_user_id=ctx.user.id,
        curator_name=display_name(ctx),
        now=ctx.now,
    )
    review, product, business = await _reload(ctx, review)
    if not won:
        await _already_done(ctx, review, product)
        return
    ctx.reply("", alert=t("It's yours. Score the seven criteria, then decide."))
    await _show(ctx, review, product, business, held_buttons(t, review))
    await tell_producer(ctx, business, product, CLAIMED, review)


async def _approve(ctx: Context, review: Review, product: Product, business: Business) -> None:
    grade = ctx.settings.rubric.grade(review.scores)
    if grade not in APPROVABLE:
        _ask_reason_text(ctx, review, step=OVERRIDE, grade=grade)
        return
    await _finish(ctx, review, product, business, Verdict.approve, reasons=[], text=None)


async def _toggle_reason(
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
    await _show(ctx, review, product, business, buttons, previous=False)


def _ask_reason_text(ctx: Context, review: Review, *, step: str, grade: str | None = None) -> None:
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
    who = f"@{ctx.user.username}" if ctx.user.username else display_name(ctx)
    ctx.reply(f"{who}: {question}", force_reply=True)


async def _typed_reason(ctx: Context, raw: str) -> None:
    t = group_t(ctx)
    review_id = ctx.data.get("review_id")
    loaded = await _load(ctx, review_id) if isinstance(review_id, int) else None
    if loaded is None:
        ctx.end_flow()
        return
    review, product, business = loaded
    if await refusal(ctx, review, product, business) is not None:
        return  # a reason typed in another chat is not an answer to this card
    if (
        review.decision is not None
        or product.status != S.in_review
        or review.curator_user_id != ctx.user.id
    ):
        ctx.end_flow()
        await _already_done(ctx, review, product)
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
        )
        return
    if ctx.step == OVERRIDE:
        await _finish(
            ctx, review, product, business, Verdict.approve, reasons=[], text=text, override=True
        )
        return
    # A typed revision or rejection reason is shown back first, and sent with "Send".
    action = Verdict(ctx.data.get("action", Verdict.revise))
    reasons = list(ctx.data.get("reasons") or [])
    ctx.goto(FLOW, REASONS_STEP)
    ctx.update_data(review_id=review.id, action=action.value, reasons=reasons, text=text)
    await _show(ctx, review, product, business, reason_buttons(t, review, reasons, action))
    send = t("📨 Send revision request") if action == Verdict.revise else t("📨 Send rejection")
    ctx.reply(
        t(
            "#{id}: this is what the producer will read:\n\n{text}\n\n"
            "Press “{send}” to send it, or write it again.",
            id=review.product_id,
            text=text,
            send=send,
        ),
        buttons=[
            [ReviewPayload(Act.send, review.id).button(send)],
            [
                ReviewPayload(Act.write, review.id).button(t("✍️ Write again")),
                ReviewPayload(Act.back, review.id).button(t("↩️ Back")),
            ],
        ],
    )


async def _send_decision(
    ctx: Context, review: Review, product: Product, business: Business
) -> None:
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
    action = Verdict(ctx.data.get("action", Verdict.revise))
    await _finish(ctx, review, product, business, action, reasons=reasons, text=text)


async def _finish(
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
    review, product, business = await _reload(ctx, review)
    if not decided:
        await _already_done(ctx, review, product)
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
    await _show(ctx, review, product, business, buttons)
    await tell_producer(ctx, business, product, review.decision or "", review)


def _close_preview(ctx: Context, review: Review) -> None:
    """A decision sent from a typed reason's preview: the preview loses its buttons."""
    press = ctx.incoming.event
    if isinstance(press, ButtonPress) and press.message_id not in (None, review.card_message_id):
        t = group_t(ctx)
        ctx.reply(t("📨 Sent."), edit=True)


async def _undo(ctx: Context, review: Review, product: Product, business: Business) -> None:
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
    review, product, business = await _reload(ctx, review)
    ctx.reply("", alert=t("Undone. It is yours again, with your scores."))
    await _show(ctx, review, product, business, held_buttons(t, review))


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
        loaded = await _load(ctx, review.id)
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
                t("#{id} {name} is yours: its card is above.", id=product.id, name=product.name)
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
    review, product, business = await _reload(ctx, review)
    if not released:
        await _already_done(ctx, review, product)
        return
    ctx.end_flow()
    ctx.reply("", alert=t("Released: back in the queue."))
    await _show(ctx, review, product, business, waiting_buttons(t, review), previous=False)
