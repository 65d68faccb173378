"""What the review side tells others: the chat of a new or withdrawn round, the producer of
a claim or a decision."""

from __future__ import annotations

from datetime import timedelta

from db.models import Business, Product, Review, ReviewDecision
from db.notifications import plan
from db.products import photos_of
from db.reviews import open_round, record, route_chat
from db.users import get_user_by_id
from handlers.features import catalogue
from handlers.features.buttons import ProductButton
from handlers.features.review.card import reason_text
from handlers.i18n import N_
from handlers.kit.context import Context, Translate
from handlers.kit.events import Address, Button
from handlers.rules.rubric import CRITERIA, CRITERION_LABELS

CLAIMED = "claimed"


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


def withdrawn(ctx: Context, review: Review) -> None:
    """The producer took a waiting product back: its posted card says so."""
    if review.card_message_id and review.channel and review.chat_id:
        t = ctx.translator(ctx.settings.review_language)
        ctx.reply(
            t("↩️ #{id} was withdrawn by the producer before review.", id=review.product_id),
            to=Address(review.channel, review.chat_id),
            edit_message_id=review.card_message_id,
        )


# What each notice is called in the notification vocabulary (WhatsApp templates are per kind).
NOTICE_KINDS = {
    "claimed": "claimed",
    ReviewDecision.approved: "approved",
    ReviewDecision.revision_requested: "revision",
    ReviewDecision.rejected: "rejected",
}
UNDO_SECONDS = 30  # an approval or rejection can be taken back this long; then it is told
DECISION = "decision"  # the notification kind of a told approval or rejection


async def tell_producer(
    ctx: Context, business: Business, product: Product, what: str, review: Review
) -> None:
    """`what`: CLAIMED or a ReviewDecision. An approval or a rejection is told once the
    curator's undo window has closed (a notification due then); the rest at once."""
    owner = await get_user_by_id(ctx.session, user_id=business.owner_id)
    if owner is None:
        return
    if what in (ReviewDecision.approved, ReviewDecision.rejected):
        await plan(
            ctx.session,
            kind=DECISION,
            dedupe_key=f"{DECISION}:{review.id}:{ctx.now.isoformat()}",
            channel=owner.channel,
            chat_id=owner.external_id,
            user_id=owner.id,
            subject_id=product.id,
            payload={"review_id": review.id},
            due_at=ctx.now + timedelta(seconds=UNDO_SECONDS),
            now=ctx.now,
        )
        ctx.signals.add("outbox")  # the senders look again: told when the window closes
        return
    t = ctx.translator(owner.language or "id")
    notice = producer_notice(t, business, product, what, review)
    if notice is not None:
        text, rows = notice
        ctx.reply(
            text,
            buttons=rows,
            to=Address(owner.channel, owner.external_id),
            notice_kind=NOTICE_KINDS.get(what, "notice"),
            subject_id=product.id,
        )


# What the producer reads of a claim or a decision: {name}; {round} (for a revision, the
# round it will come back as), {grade} and {reason}.
PRODUCER_TEXT: dict[str, str] = {
    CLAIMED: N_("🔎 A curator is now reviewing “{name}” (round {round})."),
    ReviewDecision.approved: N_(
        "🎉 “{name}” is approved by the curators with grade {grade}. It can now be "
        "promoted on the export platform; I will tell you about fairs for it."
    ),
    ReviewDecision.revision_requested: N_(
        "✏️ The curator asks for changes to “{name}” before approval:\n{reason}\n\n"
        "Fix them and submit again — it goes back to the curators as round {round}."
    ),
    ReviewDecision.rejected: N_(
        "“{name}” was not approved for export curation this time. The curator's reason:\n{reason}"
    ),
}
# The button under it, into the producer's /produk pages: its label and what it does there.
PRODUCER_BUTTON: dict[str, tuple[str, str]] = {
    ReviewDecision.revision_requested: (N_("✏️ Edit and resubmit"), "edit"),
    ReviewDecision.rejected: (N_("📄 New product from this one"), "copy"),
}


def producer_notice(
    t: Translate, business: Business, product: Product, what: str, review: Review
) -> tuple[str, list[list[Button]]] | None:
    """What the producer is told of a claim or a decision: the text and its buttons."""
    template = PRODUCER_TEXT.get(what)
    if template is None:
        return None
    text = t(
        template,
        name=product.name or "",
        round=review.round + 1 if what == ReviewDecision.revision_requested else review.round,
        grade=review.grade or "—",
        reason=reason_text(t, review),
    )
    rows: list[list[Button]] = []
    if what in PRODUCER_BUTTON:
        label, action = PRODUCER_BUTTON[what]
        rows.append([ProductButton(action, product.id).button(t(label))])
    if what in (ReviewDecision.approved, ReviewDecision.revision_requested) and review.scores:
        scores = ", ".join(
            f"{t(CRITERION_LABELS[c])} {review.scores[c]}" for c in CRITERIA if c in review.scores
        )
        text += "\n\n" + t("Scores (1–3): {scores}", scores=scores)
    if what == ReviewDecision.approved:  # the export catalogue's questions
        extra, extra_rows = catalogue.approval_extras(t, product, business)
        text += f"\n\n{extra}" if extra else ""
        rows += extra_rows
    return text, rows
