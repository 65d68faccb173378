"""The few counts /metrics reads from the database (each an index-only or index scan)."""

from __future__ import annotations

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.base import utcnow
from db.broadcasts import held_delivery, running_pending
from db.models import (
    Notification,
    OutboxItem,
    Product,
    ProductStatus,
    WhatsAppInbound,
)
from db.outbox import TEMPLATE_SENT
from db.whatsapp import WAITING


async def queue_depths(session: AsyncSession) -> dict[str, int]:
    """Review cards waiting in the outbox; notifications due and not yet sent; WhatsApp
    messages stored and not handled yet."""
    outbox = await session.scalar(
        select(func.count())
        .select_from(OutboxItem)
        .where(OutboxItem.sent_at.is_(None), OutboxItem.failed_at.is_(None))
    )
    notifications = await session.scalar(
        select(func.count())
        .select_from(Notification)
        .where(
            Notification.sent_at.is_(None),
            Notification.queued_at.is_(None),  # else counted in the outbox
            Notification.due_at <= utcnow(),
        )
    )
    inbox = await session.scalar(select(func.count()).select_from(WhatsAppInbound))
    # Held back, not lost: waiting for a channel to be configured, for WhatsApp's window,
    # or for the reply their template asked for.
    held_outbox = await session.scalar(
        select(func.count())
        .select_from(OutboxItem)
        .where(
            OutboxItem.sent_at.is_(None),
            OutboxItem.failed_at.is_(None),
            OutboxItem.held_until.is_not(None),
        )
    )
    held_notifications = await session.scalar(
        select(func.count())
        .select_from(Notification)
        .where(
            Notification.sent_at.is_(None),
            Notification.queued_at.is_(None),
            or_(
                Notification.result.in_([WAITING, TEMPLATE_SENT]),
                Notification.result.like("held:%"),
            ),
        )
    )
    # A running broadcast's recipients on a channel this bot lacks.
    held_deliveries = await session.scalar(running_pending(held_delivery()))
    held = (held_outbox, held_notifications, held_deliveries)
    return {
        "outbox": int(outbox or 0),
        "notifications": int(notifications or 0),
        "held": sum(int(n or 0) for n in held),
        "whatsapp_inbox": int(inbox or 0),
    }


async def curation_backlog(session: AsyncSession) -> dict[str, int]:
    """Products waiting for or in curation, by sector ("other" when none)."""
    rows = await session.execute(
        select(Product.sector, func.count())
        .where(Product.status.in_((ProductStatus.submitted, ProductStatus.in_review)))
        .group_by(Product.sector)
    )
    return {sector or "other": int(n) for sector, n in rows.all()}
