"""Every notification kind, declared once: its name, the /pengingat switch that turns it off,
whether quiet hours hold it, its settings under [reminders], how a tick plans it (and the
planning queries EXPLAIN looks at), what it says, and what fills its WhatsApp template.

Each view reads `KINDS`: the planner loop (bot/notify.py), the renderer, the switches, quiet
hours, the config defaults, the template values and the scheduler's EXPLAIN list. To add a
kind: one `ReminderKind(...)` below with its planner and renderer (and, if it has a setting,
its typed default in handlers/rules/schedule.py and its documented key in config.example.toml).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from sqlalchemy import Executable
from sqlalchemy.ext.asyncio import AsyncSession

from db.broadcasts import OPT_OUT
from db.models import Fair, Notification, Product, ProductStatus
from db.notifications import (
    admins,
    admins_query,
    draft_nudges_query,
    fair_producers_query,
    fairs_ending_after,
    fairs_ending_after_query,
    insert_statement,
    plan,
    plan_draft_nudges,
    plan_fair_occasion,
    plan_revisions,
    plan_unclaimed,
    revisions_query,
    stats_between,
    to_user,
    unclaimed_query,
)
from db.reviews import get_review, latest_review, product_with_business, waiting
from handlers.features import inquiries
from handlers.features.buttons import ProductButton
from handlers.features.fairs.text import (
    FAIR_CANCELLED,
    FAIR_CHANGED,
    date_range_text,
    fair_text,
    interest_button,
)
from handlers.features.review import notices
from handlers.features.review.assist import is_clean, queue_line
from handlers.features.review.card import reason_text
from handlers.i18n import N_
from handlers.kit.context import Translate
from handlers.kit.events import Reply
from handlers.kit.labels import SECTOR_LABELS
from handlers.rules.schedule import ReminderSchedule

FAIR_GRACE = timedelta(days=1)  # a fair reminder more than a day late is no longer sent


@dataclass(frozen=True, slots=True)
class OptOut:
    """A /pengingat switch: its stored value (in `users.reminder_optouts`) and its label."""

    key: str
    label: str


DRAFTS = OptOut("drafts", N_("Unfinished drafts"))
REVISIONS = OptOut("revisions", N_("Revisions the curators asked for"))
FAIRS = OptOut("fairs", N_("Export fairs"))
# Not a notification kind: the broadcasts' switch (db/broadcasts.py leaves them out by it).
ANNOUNCEMENTS = OptOut(OPT_OUT, N_("Announcements from the organisers"))


@dataclass(slots=True)
class Planning:
    """What one tick's planners know: the moment, the schedule, and who is told where."""

    now: datetime
    today: date  # in the configured time zone
    zone: ZoneInfo
    schedule: ReminderSchedule
    admin_channel: str = "telegram"
    admin_ids: frozenset[str] = frozenset()
    review_channel: str | None = None
    review_chats: tuple[tuple[str, tuple[str, ...]], ...] = ()
    # Whether a digest due at this moment falls in this tick (bot/notify.py decides).
    digest_due: Callable[[datetime], bool] = lambda _due: False
    _fairs: list[Fair] | None = field(default=None, repr=False)

    def at(self, day: date, moment: time) -> datetime:
        return datetime.combine(day, moment, tzinfo=self.zone)

    async def fairs(self, session: AsyncSession) -> list[Fair]:
        """The fairs not over yet, read once a tick for every fair kind."""
        if self._fairs is None:
            self._fairs = await fairs_ending_after(session, today=self.today)
        return self._fairs


@dataclass(frozen=True, slots=True)
class Rendering:
    """What a renderer knows besides the notification: the reader's language, the time."""

    t: Translate
    now: datetime
    zone: ZoneInfo
    review_chats: tuple[tuple[str, tuple[str, ...]], ...]


Planner = Callable[[AsyncSession, Planning], Awaitable[int]]
Explainer = Callable[[Planning], dict[str, Executable]]
Renderer = Callable[[AsyncSession, Notification, Rendering], Awaitable[Reply | None]]
TemplateValues = Callable[[AsyncSession, int | None], Awaitable[dict[str, str]]]


@dataclass(frozen=True, slots=True)
class ReminderKind:
    """One kind of notification. `plan` is how each tick plans it, or (a text) the event
    that plans it elsewhere; `explain` names the tick's planning statements for EXPLAIN
    (None: planned by an event, one row at a time). `settings` are its keys under
    [reminders] (their typed defaults: ReminderSchedule). `subject` says what `subject_id`
    names (a product is loaded with the batch being sent)."""

    name: str
    opt_out: OptOut | None
    quiet: bool  # a producer's message: held back during quiet hours
    settings: tuple[str, ...]
    plan: Planner | str
    explain: Explainer | None
    render: Renderer
    template: TemplateValues
    subject: Literal["product", "fair"] | None


# --- template values: what a kind's WhatsApp template can be filled with -----------------


async def product_values(session: AsyncSession, subject_id: int | None) -> dict[str, str]:
    product = await session.get(Product, subject_id) if subject_id is not None else None
    return {"product": product.name or "-"} if product is not None else {}


def _fair_values(*, deadline: bool) -> TemplateValues:
    async def values(session: AsyncSession, subject_id: int | None) -> dict[str, str]:
        fair = await session.get(Fair, subject_id) if subject_id is not None else None
        if fair is None:
            return {}
        day = fair.start_date
        if deadline and fair.registration_deadline is not None:
            day = fair.registration_deadline
        return {"fair": fair.name, "date": day.strftime("%d-%m-%Y"), "place": fair.place}

    return values


async def no_values(_session: AsyncSession, _subject_id: int | None) -> dict[str, str]:
    """A kind told to a review chat or an admin: no template outside a window."""
    return {}


# --- drafts, revisions, unclaimed submissions --------------------------------------------

DRAFT, REVISION, UNCLAIMED = "draft", "revision", "unclaimed"


async def _plan_drafts(session: AsyncSession, p: Planning) -> int:
    s = p.schedule
    if not s.draft_nudges:
        return 0
    return await plan_draft_nudges(
        session, kind=DRAFT, now=p.now, idle=s.draft_idle, nudges=s.draft_nudges
    )


def _explain_drafts(p: Planning) -> dict[str, Executable]:
    s = p.schedule
    return {
        f"plan: draft nudge {nudge}": insert_statement(
            "postgresql",
            draft_nudges_query(
                kind=DRAFT, now=p.now, idle=s.draft_idle, nudge=nudge, last=nudge == s.draft_nudges
            ),
        )
        for nudge in range(1, s.draft_nudges + 1)
    }


async def _render_draft(session: AsyncSession, note: Notification, r: Rendering) -> Reply | None:
    t = r.t
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


async def _plan_revisions(session: AsyncSession, p: Planning) -> int:
    return await plan_revisions(session, kind=REVISION, now=p.now, idle=p.schedule.revision_idle)


def _explain_revisions(p: Planning) -> dict[str, Executable]:
    query = revisions_query(kind=REVISION, now=p.now, idle=p.schedule.revision_idle)
    return {"plan: revisions": insert_statement("postgresql", query)}


async def _render_revision(session: AsyncSession, note: Notification, r: Rendering) -> Reply | None:
    t = r.t
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


async def _plan_unclaimed(session: AsyncSession, p: Planning) -> int:
    return await plan_unclaimed(
        session, kind=UNCLAIMED, now=p.now, wait=p.schedule.unclaimed, admin_channel=p.admin_channel
    )


def _explain_unclaimed(p: Planning) -> dict[str, Executable]:
    query = unclaimed_query(
        kind=UNCLAIMED, now=p.now, wait=p.schedule.unclaimed, admin_channel=p.admin_channel
    )
    return {"plan: unclaimed": insert_statement("postgresql", query)}


def _days(delta: timedelta) -> int:
    return max(delta.days, 0)


async def _render_unclaimed(
    session: AsyncSession, note: Notification, r: Rendering
) -> Reply | None:
    product = await session.get(Product, note.subject_id)
    if product is None or product.status != ProductStatus.submitted:
        return None
    return Reply(
        r.t(
            "⏳ #{id} {name} has waited {days} days for a curator. Who takes it?",
            id=product.id,
            name=product.name,
            days=_days(r.now - (product.submitted_at or r.now)),
        )
    )


# --- the digests ------------------------------------------------------------------------

REVIEW_DIGEST, WEEKLY_DIGEST = "review_digest", "weekly_digest"
DIGEST_FLAGGED = 10


async def _plan_review_digests(session: AsyncSession, p: Planning) -> int:
    planned = 0
    # Yesterday too: a digest set for 23:00 is still due at 00:30.
    for day in (p.today - timedelta(days=1), p.today):
        due = p.at(day, p.schedule.review_digest_at)
        if not (p.digest_due(due) and p.review_channel):
            continue
        for chat_id, _sectors in p.review_chats:
            planned += await plan(
                session,
                kind=REVIEW_DIGEST,
                dedupe_key=f"digest:{chat_id}:{day.isoformat()}",
                channel=p.review_channel,
                chat_id=chat_id,
                due_at=due,
                now=p.now,
            )
    return planned


def _explain_nothing(_p: Planning) -> dict[str, Executable]:
    """Planned row by row, one per review chat: no statement grows with the data."""
    return {}


async def _render_review_digest(
    session: AsyncSession, note: Notification, r: Rendering
) -> Reply | None:
    return await _review_digest(session, r.t, note.chat_id, r.now, r.review_chats)


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


async def _plan_weekly_digests(session: AsyncSession, p: Planning) -> int:
    s, today = p.schedule, p.today
    week_start = today - timedelta(days=(today.weekday() - s.weekly_digest_day) % 7)
    due = p.at(week_start, s.weekly_digest_at)
    if not p.digest_due(due):
        return 0
    planned = 0
    year, week, _ = week_start.isocalendar()
    for admin in await admins(session, channel=p.admin_channel, external_ids=sorted(p.admin_ids)):
        planned += await plan(
            session,
            kind=WEEKLY_DIGEST,
            dedupe_key=f"weekly:{admin.id}:{year}-W{week:02d}",
            **to_user(admin),
            due_at=due,
            now=p.now,
        )
    return planned


def _explain_weekly(p: Planning) -> dict[str, Executable]:
    return {"plan: admins": admins_query(channel=p.admin_channel, external_ids=["1"])}


async def _render_weekly_digest(
    session: AsyncSession, _note: Notification, r: Rendering
) -> Reply | None:
    t, now = r.t, r.now
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


# --- fairs ------------------------------------------------------------------------------

FAIR_DEADLINE, FAIR_START = "fair_deadline", "fair_start"


def _fair_planner(kind: str, day_of: Callable[[Fair], date | None], days_of: str) -> Planner:
    """A fair kind planned `days` before a day of the fair (its deadline, its start), at
    ReminderSchedule.fair_reminder_at, for a day after that at most."""

    async def planner(session: AsyncSession, p: Planning) -> int:
        planned = 0
        days: tuple[int, ...] = getattr(p.schedule, days_of)
        for fair in await p.fairs(session):
            day = day_of(fair)
            if day is None:
                continue
            for n in days:
                at = p.at(day - timedelta(days=n), p.schedule.fair_reminder_at)
                if at <= p.now < at + FAIR_GRACE:
                    planned += await plan_fair_occasion(
                        session, fair=fair, kind=kind, n=n, due_at=at, now=p.now
                    )
        return planned

    return planner


def _fair_explainer(kind: str) -> Explainer:
    def explainer(p: Planning) -> dict[str, Executable]:
        producers = fair_producers_query(
            fair_id=1, sectors=("crafts",), kind=kind, n=7, due_at=p.now, now=p.now
        )
        return {
            "plan: fairs ending after today": fairs_ending_after_query(today=p.today),
            f"plan: fair producers ({kind})": insert_statement("postgresql", producers),
        }

    return explainer


def _fair_reminder(kind: str) -> Renderer:
    async def render(session: AsyncSession, note: Notification, r: Rendering) -> Reply | None:
        t, today = r.t, r.now.astimezone(r.zone).date()
        fair = await session.get(Fair, note.subject_id)
        if fair is None:
            return None
        if kind == FAIR_DEADLINE:
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

    return render


async def _render_fair_news(
    session: AsyncSession, note: Notification, r: Rendering
) -> Reply | None:
    """A fair the reader was interested in moved, or was cancelled."""
    t = r.t
    before = (note.payload or {}).get("before")
    if not before:
        return None
    was = date_range_text(
        t, date.fromisoformat(before["start_date"]), date.fromisoformat(before["end_date"])
    )
    if note.kind == FAIR_CANCELLED:
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


# --- decisions and inquiries (planned by what people do) ----------------------------------


async def _render_decision(session: AsyncSession, note: Notification, r: Rendering) -> Reply | None:
    """An approval or rejection whose undo window has closed (None: it was taken back)."""
    review_id = (note.payload or {}).get("review_id")
    review = await get_review(session, review_id=review_id) if isinstance(review_id, int) else None
    found = await product_with_business(session, product_id=review.product_id) if review else None
    if review is None or found is None or review.decision != found[0].status:
        return None
    product, business = found
    notice = notices.producer_notice(r.t, business, product, review.decision or "", review)
    if notice is None:
        return None
    text, rows = notice
    return Reply(text, buttons=tuple(tuple(row) for row in rows))


async def _render_inquiry(session: AsyncSession, note: Notification, r: Rendering) -> Reply | None:
    return await inquiries.render_notification(session, r.t, note, r.zone)


def _event(where: str) -> str:
    return f"planned when {where}"


KINDS: Mapping[str, ReminderKind] = {
    kind.name: kind
    for kind in (
        ReminderKind(
            DRAFT,
            DRAFTS,
            quiet=True,
            settings=("draft_idle", "draft_nudges"),
            plan=_plan_drafts,
            explain=_explain_drafts,
            render=_render_draft,
            template=product_values,
            subject="product",
        ),
        ReminderKind(
            REVISION,
            REVISIONS,
            quiet=True,
            settings=("revision_idle",),
            plan=_plan_revisions,
            explain=_explain_revisions,
            render=_render_revision,
            template=product_values,
            subject="product",
        ),
        ReminderKind(
            UNCLAIMED,
            None,
            quiet=False,
            settings=("unclaimed",),
            plan=_plan_unclaimed,
            explain=_explain_unclaimed,
            render=_render_unclaimed,
            template=product_values,
            subject="product",
        ),
        ReminderKind(
            REVIEW_DIGEST,
            None,
            quiet=False,
            settings=("review_digest_at",),
            plan=_plan_review_digests,
            explain=_explain_nothing,
            render=_render_review_digest,
            template=no_values,
            subject=None,
        ),
        ReminderKind(
            WEEKLY_DIGEST,
            None,
            quiet=False,
            settings=("weekly_digest",),
            plan=_plan_weekly_digests,
            explain=_explain_weekly,
            render=_render_weekly_digest,
            template=no_values,
            subject=None,
        ),
        ReminderKind(
            FAIR_DEADLINE,
            FAIRS,
            quiet=True,
            settings=("fair_deadline_days",),
            plan=_fair_planner(
                FAIR_DEADLINE, lambda f: f.registration_deadline, "fair_deadline_days"
            ),
            explain=_fair_explainer(FAIR_DEADLINE),
            render=_fair_reminder(FAIR_DEADLINE),
            template=_fair_values(deadline=True),
            subject="fair",
        ),
        ReminderKind(
            FAIR_START,
            FAIRS,
            quiet=True,
            settings=("fair_start_days",),
            plan=_fair_planner(FAIR_START, lambda f: f.start_date, "fair_start_days"),
            explain=_fair_explainer(FAIR_START),
            render=_fair_reminder(FAIR_START),
            template=_fair_values(deadline=False),
            subject="fair",
        ),
        # News about a fair a producer said they were interested in: not switched off with
        # the reminders, but held during quiet hours like them.
        ReminderKind(
            FAIR_CHANGED,
            None,
            quiet=True,
            settings=(),
            plan=_event("a fair's dates or place change (db/fairs.py edit_fair)"),
            explain=None,
            render=_render_fair_news,
            template=_fair_values(deadline=False),
            subject="fair",
        ),
        ReminderKind(
            FAIR_CANCELLED,
            None,
            quiet=True,
            settings=(),
            plan=_event("a fair is deleted (db/fairs.py delete_fair)"),
            explain=None,
            render=_render_fair_news,
            template=_fair_values(deadline=False),
            subject="fair",
        ),
        ReminderKind(
            notices.DECISION,
            None,
            quiet=False,
            settings=(),
            plan=_event("a curator approves or rejects (review/notices.py tell_producer)"),
            explain=None,
            render=_render_decision,
            template=product_values,
            subject="product",
        ),
        *(
            ReminderKind(
                name,
                None,
                # A buyer's inquiry told to the producer waits for the morning, as every
                # message to a producer does; the admins' copies go at once.
                quiet=name == inquiries.PRODUCER_KIND,
                settings=(),
                plan=_event("a buyer writes or a producer answers (features/inquiries.py)"),
                explain=None,
                render=_render_inquiry,
                template=product_values,
                subject="product",
            )
            for name in (inquiries.ADMIN_KIND, inquiries.PRODUCER_KIND, inquiries.ANSWER_KIND)
        ),
    )
}

# --- the views, derived -----------------------------------------------------------------

# The tick's planners, in order.
PLANNED: tuple[ReminderKind, ...] = tuple(k for k in KINDS.values() if not isinstance(k.plan, str))
# The /pengingat switches, in order (the broadcasts' last).
GROUPS: dict[str, str] = {
    **{k.opt_out.key: k.opt_out.label for k in KINDS.values() if k.opt_out is not None},
    ANNOUNCEMENTS.key: ANNOUNCEMENTS.label,
}
GROUP_OF: dict[str, str] = {k.name: k.opt_out.key for k in KINDS.values() if k.opt_out}
# Held back during quiet hours.
PRODUCER_KINDS = frozenset(k.name for k in KINDS.values() if k.quiet)
# Whose subject is a product (loaded with the batch being sent).
PRODUCT_SUBJECTS = frozenset(k.name for k in KINDS.values() if k.subject == "product")
# Each kind's keys under [reminders].
SETTINGS: dict[str, str] = {key: k.name for k in KINDS.values() for key in k.settings}


async def template_values(
    session: AsyncSession, *, kind: str, subject_id: int | None
) -> dict[str, str]:
    """What a notification's (or an outbox notice's) template can be filled with: product,
    fair, date, place. A notice kind not declared here (an outbox notice about a product:
    claimed, approved, revision, rejected) is filled from its product."""
    declared = KINDS.get(kind)
    return await (declared.template if declared else product_values)(session, subject_id)


def planning_queries(p: Planning) -> dict[str, Executable]:
    """Every planning statement of a tick whose cost grows with the data, by name."""
    queries: dict[str, Executable] = {}
    for kind in PLANNED:
        assert kind.explain is not None, kind.name
        queries.update(kind.explain(p))
    return queries
