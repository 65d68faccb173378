"""WhatsApp's sent messages and the delivery statuses Meta reports for them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Notification, OutboxItem, User, UserAlias, WhatsAppMessage
from db.outbox import TEMPLATE_SENT, WINDOW_CLOSED
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
    session: AsyncSession,
    *,
    message_ids: list[str],
    chat_id: str,
    now: datetime,
    source: str | None = None,
) -> None:
    if not await _known(session, chat_id):
        return
    for message_id in message_ids:
        await insert_ignore(
            session,
            WhatsAppMessage,
            {
                "message_id": message_id,
                "chat_id": chat_id,
                "sent_at": now,
                "status": "accepted",
                "source": source,
            },
            conflict=["message_id"],
        )
        if source is not None:  # the status webhook may have made the row first
            await session.execute(
                update(WhatsAppMessage)
                .where(WhatsAppMessage.message_id == message_id, WhatsAppMessage.source.is_(None))
                .values(source=source)
            )


async def reopen_for_template(session: AsyncSession, *, message_id: str, now: datetime) -> bool:
    """Meta said later that a free-form message fell outside the window (a `failed` status,
    131047): the notice or notification it was is due again, as its kind's template."""
    row = await session.get(WhatsAppMessage, message_id[:128])
    if row is None or not row.source:
        return False
    what, _, ident = row.source.partition(":")
    if not ident.isdigit():
        return False
    if what == "outbox":
        result = await session.execute(
            update(OutboxItem)
            .where(OutboxItem.id == int(ident), OutboxItem.failed_at.is_(None))
            .values(
                sent_at=None,
                held_until=None,
                next_attempt_at=None,
                last_error=WINDOW_CLOSED,
            )
            .returning(OutboxItem.notification_id)
        )
        found = result.all()
        for (notification_id,) in found:
            if notification_id is not None:  # its notification follows it: not done yet
                await session.execute(
                    update(Notification)
                    .where(Notification.id == notification_id)
                    .values(sent_at=None, result=WINDOW_CLOSED)
                )
        return bool(found)
    elif what == "notification":
        result = await session.execute(
            update(Notification)
            .where(Notification.id == int(ident))
            .values(sent_at=None, due_at=now, result=WINDOW_CLOSED)
        )
    else:
        return False
    return bool(result.rowcount)  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class StatusUpdate:
    """What a status webhook says about one message the bot sent."""

    message_id: str
    chat_id: str
    status: str  # accepted, sent, delivered, read, played or failed
    at: datetime
    error: str | None = None


async def record_status(session: AsyncSession, *, report: StatusUpdate) -> bool:
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
    held = update(Notification).where(
        Notification.channel == channel,
        Notification.chat_id == chat_id,
        Notification.sent_at.is_(None),
        Notification.queued_at.is_(None),  # in the outbox: released there (release_held)
        Notification.result.in_([WAITING, TEMPLATE_SENT]),
    )
    result = await session.execute(held.values(due_at=now))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def window_opened(
    session: AsyncSession, *, channel: str, chat_id: str, now: datetime
) -> None:
    """They wrote just now (before their message is handled, so what it released may be
    sent inside the window it opened)."""
    await session.execute(
        update(User)
        .where(User.channel == channel, User.external_id == chat_id)
        .values(last_inbound_at=now)
    )
