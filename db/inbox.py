"""The WhatsApp inbox: messages stored when their webhook arrives, handled later in order.

A webhook's messages are written with one INSERT before Meta is answered 200 (a message id
already stored is skipped: Meta redelivers). Workers, in any number of processes, take the
oldest stored message of each sender that no one holds (`heads`, FOR UPDATE SKIP LOCKED)
and delete it in the very transaction that handles it (`take`): a crash rolls the delete
back with the rest, so the message is handled again later; a commit makes it gone and its
processed update id (db/users.begin_update) keeps a redelivery from being answered twice.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from db.models import WhatsAppInbound
from db.sql import insert_for


@dataclass(frozen=True, slots=True)
class Stored:
    """One stored message: its row, sender and the body as Meta sent it (JSON text)."""

    id: int
    message_id: str
    chat_id: str
    body: str


async def store(
    session: AsyncSession, *, messages: Sequence[tuple[str, str, str]], now: datetime
) -> int:
    """Store (message id, sender, body) triples in one statement; how many were new."""
    if not messages:
        return 0
    insert = insert_for(session.get_bind().dialect.name)
    rows = [
        {"message_id": mid[:128], "chat_id": chat[:64], "body": body, "received_at": now}
        for mid, chat, body in messages
    ]
    stmt = (
        insert(WhatsAppInbound).values(rows).on_conflict_do_nothing(index_elements=["message_id"])
    )
    result = await session.execute(stmt)
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


_older = aliased(WhatsAppInbound)
_HEADS = (
    select(
        WhatsAppInbound.id,
        WhatsAppInbound.message_id,
        WhatsAppInbound.chat_id,
        WhatsAppInbound.body,
    )
    .where(
        ~exists().where(_older.chat_id == WhatsAppInbound.chat_id, _older.id < WhatsAppInbound.id)
    )
    .order_by(WhatsAppInbound.id)
)


async def heads(session: AsyncSession, *, limit: int, busy: Collection[str] = ()) -> list[Stored]:
    """The oldest stored message of up to `limit` senders, oldest first, skipping senders in
    `busy` (handled by this process right now) and rows another transaction holds (being
    handled elsewhere: the sender's next message is not a head until that one is gone)."""
    stmt = _HEADS.limit(limit).with_for_update(skip_locked=True, of=WhatsAppInbound)
    if busy:
        stmt = stmt.where(WhatsAppInbound.chat_id.not_in(list(busy)))
    rows = await session.execute(stmt)
    return [Stored(r.id, r.message_id, r.chat_id, r.body) for r in rows]


async def take(session: AsyncSession, *, row_id: int) -> bool:
    """Delete the stored message in the transaction that handles it; False when another
    worker holds it or has handled it already."""
    held = (
        select(WhatsAppInbound.id)
        .where(WhatsAppInbound.id == row_id)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    result = await session.execute(delete(WhatsAppInbound).where(WhatsAppInbound.id == held))
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def drop(session: AsyncSession, *, row_id: int) -> None:
    """Forget a stored message that can never be handled (its sender got an apology)."""
    await session.execute(delete(WhatsAppInbound).where(WhatsAppInbound.id == row_id))


async def erase(session: AsyncSession, *, chat_ids: Collection[str]) -> int:
    """Delete every stored message from these senders (erasure of a person's data)."""
    if not chat_ids:
        return 0
    result = await session.execute(
        delete(WhatsAppInbound).where(WhatsAppInbound.chat_id.in_(list(chat_ids)))
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def waiting(session: AsyncSession) -> int:
    """Messages stored and not handled yet (the metrics' queue depth)."""
    return int(await session.scalar(select(func.count()).select_from(WhatsAppInbound)) or 0)
