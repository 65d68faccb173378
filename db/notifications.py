"""Notifications: planned once under a unique dedupe key, claimed in batches when due and
handed to the outbox (queued_at), which sends each once."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypedDict

from sqlalchemy import Integer, Select, String, cast, func, literal, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.expression import ColumnElement

from db.base import UTCDateTime
from db.models import Business, Fair, Notification, Product, ProductStatus, Review, User
from db.sql import add_seconds, insert_for, insert_ignore

if TYPE_CHECKING:
    # A SELECT of any columns (the rows an INSERT ... SELECT copies).
    RowsSelect = Select[*tuple[Any, ...]]


class Addressee(TypedDict):
    channel: str
    chat_id: str
    user_id: int


def to_user(user: User) -> Addressee:
    """`plan`'s address for a notification to a person: their chat, and their user id (which
    keeps their opt-outs and a block in force)."""
    return {"channel": user.channel, "chat_id": user.external_id, "user_id": user.id}


async def plan(
    session: AsyncSession,
    *,
    kind: str,
    dedupe_key: str,
    channel: str,
    chat_id: str,
    due_at: datetime,
    now: datetime,
    user_id: int | None = None,
    subject_id: int | None = None,
    payload: dict[str, Any] | None = None,
) -> bool:
    """Add a notification unless one with this key exists; True when it is new."""
    return await insert_ignore(
        session,
        Notification,
        {
            "kind": kind,
            "dedupe_key": dedupe_key[:200],
            "channel": channel,
            "chat_id": chat_id,
            "due_at": due_at,
            "user_id": user_id,
            "subject_id": subject_id,
            "payload": payload,
            "attempts": 0,
            "created_at": now,
        },
        conflict=["dedupe_key"],
    )


async def cancel_pending(
    session: AsyncSession, *, kind: str, subject_id: int, now: datetime
) -> list[Notification]:
    """Close the unsent notifications of `kind` about `subject_id` (waiting out a sender's
    claim on them) and return them. None sent already, or in the outbox, is touched."""
    notes = await session.scalars(
        select(Notification)
        .filter_by(kind=kind, subject_id=subject_id, sent_at=None, queued_at=None)
        .with_for_update()
    )
    cancelled = list(notes)
    for note in cancelled:
        note.sent_at, note.result = now, "cancelled"
    await session.flush()
    return cancelled


async def claim_due(
    session: AsyncSession,
    *,
    now: datetime,
    limit: int = 50,
    skip_kinds: Collection[str] = (),
) -> list[Notification]:
    """Due, unsent notifications, locked for this transaction; other workers skip them.

    `skip_kinds` stay queued (quiet hours hold producers' reminders back)."""
    stmt = claim_due_query(now=now, limit=limit, skip_kinds=skip_kinds)
    return list(await session.scalars(stmt))


def claim_due_query(
    *, now: datetime, limit: int, skip_kinds: Collection[str]
) -> Select[Notification]:
    stmt = (
        select(Notification)
        .where(
            Notification.sent_at.is_(None),
            Notification.due_at <= now,
            Notification.queued_at.is_(None),
        )
        .order_by(Notification.due_at, Notification.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    if skip_kinds:
        stmt = stmt.where(Notification.kind.not_in(sorted(skip_kinds)))
    return stmt


async def claim_due_in_chat(
    session: AsyncSession, *, channel: str, chat_id: str, now: datetime, limit: int = 20
) -> list[Notification]:
    """One chat's due notifications, oldest first (what its person's message released);
    one another worker is sending is waited for, not skipped, so the order holds."""
    stmt = (
        select(Notification)
        .where(
            Notification.sent_at.is_(None),
            Notification.due_at <= now,
            Notification.queued_at.is_(None),
            Notification.channel == channel,
            Notification.chat_id == chat_id,
        )
        .order_by(Notification.created_at, Notification.id)
        .limit(limit)
        .with_for_update()
    )
    return list(await session.scalars(stmt))


async def next_due_at(session: AsyncSession) -> datetime | None:
    """When the soonest unsent notification not yet in the outbox falls due (the partial
    index's first row)."""
    due: datetime | None = await session.scalar(
        select(func.min(Notification.due_at)).where(
            Notification.sent_at.is_(None), Notification.queued_at.is_(None)
        )
    )
    return due


# --- set-based planning: one INSERT ... SELECT ... ON CONFLICT DO NOTHING per kind ----------
# Each occasion has a unique dedupe key, so re-planning what exists already is a no-op, and
# two schedulers planning at once insert each row once. The kinds and their keys' prefix are
# the caller's (handlers/features/reminders/kinds.py declares every kind).

_COLUMNS = (
    "kind",
    "dedupe_key",
    "channel",
    "chat_id",
    "user_id",
    "subject_id",
    "due_at",
    "attempts",
    "created_at",
)


def _key(*parts: Any) -> ColumnElement[str]:
    """'prefix:' || column || ':suffix' — a dedupe key built in SQL."""
    out: Any = None
    for part in parts:
        piece = literal(part) if isinstance(part, str) else cast(part, String)
        out = piece if out is None else out + piece
    return cast(out, String)


async def tune_for_planning(session: AsyncSession) -> None:
    """PostgreSQL: price random reads as on SSDs for this transaction, so joins from the few
    due rows probe indexes instead of hashing whole tables (the default 4.0 is for disks)."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SET LOCAL random_page_cost = 1.1"))


def insert_statement(dialect_name: str, query: RowsSelect) -> Any:
    insert = insert_for(dialect_name)
    return (
        insert(Notification)
        .from_select(list(_COLUMNS), query)
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
    )


async def _insert_from(session: AsyncSession, query: RowsSelect) -> int:
    stmt = insert_statement(session.get_bind().dialect.name, query)
    result: Any = await session.execute(stmt)
    return int(result.rowcount or 0)


def draft_nudges_query(
    *, kind: str, now: datetime, idle: timedelta, nudge: int, last: bool
) -> RowsSelect:
    """Drafts idle for at least `nudge` periods (and, unless it is the last nudge, fewer
    than `nudge + 1`): the nudge number is the whole periods idle, capped at the last."""
    conditions = [
        Product.status == ProductStatus.draft,
        Product.updated_at <= now - nudge * idle,
    ]
    if not last:
        conditions.append(Product.updated_at > now - (nudge + 1) * idle)
    return (
        select(
            literal(kind),
            _key(f"{kind}:", Product.id, f":{nudge}"),
            User.channel,
            User.external_id,
            User.id,
            Product.id,
            add_seconds(Product.updated_at, (nudge * idle).total_seconds()),
            literal(0),
            literal(now, UTCDateTime()),
        )
        .join(Business, Business.id == Product.business_id)
        .join(User, User.id == Business.owner_id)
        .where(*conditions)
    )


async def plan_draft_nudges(
    session: AsyncSession, *, kind: str, now: datetime, idle: timedelta, nudges: int
) -> int:
    planned = 0
    for nudge in range(1, nudges + 1):
        query = draft_nudges_query(kind=kind, now=now, idle=idle, nudge=nudge, last=nudge == nudges)
        planned += await _insert_from(session, query)
    return planned


def revisions_query(*, kind: str, now: datetime, idle: timedelta) -> RowsSelect:
    """Revision requests left unanswered for `idle` since the decision."""
    return (
        select(
            literal(kind),
            _key(f"{kind}:", Product.id, ":", Product.round),
            User.channel,
            User.external_id,
            User.id,
            Product.id,
            add_seconds(Review.decided_at, idle.total_seconds()),
            literal(0),
            literal(now, UTCDateTime()),
        )
        .join(Business, Business.id == Product.business_id)
        .join(User, User.id == Business.owner_id)
        .join(Review, (Review.product_id == Product.id) & (Review.round == Product.round))
        .where(
            Product.status == ProductStatus.revision_requested,
            Review.decided_at <= now - idle,
        )
    )


async def plan_revisions(
    session: AsyncSession, *, kind: str, now: datetime, idle: timedelta
) -> int:
    return await _insert_from(session, revisions_query(kind=kind, now=now, idle=idle))


def unclaimed_query(*, kind: str, now: datetime, wait: timedelta, admin_channel: str) -> RowsSelect:
    """Submissions nobody claimed for `wait`, told to their review chat."""
    return select(
        literal(kind),
        _key(f"{kind}:", Product.id, ":", Product.round),
        func.coalesce(Review.channel, admin_channel),
        Review.chat_id,
        literal(None, Integer),
        Product.id,
        add_seconds(Product.submitted_at, wait.total_seconds()),
        literal(0),
        literal(now, UTCDateTime()),
    ).where(
        Product.status == ProductStatus.submitted,
        Product.submitted_at <= now - wait,
        Review.product_id == Product.id,
        Review.round == Product.round,
        Review.chat_id.is_not(None),
    )


async def plan_unclaimed(
    session: AsyncSession, *, kind: str, now: datetime, wait: timedelta, admin_channel: str
) -> int:
    return await _insert_from(
        session, unclaimed_query(kind=kind, now=now, wait=wait, admin_channel=admin_channel)
    )


def fairs_ending_after_query(*, today: date) -> Select[Fair]:
    return select(Fair).where(Fair.end_date >= today)


async def fairs_ending_after(session: AsyncSession, *, today: date) -> list[Fair]:
    return list(await session.scalars(fairs_ending_after_query(today=today)))


def fair_producers_query(
    *, fair_id: int, sectors: Sequence[str], kind: str, n: int, due_at: datetime, now: datetime
) -> RowsSelect:
    """Producers with an approved product in one of the fair's sectors (all, if none set)."""
    owners = select(Business.owner_id).join(Product, Product.business_id == Business.id)
    owners = owners.where(Product.status == ProductStatus.approved)
    if sectors:
        owners = owners.where(Product.sector.in_(list(sectors)))
    return select(
        literal(kind),
        _key(f"fair:{fair_id}:", User.id, f":{kind}:{n}"),
        User.channel,
        User.external_id,
        User.id,
        literal(fair_id),
        literal(due_at, UTCDateTime()),
        literal(0),
        literal(now, UTCDateTime()),
    ).where(User.id.in_(owners))


async def plan_fair_occasion(
    session: AsyncSession,
    *,
    fair: Fair,
    kind: str,
    n: int,
    due_at: datetime,
    now: datetime,
) -> int:
    query = fair_producers_query(
        fair_id=fair.id, sectors=fair.sectors or (), kind=kind, n=n, due_at=due_at, now=now
    )
    return await _insert_from(session, query)


def admins_query(*, channel: str, external_ids: Sequence[str]) -> Select[User]:
    return select(User).where(
        or_(
            User.is_admin,  # (the partial index ix_users_admins has this very predicate)
            (User.channel == channel) & User.external_id.in_(list(external_ids)),
        )
    )


async def admins(session: AsyncSession, *, channel: str, external_ids: Sequence[str]) -> list[User]:
    return list(await session.scalars(admins_query(channel=channel, external_ids=external_ids)))


async def stats_between(session: AsyncSession, *, start: datetime, end: datetime) -> dict[str, Any]:
    """Submissions, decisions, median hours to decision and the backlog, for the digest."""
    submitted = await session.scalar(
        select(func.count())
        .select_from(Review)
        .where(Review.created_at >= start, Review.created_at < end)
    )
    decided = list(
        await session.execute(
            select(Review.decision, Review.created_at, Review.decided_at).where(
                Review.decided_at >= start, Review.decided_at < end
            )
        )
    )
    hours = sorted(
        (d.decided_at - d.created_at).total_seconds() / 3600 for d in decided if d.created_at
    )
    median = None
    if hours:
        mid = len(hours) // 2
        median = hours[mid] if len(hours) % 2 else (hours[mid - 1] + hours[mid]) / 2
    backlog = await session.scalar(
        select(func.count())
        .select_from(Product)
        .where(Product.status.in_((ProductStatus.submitted, ProductStatus.in_review)))
    )
    counts: dict[str, int] = {}
    for row in decided:
        counts[row.decision] = counts.get(row.decision, 0) + 1
    return {
        "submitted": int(submitted or 0),
        "decided": counts,
        "median_hours": median,
        "backlog": int(backlog or 0),
    }


async def load_for_sending(
    session: AsyncSession, *, batch: Sequence[Notification], product_kinds: Collection[str]
) -> list[User | Product]:
    """Load a claimed batch's recipients and products (of the `product_kinds`, whose
    subject is a product) in two queries, so rendering each notification finds them in the
    session instead of asking one by one. Keep the returned list while sending: the
    session's identity map holds its objects only weakly."""
    loaded: list[User | Product] = []
    user_ids = {n.user_id for n in batch if n.user_id is not None}
    if user_ids:
        loaded += await session.scalars(load_users_query(sorted(user_ids)))
    product_ids = {
        n.subject_id for n in batch if n.subject_id is not None and n.kind in product_kinds
    }
    if product_ids:
        loaded += await session.scalars(load_products_query(sorted(product_ids)))
    return loaded


def load_users_query(ids: Sequence[int]) -> Select[User]:
    return select(User).where(User.id.in_(list(ids)))


def load_products_query(ids: Sequence[int]) -> Select[Product]:
    return select(Product).where(Product.id.in_(list(ids)))
