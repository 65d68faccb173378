"""The few counts /metrics reads from the database (each an index-only or index scan)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.base import utcnow
from db.models import Notification, OutboxItem, Product, ProductStatus, WhatsAppInbound


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
        .where(Notification.sent_at.is_(None), Notification.due_at <= utcnow())
    )
    inbox = await session.scalar(select(func.count()).select_from(WhatsAppInbound))
    return {
        "outbox": int(outbox or 0),
        "notifications": int(notifications or 0),
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
