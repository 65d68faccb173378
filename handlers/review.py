"""Curators in review chats: claim, score against the rubric, decide — in as few taps as possible.

The card is one message edited in place; its buttons carry the review id, and every press is
checked against the stored state (who holds it, what status the product has), so an old card
or a second curator can never change anything by accident.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.media_store import MediaStore
from db.models import Business, Product, ProductStatus, Review, User
from db.products import photos_of
from db.regions import get_region
from db.reviews import (
    add_curator,
    changed_fields,
    claim,
    decide,
    decisions_since,
    get_review,
    is_curator,
    list_curators,
    open_round,
    previous_review,
    product_with_business,
    record,
    release,
    remove_curator,
    route_chat,
    stale_claims,
    waiting,
)
from handlers import catalogue
from handlers.context import Context, Translate, button
from handlers.events import Address, Button, ButtonPress, Command, MediaOut, Reply, Text
from handlers.i18n import N_
from handlers.labels import LEGAL_LABELS, SECTOR_LABELS, rupiah, thousands
from handlers.parsing import clean_text
from handlers.payload import Payload
from handlers.precheck import BY_CODE
from handlers.rubric import APPROVABLE, CRITERIA, CRITERION_LABELS, CRITERION_SHORT, SCORES

FLOW = "rv"
MIN_REASON = 10
MAX_REASON = 1000
S = ProductStatus

REASONS = {
    "photos": N_("Photos unclear"),
    "legal": N_("Legal documents incomplete"),
    "label": N_("No label or incomplete label"),
    "capacity": N_("Capacity too small"),
    "price": N_("Price unclear"),
    "description": N_("Description incomplete"),
    "quality": N_("Quality not consistent"),
}
DECISION_LABELS = {
    "approved": N_("approved"),
    "revision_requested": N_("revision requested"),
    "rejected": N_("rejected"),
}


# --- submitting: a new round for the review chat ----------------------------------------


async def submitted(ctx: Context, product: Product) -> Review:
    """Called when a producer submits: the round's review and its card, queued for the chat."""
    settings = ctx.settings
    chat_id = route_chat(settings.review_chats, product.sector)
    photos = await photos_of(ctx.session, product_id=product.id)
    ctx.signals.add("outbox")
    await record(
        ctx.session, action="submit", product=product, actor_user_id=ctx.user.id, now=ctx.now
    )
    return await open_round(
        ctx.session,
        product=product,
        photos=photos,
        channel=settings.review_channel if chat_id else None,
        chat_id=chat_id,
        now=ctx.now,
    )


async def withdrawn(ctx: Context, review: Review) -> None:
    """The producer took a waiting product back: its posted card says so."""
    if review.card_message_id and review.channel and review.chat_id:
        t = ctx.translator(ctx.settings.review_language)
        ctx.reply(
            t("↩️ #{id} was withdrawn by the producer before review.", id=review.product_id),
            to=Address(review.channel, review.chat_id),
            edit_message_id=review.card_message_id,
        )


# --- the card ---------------------------------------------------------------------------


def _age(t: Translate, since: datetime | None, now: datetime) -> str:
    if since is None:
        return "—"
    delta = now - since
    if delta >= timedelta(days=1):
        return t("{n} d", n=delta.days)
    return t("{n} h", n=max(int(delta.total_seconds() // 3600), 0))


def card_text(
    t: Translate,
    *,
    product: Product,
    business: Business,
    review: Review,
    previous: Review | None,
    rubric_grade: str | None,
    now: datetime,
) -> str:
    region = get_region(business.region_code or "")
    unit = product.unit or ""
    nib = business.nib if business.has_nib else t("none yet")
    lines = [
        t("📦 #{id} {name} — round {round}", id=product.id, name=product.name, round=review.round),
        t("Sector: {sector}", sector=t(SECTOR_LABELS.get(product.sector or "other", "Other"))),
        "",
        t(
            "🏢 {business}, {region} · NIB {nib}",
            business=business.name,
            region=region.label if region else "—",
            nib=nib,
        ),
        t("Business documents: {docs}", docs=legal_text_plain(t, business.legal_docs)),
        t(
            "Business capacity: {amount} {unit}/month · Export: {export}",
            amount=thousands(business.capacity_amount or 0),
            unit=business.capacity_unit or "",
            export=", ".join(business.export_markets or []) or t("not yet"),
        ),
        "",
        t("Price: {price} / {unit}", price=rupiah(product.price or 0), unit=unit),
        t(
            "Minimum order: {min} {unit} · Capacity: {cap} {unit}/month",
            min=thousands(product.min_order or 0),
            cap=thousands(product.capacity or 0),
            unit=unit,
        ),
        t("Materials: {materials}", materials=product.materials or "—"),
    ]
    if product.shelf_life_days:
        lines.append(t("Shelf life: {n} days", n=product.shelf_life_days))
    lines.append(t("Product documents: {docs}", docs=legal_text_plain(t, product.legal_docs)))
    lines.append(t("Description: {text}", text=product.description or "—"))
    if product.precheck:
        notes = [t(BY_CODE[c].message) for c in product.precheck if c in BY_CODE]
        lines += ["", t("⚠️ Pre-check:"), *(f"• {n}" for n in notes)]
    if previous is not None:
        changed = changed_fields(previous.snapshot, review.snapshot)
        lines += [
            "",
            t(
                "🔁 Changed since round {n}: {fields}",
                n=previous.round,
                fields=", ".join(t(FIELD_NAMES.get(f, f)) for f in changed) or t("nothing"),
            ),
        ]
        lines.append(t("Previous reason: {reason}", reason=reason_text(t, previous)))
    lines += ["", _status_line(t, product, review, rubric_grade, now)]
    return "\n".join(lines)


FIELD_NAMES = {
    "name": N_("name"),
    "sector": N_("sector"),
    "description": N_("description"),
    "price": N_("price"),
    "unit": N_("unit"),
    "min_order": N_("minimum order"),
    "capacity": N_("capacity"),
    "materials": N_("materials"),
    "shelf_life_days": N_("shelf life"),
    "legal_docs": N_("legal documents"),
    "photos": N_("photos"),
}


def legal_text_plain(t: Translate, docs: list[str] | None) -> str:
    if not docs:
        return t("none")
    return ", ".join(t(LEGAL_LABELS[d]) for d in docs if d in LEGAL_LABELS)


def reason_text(t: Translate, review: Review) -> str:
    parts = [t(REASONS[r]) for r in review.reasons if r in REASONS]
    if review.reason_text:
        parts.append(review.reason_text)
    return "; ".join(parts) or "—"


def _status_line(
    t: Translate, product: Product, review: Review, grade: str | None, now: datetime
) -> str:
    if review.decision is not None:
        label = t(DECISION_LABELS[review.decision])
        line = t("🏁 {decision} by {name}", decision=label, name=review.curator_name or "—")
        if review.grade:
            line += " · " + t("grade {grade}", grade=review.grade)
        return line
    if product.status == S.in_review and review.curator_name:
        line = t("🔎 Held by {name}", name=review.curator_name)
        scored = len([c for c in CRITERIA if c in review.scores])
        line += " · " + t("scores {n}/{total}", n=scored, total=len(CRITERIA))
        if grade:
            line += " · " + t("grade {grade}", grade=grade)
        return line
    if product.status == S.submitted:
        return t("⏳ Waiting for a curator ({age})", age=_age(t, product.submitted_at, now))
    return t("Status: {status}", status=product.status)


def waiting_buttons(t: Translate, review: Review) -> list[list[Button]]:
    return [[button(t("📥 Claim"), FLOW, "claim", str(review.id))]]


def held_buttons(t: Translate, review: Review) -> list[list[Button]]:
    rows: list[list[Button]] = []
    for code in CRITERIA:
        current = review.scores.get(code)
        label = t(CRITERION_SHORT[code])
        row = [button(label, FLOW, "noop", str(review.id))]
        for score in SCORES:
            mark = f"•{score}•" if current == score else str(score)
            row.append(button(mark, FLOW, "score", f"{review.id}.{code}.{score}"))
        rows.append(row)
    rows.append(
        [
            button(t("✅ Approve"), FLOW, "approve", str(review.id)),
            button(t("✏️ Revise"), FLOW, "revise", str(review.id)),
            button(t("❌ Reject"), FLOW, "reject", str(review.id)),
        ]
    )
    rows.append([button(t("↩️ Release"), FLOW, "release", str(review.id))])
    return rows


def reason_buttons(
    t: Translate, review: Review, chosen: list[str], action: str
) -> list[list[Button]]:
    items = [
        button(("✅ " if code in chosen else "") + t(label), FLOW, "reason", f"{review.id}.{code}")
        for code, label in REASONS.items()
    ]
    rows = [items[i : i + 2] for i in range(0, len(items), 2)]
    send = t("📨 Send revision request") if action == "revise" else t("📨 Send rejection")
    rows.append([button(t("✍️ Write a reason"), FLOW, "write", str(review.id))])
    rows.append(
        [
            button(send, FLOW, "send", str(review.id)),
            button(t("↩️ Back"), FLOW, "back", str(review.id)),
        ]
    )
    return rows


async def card_replies(
    session: AsyncSession,
    t: Translate,
    *,
    review: Review,
    now: datetime,
    channel: str,
    store: MediaStore | None,
) -> tuple[Reply, Reply]:
    """What the poster sends for a new card: the photo album, then the card with its button."""
    found = await product_with_business(session, product_id=review.product_id)
    assert found is not None
    product, business = found
    photos = await photos_of(session, product_id=product.id)
    previous = await previous_review(session, product_id=product.id, round=review.round)
    album = Reply(
        text="",
        media=tuple(
            MediaOut(
                path=str(store.path(p.store_key)) if store else p.store_key,
                photo_id=p.id,
                cached_id=p.channel_ids.get(channel),
                caption=f"#{product.id} {product.name}" if i == 0 else None,
            )
            for i, p in enumerate(photos)
        ),
    )
    text = card_text(
        t,
        product=product,
        business=business,
        review=review,
        previous=previous,
        rubric_grade=None,
        now=now,
    )
    return album, Reply(text=text, buttons=tuple(tuple(r) for r in waiting_buttons(t, review)))


# --- group chat routing -----------------------------------------------------------------


def is_review_chat(ctx: Context) -> bool:
    return _chat_sectors(ctx) is not None


async def on_group_button(ctx: Context, press: ButtonPress) -> None:
    payload = Payload.unpack(press.payload)
    if payload is not None and payload.flow == FLOW:
        await on_button(ctx, payload)
    else:
        ctx.reply("", alert=group_t(ctx)("That button is no longer valid."))


async def on_group_message(ctx: Context) -> None:
    """A curator's typed reason (a reply to the bot's question); other talk is ignored."""
    event = ctx.incoming.event
    if isinstance(event, Text) and ctx.flow == FLOW and ctx.step in ("reason_text", "override"):
        await _typed_reason(ctx, event.text)


def group_t(ctx: Context) -> Translate:
    return ctx.translator(ctx.settings.review_language)


def _chat_sectors(ctx: Context) -> tuple[str, ...] | None:
    """The sectors this review chat covers (empty: all); None when it is not a review chat."""
    for chat_id, sectors in ctx.settings.review_chats:
        if chat_id == ctx.incoming.chat_id:
            return tuple(sectors)
    return None


async def _may_curate(ctx: Context, product: Product, business: Business) -> str | None:
    """Why this person may not act on this product here (None: they may)."""
    t = group_t(ctx)
    if business.owner_id == ctx.user.id:
        return t("You can't review your own product.")
    sectors = _chat_sectors(ctx)
    if sectors is None or (sectors and product.sector not in sectors):
        return t("This chat doesn't review that sector.")
    if ctx.is_admin:
        return None
    if not await is_curator(
        ctx.session,
        channel=ctx.user.channel,
        external_id=ctx.user.external_id,
        chat_id=ctx.incoming.chat_id,
    ):
        return t("Only registered curators of this chat can do that.")
    return None


def _name(ctx: Context) -> str:
    user = ctx.user
    return user.display_name or (f"@{user.username}" if user.username else user.external_id)


async def on_button(ctx: Context, payload: Payload) -> None:
    t = group_t(ctx)
    head = payload.value.split(".", 1)[0]
    review = await get_review(ctx.session, review_id=int(head)) if head.isdigit() else None
    found = (
        await product_with_business(ctx.session, product_id=review.product_id) if review else None
    )
    if review is None or found is None:
        ctx.reply("", alert=t("This card is out of date."))
        return
    product, business = found
    refusal = await _may_curate(ctx, product, business)
    if refusal is not None:
        ctx.reply("", alert=refusal)
        return
    if payload.step == "noop":
        ctx.reply("", alert=t("Tap 1, 2 or 3 beside a criterion to score it."))
        return
    if payload.step == "claim":
        await _claim(ctx, review, product, business)
        return
    if review.decision is not None or product.status != S.in_review:
        await _already_done(ctx, review, product)
        return
    if review.curator_user_id != ctx.user.id and not (ctx.is_admin and payload.step == "release"):
        ctx.reply("", alert=t("{name} is reviewing this product.", name=review.curator_name or "—"))
        return
    match payload.step:
        case "score":
            await _score(ctx, review, product, business, payload.value)
        case "approve":
            await _approve(ctx, review, product, business)
        case "revise" | "reject":
            ctx.goto(FLOW, "reasons")
            ctx.update_data(review_id=review.id, action=payload.step, reasons=[])
            _edit_card(ctx, review, product, business, reason_buttons(t, review, [], payload.step))
        case "reason":
            await _toggle_reason(ctx, review, product, business, payload.value)
        case "write":
            await _ask_reason_text(ctx, review, step="reason_text")
        case "send":
            await _send_decision(ctx, review, product, business)
        case "back":
            ctx.end_flow()
            _edit_card(ctx, review, product, business, held_buttons(t, review))
        case "release":
            await _release(ctx, review, product, business)
        case _:
            ctx.reply("", alert=t("That button is no longer valid."))


def _edit_card(
    ctx: Context,
    review: Review,
    product: Product,
    business: Business,
    buttons: list[list[Button]],
    *,
    previous: Review | None = None,
) -> None:
    t = group_t(ctx)
    grade = ctx.settings.rubric.grade(review.scores)
    text = card_text(
        t,
        product=product,
        business=business,
        review=review,
        previous=previous,
        rubric_grade=grade,
        now=ctx.now,
    )
    target = review.card_message_id
    press = ctx.incoming.event
    if isinstance(press, ButtonPress) and press.message_id:
        ctx.reply(text, buttons=buttons, edit=True)
    elif target:
        ctx.reply(
            text,
            buttons=buttons,
            to=Address(ctx.incoming.sender.channel, ctx.incoming.chat_id),
            edit_message_id=target,
        )
    else:
        ctx.reply(text, buttons=buttons)


async def _reload(ctx: Context, review: Review) -> tuple[Review, Product, Business]:
    fresh = await get_review(ctx.session, review_id=review.id)
    found = await product_with_business(ctx.session, product_id=review.product_id)
    assert fresh is not None and found is not None
    return fresh, found[0], found[1]


async def _already_done(ctx: Context, review: Review, product: Product) -> None:
    """Tell a too-late presser who got there first, from a fresh read: under READ COMMITTED
    the review row read earlier in this update may predate the winner's commit."""
    t = group_t(ctx)
    review, product, _business = await _reload(ctx, review)
    if review.decision is not None:
        ctx.reply(
            "",
            alert=t(
                "Already decided by {name}: {decision}.",
                name=review.curator_name or "—",
                decision=t(DECISION_LABELS[review.decision]),
            ),
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
    if not await claim(
        ctx.session,
        review=review,
        product=product,
        curator_user_id=ctx.user.id,
        curator_name=_name(ctx),
        now=ctx.now,
    ):
        review, product, business = await _reload(ctx, review)
        await _already_done(ctx, review, product)
        return
    review, product, business = await _reload(ctx, review)
    ctx.reply("", alert=t("It's yours. Score the seven criteria, then decide."))
    previous = await previous_review(ctx.session, product_id=product.id, round=review.round)
    _edit_card(ctx, review, product, business, held_buttons(t, review), previous=previous)
    await _tell_producer(ctx, business, product, "claimed", review)


async def _score(
    ctx: Context, review: Review, product: Product, business: Business, value: str
) -> None:
    t = group_t(ctx)
    try:
        _id, code, raw = value.split(".")
        score = int(raw)
    except ValueError:
        ctx.reply("", alert=t("That button is no longer valid."))
        return
    if code not in CRITERIA or score not in SCORES:
        ctx.reply("", alert=t("That button is no longer valid."))
        return
    review.scores = {**review.scores, code: score}
    review.touched_at = ctx.now
    await ctx.session.flush()
    previous = await previous_review(ctx.session, product_id=product.id, round=review.round)
    _edit_card(ctx, review, product, business, held_buttons(t, review), previous=previous)


async def _approve(ctx: Context, review: Review, product: Product, business: Business) -> None:
    grade = ctx.settings.rubric.grade(review.scores)
    if grade not in APPROVABLE:
        await _ask_reason_text(ctx, review, step="override", grade=grade)
        return
    await _finish(
        ctx,
        review,
        product,
        business,
        "approve",
        grade=grade,
        reasons=[],
        text=None,
        override=False,
    )


async def _toggle_reason(
    ctx: Context, review: Review, product: Product, business: Business, value: str
) -> None:
    t = group_t(ctx)
    code = value.split(".", 1)[1] if "." in value else ""
    if ctx.flow != FLOW or ctx.data.get("review_id") != review.id or code not in REASONS:
        ctx.reply("", alert=t("Press Revise or Reject first."))
        return
    chosen = list(ctx.data.get("reasons") or [])
    chosen = [c for c in chosen if c != code] if code in chosen else [*chosen, code]
    ctx.update_data(reasons=chosen)
    _edit_card(
        ctx,
        review,
        product,
        business,
        reason_buttons(t, review, chosen, ctx.data.get("action", "revise")),
    )


async def _ask_reason_text(
    ctx: Context, review: Review, *, step: str, grade: str | None = None
) -> None:
    t = group_t(ctx)
    data = ctx.data if ctx.flow == FLOW and ctx.data.get("review_id") == review.id else {}
    ctx.goto(FLOW, step)
    ctx.update_data(
        review_id=review.id, action=data.get("action", "approve"), reasons=data.get("reasons", [])
    )
    if step == "override":
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
    who = f"@{ctx.user.username}" if ctx.user.username else _name(ctx)
    ctx.reply(f"{who}: {question}", force_reply=True)


async def _typed_reason(ctx: Context, raw: str) -> None:
    t = group_t(ctx)
    review_id = ctx.data.get("review_id")
    review = (
        await get_review(ctx.session, review_id=review_id) if isinstance(review_id, int) else None
    )
    found = (
        await product_with_business(ctx.session, product_id=review.product_id) if review else None
    )
    if review is None or found is None:
        ctx.end_flow()
        return
    product, business = found
    if (
        review.decision is not None
        or product.status != S.in_review
        or review.curator_user_id != ctx.user.id
    ):
        ctx.end_flow()
        await _already_done(ctx, review, product)
        if ctx.replies and not ctx.replies[-1].text:
            alert = ctx.replies.pop().alert or ""
            ctx.reply(alert)
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
    if ctx.step == "override":
        grade = ctx.settings.rubric.grade(review.scores)
        await _finish(
            ctx,
            review,
            product,
            business,
            "approve",
            grade=grade,
            reasons=[],
            text=text,
            override=True,
        )
        return
    action = ctx.data.get("action", "revise")
    await _finish(
        ctx,
        review,
        product,
        business,
        action,
        grade=ctx.settings.rubric.grade(review.scores),
        reasons=list(ctx.data.get("reasons") or []),
        text=text,
        override=False,
    )


async def _send_decision(
    ctx: Context, review: Review, product: Product, business: Business
) -> None:
    t = group_t(ctx)
    if ctx.flow != FLOW or ctx.data.get("review_id") != review.id:
        ctx.reply("", alert=t("Press Revise or Reject first."))
        return
    reasons = list(ctx.data.get("reasons") or [])
    if not reasons:
        ctx.reply("", alert=t("Choose at least one reason, or write one."))
        return
    await _finish(
        ctx,
        review,
        product,
        business,
        ctx.data.get("action", "revise"),
        grade=ctx.settings.rubric.grade(review.scores),
        reasons=reasons,
        text=None,
        override=False,
    )


async def _finish(
    ctx: Context,
    review: Review,
    product: Product,
    business: Business,
    action: str,
    *,
    grade: str | None,
    reasons: list[str],
    text: str | None,
    override: bool,
) -> None:
    t = group_t(ctx)
    decided = await decide(
        ctx.session,
        review=review,
        product=product,
        action=action,
        actor_user_id=ctx.user.id,
        grade=grade,
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
    ctx.reply("", alert=t("Decision sent to the producer."))
    previous = await previous_review(ctx.session, product_id=product.id, round=review.round)
    _edit_card(ctx, review, product, business, [], previous=previous)
    await _tell_producer(ctx, business, product, review.decision or "", review)


async def _release(ctx: Context, review: Review, product: Product, business: Business) -> None:
    t = group_t(ctx)
    if not await release(
        ctx.session, review=review, product=product, actor_user_id=ctx.user.id, now=ctx.now
    ):
        review, product, business = await _reload(ctx, review)
        await _already_done(ctx, review, product)
        return
    ctx.end_flow()
    review, product, business = await _reload(ctx, review)
    ctx.reply("", alert=t("Released: back in the queue."))
    _edit_card(ctx, review, product, business, waiting_buttons(t, review))


# --- telling the producer ---------------------------------------------------------------


async def _tell_producer(
    ctx: Context, business: Business, product: Product, what: str, review: Review
) -> None:
    owner = await ctx.session.get(User, business.owner_id)
    if owner is None:
        return
    t = ctx.translator(owner.language or "id")
    to = Address(owner.channel, owner.external_id)
    name = product.name or ""
    buttons: list[Button] = []
    match what:
        case "claimed":
            text = t(
                "🔎 A curator is now reviewing “{name}” (round {round}).",
                name=name,
                round=review.round,
            )
        case "approved":
            text = t(
                "🎉 “{name}” is approved by the curators with grade {grade}. It can now be "
                "promoted on the export platform; I will tell you about fairs for it.",
                name=name,
                grade=review.grade or "—",
            )
        case "revision_requested":
            text = t(
                "✏️ The curator asks for changes to “{name}” before approval:\n{reason}\n\n"
                "Fix them and submit again — it goes back to the curators as round {round}.",
                name=name,
                reason=reason_text(t, review),
                round=review.round + 1,
            )
            buttons = [button(t("✏️ Edit and resubmit"), "plist", "open", str(product.id))]
        case "rejected":
            text = t(
                "“{name}” was not approved for export curation this time. The curator's "
                "reason:\n{reason}",
                name=name,
                reason=reason_text(t, review),
            )
        case _:
            return
    if what in ("approved", "revision_requested") and review.scores:
        scores = ", ".join(
            f"{t(CRITERION_LABELS[c])} {review.scores[c]}" for c in CRITERIA if c in review.scores
        )
        text += "\n\n" + t("Scores (1–3): {scores}", scores=scores)
    rows: list[list[Button]] = [[b] for b in buttons]
    if what == "approved":  # the export catalogue's questions (handlers/catalogue.py)
        extra, extra_rows = catalogue.approval_extras(t, product, business)
        text += f"\n\n{extra}" if extra else ""
        rows += extra_rows
    ctx.reply(text, buttons=rows, to=to)


# --- group commands ---------------------------------------------------------------------


async def queue(ctx: Context) -> None:
    """/antrian: waiting products per sector, oldest first with their age."""
    t = group_t(ctx)
    sectors = _chat_sectors(ctx)
    products = await waiting(ctx.session, sectors=sectors or None)
    if not products:
        ctx.reply(t("The queue is empty. 🎉"))
        return
    by_sector: dict[str, list[Product]] = defaultdict(list)
    for product in products:
        by_sector[product.sector or "other"].append(product)
    lines = [t("Waiting for a curator:")]
    for sector, items in by_sector.items():
        lines.append(f"\n{t(SECTOR_LABELS.get(sector, 'Other'))} ({len(items)})")
        for product in items[:20]:
            lines.append(
                f"• #{product.id} {product.name} — {_age(t, product.submitted_at, ctx.now)}"
            )
        if len(items) > 20:
            lines.append(t("… and {n} more", n=len(items) - 20))
    ctx.reply("\n".join(lines))


async def my_stats(ctx: Context) -> None:
    """/statistik_saya: this curator's decisions over the last seven days."""
    t = group_t(ctx)
    counts = await decisions_since(
        ctx.session, curator_user_id=ctx.user.id, since=ctx.now - timedelta(days=7)
    )
    ctx.reply(
        t(
            "{name}, your last 7 days: {approve} approved, {revise} revisions requested, "
            "{reject} rejected.",
            name=_name(ctx),
            approve=counts["approve"],
            revise=counts["revise"],
            reject=counts["reject"],
        )
    )


async def _target_user(ctx: Context, arg: str) -> str | None:
    arg = arg.strip()
    if arg.lstrip("-").isdigit():
        return arg
    if arg.startswith("@") and len(arg) > 1:
        found = await ctx.session.scalar(
            select(User.external_id).where(
                User.channel == ctx.user.channel, User.username.ilike(arg[1:])
            )
        )
        return found
    return None


async def _named_target(ctx: Context, usage: str) -> tuple[Translate, str, str] | None:
    """For curator commands: whom the argument names (a user id or @username)."""
    t = ctx.t if ctx.incoming.chat_type == "private" else group_t(ctx)
    event = ctx.incoming.event
    arg = (event.args if isinstance(event, Command) else "").strip()
    target = await _target_user(ctx, arg)
    if target is None:
        ctx.reply(usage)
        return None
    return t, target, arg


async def curator_add(ctx: Context) -> None:
    """/kurator_tambah ID|@username — in a review chat: for that chat; in private: every chat."""
    t = ctx.t if ctx.incoming.chat_type == "private" else group_t(ctx)
    found = await _named_target(
        ctx,
        t(
            "Who? Use /kurator_tambah followed by a Telegram user id, or by @username "
            "if that person has already started the bot."
        ),
    )
    if found is None:
        return
    t, target, who = found
    chat_id = ctx.incoming.chat_id if ctx.incoming.chat_type == "group" else None
    added = await add_curator(
        ctx.session,
        external_id=target,
        chat_id=chat_id,
        added_by=ctx.user.external_id,
        now=ctx.now,
        channel=ctx.user.channel,
    )
    where = t("in this chat") if chat_id else t("in every review chat")
    ctx.reply(
        t("{who} is now a curator {where}.", who=who, where=where)
        if added
        else t("{who} is already a curator {where}.", who=who, where=where)
    )


async def curator_remove(ctx: Context) -> None:
    t = ctx.t if ctx.incoming.chat_type == "private" else group_t(ctx)
    found = await _named_target(
        ctx, t("Who? Use /kurator_hapus followed by a Telegram user id or @username.")
    )
    if found is None:
        return
    t, target, who = found
    removed = await remove_curator(ctx.session, external_id=target, channel=ctx.user.channel)
    ctx.reply(
        t("{who} is no longer a curator.", who=who)
        if removed
        else t("{who} was not a curator.", who=who)
    )


async def curator_list(ctx: Context) -> None:
    t = ctx.t if ctx.incoming.chat_type == "private" else group_t(ctx)
    curators = await list_curators(ctx.session)
    if not curators:
        ctx.reply(t("No curators yet. Add one with /kurator_tambah."))
        return
    names = {
        u.external_id: u
        for u in await ctx.session.scalars(
            select(User).where(User.external_id.in_([c.external_id for c in curators]))
        )
    }
    lines = [t("Curators:")]
    for c in curators:
        user = names.get(c.external_id)
        who = (user.display_name if user and user.display_name else "") or c.external_id
        scope = c.chat_id or t("every review chat")
        lines.append(f"• {who} ({c.external_id}) — {scope}")
    ctx.reply("\n".join(lines))


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
            text = card_text(
                t,
                product=product,
                business=business,
                review=fresh,
                previous=None,
                rubric_grade=None,
                now=now,
            )
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
                    )
                ),
            )
        )
    return out
