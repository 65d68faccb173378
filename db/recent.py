"""What was lately sent to one person from elsewhere (a curator's notice, a reminder), so a
button it carried can be answered by typing."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Notification, OutboxItem, OutboxKind


async def sent_notices(
    session: AsyncSession, *, channel: str, chat_id: str, since: datetime, limit: int = 3
) -> list[tuple[datetime, dict[str, Any]]]:
    """Queued notices sent into the chat since `since`, newest first: (sent at, payload)."""
    rows = await session.execute(
        select(OutboxItem.sent_at, OutboxItem.payload)
        .where(
            OutboxItem.channel == channel,
            OutboxItem.chat_id == chat_id,
            OutboxItem.kind == OutboxKind.notice,
            OutboxItem.sent_at >= since,
        )
        .order_by(OutboxItem.sent_at.desc(), OutboxItem.id.desc())
        .limit(limit)
    )
    return [(at, payload) for at, payload in rows.all() if at is not None and payload]


async def sent_notifications(
    session: AsyncSession, *, user_id: int, since: datetime, limit: int = 3
) -> list[Notification]:
    """Notifications sent to the user since `since`, newest first."""
    rows = await session.scalars(
        select(Notification)
        .where(
            Notification.user_id == user_id,
            Notification.sent_at >= since,
            Notification.result.in_(("sent", "template")),
        )
        .order_by(Notification.sent_at.desc(), Notification.id.desc())
        .limit(limit)
    )
    return list(rows)
