"""Reminder messages (what each scheduled kind says) and /pengingat, the producer's switches."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Fair, Notification, Product, ProductStatus, User
from db.notifications import stats_between
from db.reviews import (
    get_review,
    latest_review,
    product_with_business,
    release,
    stale_claims,
    waiting,
)
from handlers.features.buttons import ProductButton
from handlers.features.fairs.text import date_range_text, fair_text, interest_button
from handlers.features.inquiries import KINDS as INQUIRY_KINDS
from handlers.features.inquiries import render_notification as render_inquiry
from handlers.features.review import notices
from handlers.features.review.assist import is_clean, queue_line
from handlers.features.review.card import card_text, reason_text, waiting_buttons
from handlers.i18n import N_
from handlers.kit.capabilities import for_channel
from handlers.kit.context import Context, Translate, button
from handlers.kit.events import Address, Button, Reply
from handlers.kit.feature import Feature, Surface
from handlers.kit.labels import SECTOR_LABELS
from handlers.kit.payload import Payload
from handlers.kit.render import fit

FLOW = "remind"
# Reminder kinds a producer can switch off, by group.
GROUPS = {
    "drafts": N_("Unfinished drafts"),
    "revisions": N_("Revisions the curators asked for"),
    "fairs": N_("Export fairs"),
    "announcements": N_("Announcements from the organisers"),  # broadcasts (db.broadcasts)
}
GROUP_OF = {
    "draft": "drafts",
    "revision": "revisions",
    "fair_deadline": "fairs",
    "fair_start": "fairs",
}
# News about a fair a producer said they were interested in: not switched off with the
# reminders, but held during quiet hours like them.
FAIR_NEWS_KINDS = frozenset({"fair_changed", "fair_cancelled"})
PRODUCER_KINDS = frozenset(GROUP_OF) | FAIR_NEWS_KINDS


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


# --- what each kind says ----------------------------------------------------------------


def _days(delta: timedelta) -> int:
    return max(delta.days, 0)


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
    reply = await _render(session, note, t, now, zone, review_chats)
    if reply is None or recipient is None:
        return reply
    return fit(for_channel(recipient.channel), t, reply)


async def _render(
    session: AsyncSession,
    note: Notification,
    t: Translate,
    now: datetime,
    zone: ZoneInfo,
    review_chats: tuple[tuple[str, tuple[str, ...]], ...],
) -> Reply | None:
    match note.kind:
        case "draft":
            product = await session.get(Product, note.subject_id)
            if product is None or product.status != ProductStatus.draft:
                return None
            return Reply(
                t(
                    "📝 “{name}” is still a draft. A few more answers and the curators can "
                    "see it — shall we finish it?",
                    name=product.name or t("(no name yet)"),
                ),
                buttons=((ProductButton("open", product.id).button(t("▶️ Continue")),),),
            )
        case "revision":
            product = await session.get(Product, note.subject_id)
            if product is None or product.status != ProductStatus.revision_requested:
                return None
            review = await latest_review(session, product_id=product.id)
            return Reply(
                t(
                    "✏️ Reminder: the curator asked for changes to “{name}”:\n{reason}\n\n"
                    "Fix them and submit again to continue curation.",
                    name=product.name,
                    reason=reason_text(t, review) if review else "—",
                ),
                buttons=((ProductButton("open", product.id).button(t("✏️ Edit and resubmit")),),),
            )
        case "unclaimed":
            product = await session.get(Product, note.subject_id)
            if product is None or product.status != ProductStatus.submitted:
                return None
            return Reply(
                t(
                    "⏳ #{id} {name} has waited {days} days for a curator. Who takes it?",
                    id=product.id,
                    name=product.name,
                    days=_days(now - (product.submitted_at or now)),
                )
            )
        case "review_digest":
            return await _review_digest(session, t, note.chat_id, now, review_chats)
        case "weekly_digest":
            return await _weekly_digest(session, t, now)
        case "fair_deadline" | "fair_start":
            fair = await session.get(Fair, note.subject_id)
            if fair is None:
                return None
            return _fair_reminder(t, fair, note.kind, now.astimezone(zone).date())
        case "fair_changed" | "fair_cancelled":
            return await _fair_news(session, t, note)
        case notices.DECISION:
            return await _decision(session, t, note)
        case kind if kind in INQUIRY_KINDS:
            return await render_inquiry(session, t, note, zone)
    return None


async def _decision(session: AsyncSession, t: Translate, note: Notification) -> Reply | None:
    """An approval or rejection whose undo window has closed (None: it was taken back)."""
    review_id = (note.payload or {}).get("review_id")
    review = await get_review(session, review_id=review_id) if isinstance(review_id, int) else None
    found = await product_with_business(session, product_id=review.product_id) if review else None
    if review is None or found is None or review.decision != found[0].status:
        return None
    product, business = found
    notice = notices.producer_notice(t, business, product, review.decision or "", review)
    if notice is None:
        return None
    text, rows = notice
    return Reply(text, buttons=tuple(tuple(row) for row in rows))


async def _fair_news(session: AsyncSession, t: Translate, note: Notification) -> Reply | None:
    """A fair the reader was interested in moved, or was cancelled."""
    before = (note.payload or {}).get("before")
    if not before:
        return None
    was = date_range_text(
        t, date.fromisoformat(before["start_date"]), date.fromisoformat(before["end_date"])
    )
    if note.kind == "fair_cancelled":
        return Reply(
            t(
                "❌ {name} ({dates}, {place}) has been cancelled. Other fairs for your sector: "
                "/pameran.",
                name=before["name"],
                dates=was,
                place=before["place"],
            )
        )
    fair = await session.get(Fair, note.subject_id)
    if fair is None:  # deleted since: the cancellation notice says so
        return None
    head = t(
        "📅 {name} has changed (it was {dates}, {place}). Now:",
        name=fair.name,
        dates=was,
        place=before["place"],
    )
    return Reply(f"{head}\n\n{fair_text(t, fair)}")


async def _review_digest(
    session: AsyncSession,
    t: Translate,
    chat_id: str,
    now: datetime,
    review_chats: tuple[tuple[str, tuple[str, ...]], ...],
) -> Reply | None:
    sectors = next((s for c, s in review_chats if c == chat_id), None)
    products = await waiting(session, sectors=sectors or None)
    if not products:
        return None
    by_sector: dict[str, list[Product]] = defaultdict(list)
    for product in products:
        by_sector[product.sector or "other"].append(product)
    lines = [t("☀️ Good morning! Waiting for a curator:")]
    for sector, items in by_sector.items():
        oldest = _days(now - (items[0].submitted_at or now))
        lines.append(
            t(
                "• {sector}: {n} (oldest {days} days)",
                sector=t(SECTOR_LABELS.get(sector, "Other")),
                n=len(items),
                days=oldest,
            )
        )
    lines += _triage_lines(t, products)
    from handlers.features.stats import chat_trend_line

    lines.append(await chat_trend_line(session, t, chat_id=chat_id, now=now))
    lines.append(t("/antrian shows them all."))
    return Reply("\n".join(lines))


DIGEST_FLAGGED = 10


def _triage_lines(t: Translate, products: list[Product]) -> list[str]:
    """How many are complete without flags (take them first), and the flagged ones."""
    clean = [p for p in products if is_clean(p)]
    lines = [t("✓ {n} complete, no flags: quick to take first.", n=len(clean))]
    flagged = [p for p in products if not is_clean(p)]
    for product in flagged[:DIGEST_FLAGGED]:
        lines.append(f"  #{product.id} {product.name} — {queue_line(t, product)}")
    if len(flagged) > DIGEST_FLAGGED:
        lines.append(t("… and {n} more", n=len(flagged) - DIGEST_FLAGGED))
    return lines


async def _weekly_digest(session: AsyncSession, t: Translate, now: datetime) -> Reply:
    stats = await stats_between(session, start=now - timedelta(days=7), end=now)
    decided = stats["decided"]
    median = stats["median_hours"]
    return Reply(
        t(
            "📊 Kurasi this week: {submitted} submissions; {approved} approved, {revised} "
            "revisions, {rejected} rejected; median time to decision {median}; "
            "{backlog} waiting now.",
            submitted=stats["submitted"],
            approved=decided.get("approved", 0),
            revised=decided.get("revision_requested", 0),
            rejected=decided.get("rejected", 0),
            median=t("{h} hours", h=round(median)) if median is not None else "—",
            backlog=stats["backlog"],
        )
    )


def _fair_reminder(t: Translate, fair: Fair, kind: str, today: date) -> Reply | None:
    if kind == "fair_deadline":
        if fair.registration_deadline is None or fair.registration_deadline < today:
            return None
        days = (fair.registration_deadline - today).days
        head = t("⏰ Registration for {name} closes in {days} days.", name=fair.name, days=days)
    else:
        if fair.start_date < today:
            return None
        days = (fair.start_date - today).days
        head = t("🗓 {name} starts in {days} days.", name=fair.name, days=days)
    return Reply(f"{head}\n\n{fair_text(t, fair)}", buttons=((interest_button(t, fair.id),),))


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
