"""WhatsApp's sent messages and the delivery statuses Meta reports for them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Fair, Notification, Product, User, UserAlias, WhatsAppMessage
from db.sql import insert_ignore

# The result of a notification held back by WhatsApp's 24-hour rule (no template for its kind).
WAITING = "waiting: outside the 24-hour window, no template; sent when they write"

# A status only moves forward (webhooks arrive late and out of order); "failed" is final.
_RANK = {"accepted": 0, "sent": 1, "delivered": 2, "read": 3, "played": 3, "failed": 4}


async def _known(session: AsyncSession, chat_id: str) -> bool:
    """A number someone is (or is linked as): after /hapusdata it is nobody's, and the
    messages to it (the farewell, late status webhooks) are not stored again."""
    for model in (User, UserAlias):
        found = await session.scalar(
            select(model.channel).where(model.channel == "whatsapp", model.external_id == chat_id)
        )
        if found is not None:
            return True
    return False


async def record_sent(
    session: AsyncSession, *, message_ids: list[str], chat_id: str, now: datetime
) -> None:
    if not await _known(session, chat_id):
        return
    for message_id in message_ids:
        await insert_ignore(
            session,
            WhatsAppMessage,
            {"message_id": message_id, "chat_id": chat_id, "sent_at": now, "status": "accepted"},
            conflict=["message_id"],
        )


@dataclass(frozen=True, slots=True)
class StatusUpdate:
    """What a status webhook says about one message the bot sent."""

    message_id: str
    chat_id: str
    status: str  # accepted, sent, delivered, read, played or failed
    at: datetime
    error: str | None = None


async def record_status(session: AsyncSession, report: StatusUpdate) -> bool:
    """Store a status webhook on the sent message's row; False (nothing stored) for a
    message id the bot has no row for: never sent by it, or no longer kept."""
    row = await session.scalar(
        select(WhatsAppMessage)
        .where(WhatsAppMessage.message_id == report.message_id[:128])
        .with_for_update()
    )
    if row is None:
        return False
    if _RANK.get(report.status, 0) <= _RANK.get(row.status, 0):
        return True
    row.status = report.status[:16]
    row.status_at = report.at
    if report.error:
        row.error = report.error[:300]
    return True


async def message_status(session: AsyncSession, *, message_id: str) -> WhatsAppMessage | None:
    return await session.get(WhatsAppMessage, message_id)


async def release_waiting(
    session: AsyncSession, *, channel: str, chat_id: str, now: datetime
) -> int:
    """Make the notifications held for this chat due now (the person just wrote)."""
    held = update(Notification).filter_by(
        channel=channel, chat_id=chat_id, sent_at=None, result=WAITING
    )
    result = await session.execute(held.values(due_at=now))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def template_values(
    session: AsyncSession, *, kind: str, subject_id: int | None
) -> dict[str, str]:
    """What a notification's template can be filled with: product, fair, date, place."""
    if subject_id is None:
        return {}
    if kind.startswith("fair"):
        fair = await session.get(Fair, subject_id)
        if fair is None:
            return {}
        day = fair.start_date
        if kind == "fair_deadline" and fair.registration_deadline is not None:
            day = fair.registration_deadline
        return {"fair": fair.name, "date": day.strftime("%d-%m-%Y"), "place": fair.place}
    product = await session.get(Product, subject_id)
    return {"product": product.name or "-"} if product is not None else {}
