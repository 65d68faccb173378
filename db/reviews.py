"""Curation data rules: curators, review rounds, compare-and-set decisions, the audit trail."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, delete, exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from db.models import (
    AuditEvent,
    Business,
    Curator,
    Photo,
    Product,
    ProductStatus,
    Review,
    ReviewDecision,
    User,
    Verdict,
)
from db.outbox import CARD, enqueue
from db.products import SNAPSHOT_FIELDS, TRANSITIONS, ProductField, change_status


def route_chat(chats: Sequence[tuple[str, Sequence[str]]], sector: str | None) -> str | None:
    """The first review chat whose sectors include `sector` (no sectors: every sector)."""
    for chat_id, sectors in chats:
        if not sectors or sector in sectors:
            return chat_id
    return None


def _key(field: ProductField) -> str:
    return field.column or field.value  # stored snapshots are keyed by column


def snapshot(product: Product, photos: Sequence[Photo]) -> dict[str, Any]:
    data: dict[str, Any] = {
        _key(f): getattr(product, f.column) for f in SNAPSHOT_FIELDS if f.column is not None
    }
    data["photos"] = [p.sha256 for p in photos]
    return data


def changed_fields(before: dict[str, Any], after: dict[str, Any]) -> list[ProductField]:
    return [f for f in SNAPSHOT_FIELDS if before.get(_key(f)) != after.get(_key(f))]


async def record(
    session: AsyncSession,
    *,
    action: str,
    product: Product,
    actor_user_id: int | None,
    now: datetime,
    review: Review | None = None,
    reasons: list[str] | None = None,
    reason_text: str | None = None,
) -> None:
    session.add(
        AuditEvent(
            at=now,
            action=action,
            actor_user_id=actor_user_id,
            product_id=product.id,
            round=product.round,
            sector=product.sector,
            grade=review.grade if review else None,
            scores=dict(review.scores) if review and review.scores else None,
            reasons=reasons,
            reason_text=reason_text,
        )
    )


# --- curators ---------------------------------------------------------------------------


async def find_curators(session: AsyncSession, *, channel: str, external_id: str) -> list[Curator]:
    result = await session.scalars(
        select(Curator).where(Curator.channel == channel, Curator.external_id == external_id)
    )
    return list(result)


async def is_curator(
    session: AsyncSession, *, channel: str, external_id: str, chat_id: str
) -> bool:
    return any(
        c.chat_id is None or c.chat_id == chat_id
        for c in await find_curators(session, channel=channel, external_id=external_id)
    )


async def add_curator(
    session: AsyncSession,
    *,
    external_id: str,
    chat_id: str | None,
    added_by: str | None,
    now: datetime,
    channel: str = "telegram",
) -> bool:
    """False when that person already curates there."""
    existing = await find_curators(session, channel=channel, external_id=external_id)
    if any(c.chat_id == chat_id for c in existing):
        return False
    session.add(
        Curator(
            channel=channel,
            external_id=external_id,
            chat_id=chat_id,
            added_by=added_by,
            created_at=now,
        )
    )
    await session.flush()
    return True


async def remove_curator(
    session: AsyncSession, *, external_id: str, channel: str = "telegram"
) -> int:
    result: Any = await session.execute(
        delete(Curator).where(Curator.channel == channel, Curator.external_id == external_id)
    )
    return int(result.rowcount or 0)


async def list_curators(session: AsyncSession) -> list[Curator]:
    return list(await session.scalars(select(Curator).order_by(Curator.external_id, Curator.id)))


async def list_curators_named(session: AsyncSession) -> list[tuple[Curator, User | None]]:
    """Every curator with their user row (names, @username); None if they never wrote."""
    rows = await session.execute(
        select(Curator, User)
        .outerjoin(
            User, (User.channel == Curator.channel) & (User.external_id == Curator.external_id)
        )
        .order_by(Curator.external_id, Curator.id)
    )
    return [(curator, user) for curator, user in rows.all()]


# --- review rounds ----------------------------------------------------------------------


async def open_round(
    session: AsyncSession,
    *,
    product: Product,
    photos: Sequence[Photo],
    channel: str | None,
    chat_id: str | None,
    now: datetime,
) -> Review:
    """A submitted product's review for its round, and its card queued for the chat."""
    review = Review(
        product_id=product.id,
        round=product.round,
        channel=channel,
        chat_id=chat_id,
        snapshot=snapshot(product, photos),
        scores={},
        reasons=[],
        created_at=now,
    )
    session.add(review)
    await session.flush()
    await _queue_card(session, review, now=now)
    return review


async def _queue_card(session: AsyncSession, review: Review, *, now: datetime) -> None:
    """The review's card, queued for its review chat (when it has one yet)."""
    if review.channel is not None and review.chat_id is not None:
        await enqueue(
            session,
            channel=review.channel,
            chat_id=review.chat_id,
            kind=CARD,
            review_id=review.id,
            now=now,
        )


async def close_unclaimed_round(session: AsyncSession, *, product_id: int) -> Review | None:
    """A withdrawn submission: its round's review goes, and its card if not yet posted."""
    review = await latest_review(session, product_id=product_id)
    if review is None or review.claimed_at is not None or review.decision is not None:
        return None
    await session.execute(delete(Review).where(Review.id == review.id))
    return review


async def latest_review(session: AsyncSession, *, product_id: int) -> Review | None:
    return await session.scalar(
        select(Review)
        .where(Review.product_id == product_id)
        .order_by(Review.round.desc(), Review.id.desc())
        .limit(1)
    )


async def previous_review(session: AsyncSession, *, product_id: int, round: int) -> Review | None:
    return await session.scalar(
        select(Review)
        .where(Review.product_id == product_id, Review.round < round)
        .order_by(Review.round.desc())
        .limit(1)
    )


async def get_review(session: AsyncSession, *, review_id: int) -> Review | None:
    return await session.scalar(
        select(Review).where(Review.id == review_id).execution_options(populate_existing=True)
    )


async def _move(
    session: AsyncSession,
    review: Review,
    product: Product,
    transition: str,
    changes: dict[str, Any],
    *,
    now: datetime,
    expected: str | None = None,
) -> bool:
    """The product's status by compare-and-set (from `expected`; by default the one status
    `transition` leaves from), then `changes` on the review row; False if someone else moved
    the product first (and then nothing is written)."""
    if expected is None:
        (expected,) = TRANSITIONS[transition][0]
    if not await change_status(
        session, product_id=product.id, action=transition, expected=expected, now=now
    ):
        return False
    await session.execute(
        update(Review)
        .where(Review.id == review.id)
        .values(**changes)
        .execution_options(synchronize_session=False)
    )
    return True


# A review nobody holds, and one with no decision (what release and undo write back).
_UNCLAIMED = dict.fromkeys(("curator_user_id", "curator_name", "claimed_at", "touched_at"))
_UNDECIDED: dict[str, Any] = {
    "decision": None,
    "grade": None,
    "reasons": [],
    "reason_text": None,
    "override": False,
    "decided_at": None,
}


async def claim(
    session: AsyncSession,
    *,
    review: Review,
    product: Product,
    curator_user_id: int,
    curator_name: str,
    now: datetime,
) -> bool:
    holder = {
        "curator_user_id": curator_user_id,
        "curator_name": curator_name,
        "claimed_at": now,
        "touched_at": now,
        "scores": {},
    }
    if not await _move(session, review, product, "claim", holder, now=now):
        return False
    await record(session, action="claim", product=product, actor_user_id=curator_user_id, now=now)
    return True


async def release(
    session: AsyncSession,
    *,
    review: Review,
    product: Product,
    actor_user_id: int | None,
    now: datetime,
    action: str = "release",
) -> bool:
    """Back to the queue (the curator let go, or the claim timed out)."""
    if not await _move(session, review, product, "release", _UNCLAIMED, now=now):
        return False
    await record(session, action=action, product=product, actor_user_id=actor_user_id, now=now)
    return True


async def decide(
    session: AsyncSession,
    *,
    review: Review,
    product: Product,
    action: Verdict,
    actor_user_id: int,
    grade: str | None,
    reasons: list[str],
    reason_text: str | None,
    override: bool,
    now: datetime,
) -> bool:
    """approve / revise / reject: exactly one of racing deciders gets True."""
    decision = {
        "decision": Verdict(action).decision,
        "grade": grade,
        "reasons": reasons,
        "reason_text": reason_text,
        "override": override,
        "decided_at": now,
    }
    if not await _move(session, review, product, action, decision, now=now):
        return False
    review.grade = grade
    await record(
        session,
        action=action,
        product=product,
        actor_user_id=actor_user_id,
        now=now,
        review=review,
        reasons=reasons,
        reason_text=reason_text,
    )
    return True


async def undo_decision(
    session: AsyncSession, *, review: Review, product: Product, actor_user_id: int, now: datetime
) -> bool:
    """Take back an approval or rejection: the product is in review again, held by the same
    curator with the same scores. False when it moved in the meantime."""
    if review.decision not in (ReviewDecision.approved, ReviewDecision.rejected):
        return False
    undone = {**_UNDECIDED, "touched_at": now}
    if not await _move(
        session, review, product, "undo", undone, now=now, expected=ProductStatus(review.decision)
    ):
        return False
    await record(session, action="undo", product=product, actor_user_id=actor_user_id, now=now)
    return True


# Claims released per tick at most (each is told to its chat); the rest go next tick.
STALE_CLAIMS_PER_TICK = 100


def stale_claims_query(*, before: datetime, limit: int = STALE_CLAIMS_PER_TICK) -> Select[Review]:
    return (
        select(Review)
        .join(Product, Product.id == Review.product_id)
        .where(
            Product.status == ProductStatus.in_review,
            Review.decision.is_(None),
            Review.touched_at < before,
        )
        .order_by(Review.touched_at)
        .limit(limit)
    )


async def stale_claims(session: AsyncSession, *, before: datetime) -> list[Review]:
    return list(await session.scalars(stale_claims_query(before=before)))


async def waiting(session: AsyncSession, *, sectors: Sequence[str] | None) -> list[Product]:
    """Submitted, unclaimed products, oldest first (None: every sector)."""
    stmt = (
        select(Product)
        .where(Product.status == ProductStatus.submitted)
        .order_by(Product.submitted_at, Product.id)
    )
    if sectors:
        stmt = stmt.where(Product.sector.in_(sectors))
    return list(await session.scalars(stmt))


def not_undone() -> Any:
    """For a query over decision events: the decision still stands (no "undo" of the same
    product and round came after it; a decision made again after an undo counts)."""
    undo = aliased(AuditEvent)
    return ~exists().where(
        undo.action == "undo",
        undo.product_id == AuditEvent.product_id,
        undo.round == AuditEvent.round,
        undo.at >= AuditEvent.at,
        undo.id > AuditEvent.id,
    )


async def decisions_since(
    session: AsyncSession, *, curator_user_id: int, since: datetime
) -> Counter[str]:
    rows = await session.execute(
        select(AuditEvent.action, func.count())
        .where(
            AuditEvent.actor_user_id == curator_user_id,
            AuditEvent.at >= since,
            AuditEvent.action.in_(tuple(Verdict)),
            not_undone(),
        )
        .group_by(AuditEvent.action)
    )
    return Counter({action: int(n) for action, n in rows.all()})


async def product_with_business(
    session: AsyncSession, *, product_id: int
) -> tuple[Product, Business] | None:
    row = (
        await session.execute(
            select(Product, Business)
            .join(Business, Business.id == Product.business_id)
            .where(Product.id == product_id)
            .execution_options(populate_existing=True)
        )
    ).first()
    return (row[0], row[1]) if row else None


def unrouted_query() -> Select[Review, Product]:
    return (
        select(Review, Product)
        .join(Product, Product.id == Review.product_id)
        .where(
            Review.chat_id.is_(None),
            Review.round == Product.round,
            Product.status == ProductStatus.submitted,
        )
    )


async def route_unrouted(
    session: AsyncSession,
    *,
    chats: Sequence[tuple[str, Sequence[str]]],
    channel: str | None,
    now: datetime,
) -> int:
    """Give a review chat to waiting rounds that had none (submitted before any chat was
    configured for their sector) and queue their cards. Returns how many were routed."""
    if channel is None or not chats:
        return 0
    rows = await session.execute(unrouted_query())
    routed = 0
    for review, product in rows.all():
        chat_id = route_chat(chats, product.sector)
        if chat_id is None:
            continue
        review.channel, review.chat_id = channel, chat_id
        await _queue_card(session, review, now=now)
        routed += 1
    return routed


async def keep_prompt_ids(
    session: AsyncSession, *, review_id: int, message_ids: Sequence[str]
) -> None:
    """Remember the bot's prompts about a review in its chat (erasure removes them)."""
    review = await session.get(Review, review_id, with_for_update=True)
    if review is not None and message_ids:
        review.prompt_message_ids = [*(review.prompt_message_ids or []), *message_ids]
