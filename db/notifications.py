"""Notifications: planned once under a unique dedupe key, claimed in batches, sent once."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Business, Fair, Notification, Product, ProductStatus, Review, User
from db.sql import insert_ignore


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
    claim on them) and return them. None sent already is touched."""
    notes = await session.scalars(
        select(Notification)
        .where(
            Notification.kind == kind,
            Notification.subject_id == subject_id,
            Notification.sent_at.is_(None),
        )
        .with_for_update()
    )
    cancelled = list(notes)
    for note in cancelled:
        note.sent_at, note.result = now, "cancelled"
    await session.flush()
    return cancelled


async def claim_due(session: AsyncSession, *, now: datetime, limit: int = 50) -> list[Notification]:
    """Due, unsent notifications, locked for this transaction; other workers skip them."""
    result = await session.scalars(
        select(Notification)
        .where(Notification.sent_at.is_(None), Notification.due_at <= now)
        .order_by(Notification.due_at, Notification.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(result)


async def idle_drafts(session: AsyncSession, *, before: datetime) -> list[tuple[Product, User]]:
    rows = await session.execute(
        select(Product, User)
        .join(Business, Business.id == Product.business_id)
        .join(User, User.id == Business.owner_id)
        .where(Product.status == ProductStatus.draft, Product.updated_at <= before)
    )
    return [(p, u) for p, u in rows.all()]


async def waiting_revisions(
    session: AsyncSession, *, decided_before: datetime
) -> list[tuple[Product, User, Review]]:
    rows = await session.execute(
        select(Product, User, Review)
        .join(Business, Business.id == Product.business_id)
        .join(User, User.id == Business.owner_id)
        .join(Review, (Review.product_id == Product.id) & (Review.round == Product.round))
        .where(
            Product.status == ProductStatus.revision_requested,
            Review.decided_at <= decided_before,
        )
    )
    return [(p, u, r) for p, u, r in rows.all()]


async def unclaimed_submissions(
    session: AsyncSession, *, submitted_before: datetime
) -> list[tuple[Product, Review]]:
    rows = await session.execute(
        select(Product, Review)
        .join(Review, (Review.product_id == Product.id) & (Review.round == Product.round))
        .where(
            Product.status == ProductStatus.submitted,
            Product.submitted_at <= submitted_before,
            Review.chat_id.is_not(None),
        )
    )
    return [(p, r) for p, r in rows.all()]


async def fairs_ending_after(session: AsyncSession, *, today: date) -> list[Fair]:
    return list(await session.scalars(select(Fair).where(Fair.end_date >= today)))


async def producers_for_fair(session: AsyncSession, *, fair: Fair) -> list[User]:
    """Producers with an approved product in one of the fair's sectors (all, if none set)."""
    stmt = (
        select(User)
        .join(Business, Business.owner_id == User.id)
        .join(Product, Product.business_id == Business.id)
        .where(Product.status == ProductStatus.approved)
        .distinct()
    )
    if fair.sectors:
        stmt = stmt.where(Product.sector.in_(fair.sectors))
    return list(await session.scalars(stmt))


async def admins(session: AsyncSession, *, channel: str, external_ids: Sequence[str]) -> list[User]:
    result = await session.scalars(
        select(User).where(
            or_(
                User.is_admin.is_(True),
                (User.channel == channel) & User.external_id.in_(list(external_ids)),
            )
        )
    )
    return list(result)


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
