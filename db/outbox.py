"""The outbox: every message to someone other than the sender, queued in the sender's
transaction and sent later, per chat in order, paced to the chat's budget and retried —
review cards, notices, replies that failed, and notifications once due (kind
"notification", rendered when claimed; bot.sender sends them all).

Claiming works across workers: a chat's budget row, locked FOR UPDATE SKIP LOCKED, makes
one worker at a time the sender for that chat.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Required, TypedDict, Unpack

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import (
    BroadcastDelivery,
    ChatBudget,
    DeliveryState,
    Notification,
    OutboxItem,
    OutboxKind,
)
from db.sql import insert_ignore

# After MAX_ATTEMPTS failed sends (or two days of trying: bot.outbound) an item is given up.
MAX_ATTEMPTS = 200
# What a message held back says (outbox.last_error, notifications.result): visible in
# /metrics and `kurasi` status, released by the person's next message or the channel's return.
HELD_NO_CHANNEL = "held: channel {channel} is not configured"
TEMPLATE_SENT = "template sent; the message waits for their reply"
WINDOW_CLOSED = "window closed (131047); template next"
CARD = OutboxKind.review_card
NOTICE = OutboxKind.notice
ERASE = OutboxKind.erase
NOTIFICATION = OutboxKind.notification


class Queued(TypedDict, total=False):
    """An outbox item as queued: its chat, its kind, and what to send (a reply's payload, or
    the review whose card it is)."""

    channel: Required[str]
    chat_id: Required[str]
    kind: Required[OutboxKind]
    payload: dict[str, Any]
    review_id: int
    next_attempt_at: datetime
    last_error: str
    notification_id: int


async def enqueue(session: AsyncSession, *, now: datetime, **item: Unpack[Queued]) -> None:
    session.add(OutboxItem(**item, created_at=now))


def _pending(kinds: frozenset[str] | None = None) -> tuple[Any, ...]:
    where = (OutboxItem.sent_at.is_(None), OutboxItem.failed_at.is_(None))
    return where if kinds is None else (*where, OutboxItem.kind.in_(sorted(kinds)))


def _pending_in(channel: str, chat_id: str, kinds: frozenset[str] | None = None) -> tuple[Any, ...]:
    """What still waits to go into one chat."""
    return (OutboxItem.channel == channel, OutboxItem.chat_id == chat_id, *_pending(kinds))


async def due_chats(
    session: AsyncSession, *, now: datetime, kinds: frozenset[str] | None = None
) -> list[tuple[str, str]]:
    """Chats with a message ready to go, the longest-waiting first."""
    rows = await session.execute(
        select(OutboxItem.channel, OutboxItem.chat_id)
        .where(
            *_pending(kinds),
            or_(OutboxItem.next_attempt_at.is_(None), OutboxItem.next_attempt_at <= now),
            _not_held(now),
        )
        .group_by(OutboxItem.channel, OutboxItem.chat_id)
        .order_by(func.min(OutboxItem.id))
    )
    return [(channel, chat_id) for channel, chat_id in rows.all()]


async def next_retry(
    session: AsyncSession, *, now: datetime, kinds: frozenset[str] | None = None
) -> datetime | None:
    """When the soonest message waiting out a failure (or held) may be tried again."""
    retry: datetime | None = await session.scalar(
        select(func.min(OutboxItem.next_attempt_at)).where(
            *_pending(kinds), OutboxItem.next_attempt_at > now
        )
    )
    held: datetime | None = await session.scalar(
        select(func.min(OutboxItem.held_until)).where(*_pending(kinds), OutboxItem.held_until > now)
    )
    return min((t for t in (retry, held) if t is not None), default=None)


async def claim_chat(
    session: AsyncSession, *, channel: str, chat_id: str, wait: bool = False
) -> ChatBudget | None:
    """Lock the chat's budget for this transaction; None while another worker holds it
    (with `wait`, wait for it instead: what a person's message released goes in order)."""
    await insert_ignore(
        session,
        ChatBudget,
        {"channel": channel, "chat_id": chat_id, "sent": []},
        conflict=["channel", "chat_id"],
    )
    budget: ChatBudget | None = await session.scalar(
        select(ChatBudget)
        .where(ChatBudget.channel == channel, ChatBudget.chat_id == chat_id)
        .with_for_update(skip_locked=not wait)
    )
    return budget


def _not_held(now: datetime) -> Any:
    return or_(OutboxItem.held_until.is_(None), OutboxItem.held_until <= now)


async def head(
    session: AsyncSession,
    *,
    channel: str,
    chat_id: str,
    now: datetime,
    kinds: frozenset[str] | None = None,
    strict: bool = False,
) -> OutboxItem | None:
    """The chat's oldest unsent message (of `kinds`): messages into one chat go out in
    order (a held notice excepted: it lets later ones pass). `strict`: None when an older
    notice to the chat is still waiting (it goes first; a card paced apart does not count)."""
    looked = kinds | {NOTICE} if strict and kinds is not None else kinds
    item: OutboxItem | None = await session.scalar(
        select(OutboxItem)
        .where(*_pending_in(channel, chat_id, looked), _not_held(now))
        .order_by(OutboxItem.id)
        .limit(1)
    )
    if strict and item is not None and kinds is not None and item.kind not in kinds:
        return None
    return item


def mark_sent(item: OutboxItem, *, now: datetime) -> None:
    item.sent_at = now
    item.next_attempt_at = None


def mark_failed(item: OutboxItem, *, now: datetime, error: str) -> None:
    """Given up: the recipient cannot be reached, or the message cannot be built."""
    item.failed_at = now
    item.last_error = error[:300]


def recent_sends(budget: ChatBudget, *, now: float, window: float) -> list[float]:
    return sorted(x for x in budget.sent if x > now - window)


def hold(item: OutboxItem, *, until: datetime, reason: str) -> None:
    """Not now, and not a failure: the recipient's platform only allows it once they write
    again (or a template is configured). Looked at again at `until`, or when released."""
    item.held_until = until
    item.last_error = reason[:300]


async def release_held(session: AsyncSession, *, channel: str, chat_id: str, now: datetime) -> int:
    """The person wrote: whatever waits for them is due now."""
    result = await session.execute(
        update(OutboxItem)
        .where(*_pending_in(channel, chat_id), OutboxItem.held_until > now)
        .values(held_until=None)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def release_configured(session: AsyncSession, *, channels: list[str], now: datetime) -> int:
    """Messages held because their channel was not configured, for channels that are now:
    due at once (notifications and broadcast deliveries too), in their order."""
    held = HELD_NO_CHANNEL.split("{", 1)[0] + "%"
    items = await session.execute(
        update(OutboxItem)
        .where(
            *_pending(),
            OutboxItem.channel.in_(channels),
            OutboxItem.last_error.like(held),
        )
        .values(held_until=None, last_error=None)
    )
    notes = await session.execute(
        update(Notification)
        .where(
            Notification.sent_at.is_(None),
            Notification.channel.in_(channels),
            Notification.result.like(held),
        )
        .values(due_at=now, result=None)
    )
    deliveries = await session.execute(
        update(BroadcastDelivery)
        .where(
            BroadcastDelivery.state == DeliveryState.pending,
            BroadcastDelivery.channel.in_(channels),
            BroadcastDelivery.last_error.like(held),
        )
        .values(next_attempt_at=None, last_error=None)
    )
    released = (items.rowcount, notes.rowcount, deliveries.rowcount)  # type: ignore[attr-defined]
    return sum(int(n or 0) for n in released)
