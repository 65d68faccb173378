"""Users, their conversation state, and the redelivery guard."""

from __future__ import annotations

import unicodedata
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import (
    DISPLAY_NAME_MAX,
    USERNAME_MAX,
    Conversation,
    ProcessedUpdate,
    User,
    UserAlias,
)
from db.sql import insert_ignore

_JOINERS = {"\u200d", "\ufe0e", "\ufe0f"}  # zero-width joiner, variation selectors


def clip(text: str | None, limit: int) -> str | None:
    """`text` cut to `limit` characters (as the column counts them), without leaving half an
    emoji sequence or a lone accent at the cut; None for nothing left."""
    if text is None:
        return None
    if len(text) > limit:
        text = text[:limit]
        while text and (text[-1] in _JOINERS or unicodedata.combining(text[-1])):
            text = text[:-1]
    return text.strip() or None


async def mark_update_processed(
    session: AsyncSession, *, channel: str, update_key: str, now: datetime
) -> bool:
    """Record an update id; False when it was handled before (a redelivery).

    Runs inside the update's transaction, so an update whose handling failed is not marked.
    """
    return await insert_ignore(
        session,
        ProcessedUpdate,
        {"channel": channel, "update_key": update_key, "processed_at": now},
        conflict=["channel", "update_key"],
    )


async def forget_processed_updates(session: AsyncSession, *, before: datetime) -> int:
    result = await session.execute(
        delete(ProcessedUpdate).where(ProcessedUpdate.processed_at < before)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def get_user(session: AsyncSession, *, channel: str, external_id: str) -> User | None:
    return await session.scalar(
        select(User).where(User.channel == channel, User.external_id == external_id)
    )


async def find_by_username(session: AsyncSession, *, channel: str, username: str) -> User | None:
    """The person who last wrote to the bot as @username (any case); None if nobody has."""
    name = username.removeprefix("@").strip().lower()
    if not name:
        return None
    return await session.scalar(
        select(User)
        .where(User.channel == channel, func.lower(User.username) == name)
        .order_by(User.last_inbound_at.desc().nulls_last(), User.id.desc())
        .limit(1)
    )


async def upsert_user(
    session: AsyncSession,
    *,
    channel: str,
    external_id: str,
    display_name: str | None,
    username: str | None,
    now: datetime,
) -> User:
    """The sender's user row, created on first contact, names refreshed on every message.

    Names are cut to fit: whatever a platform allows (or a new one sends) is stored. An
    identity linked to another account (the same person on WhatsApp and Telegram) is that
    account's user.
    """
    linked = await session.scalar(
        select(User)
        .join(UserAlias, UserAlias.user_id == User.id)
        .where(UserAlias.channel == channel, UserAlias.external_id == external_id)
    )
    if linked is not None:
        linked.last_inbound_at = now
        linked.blocked_at = None
        return linked
    display_name = clip(display_name, DISPLAY_NAME_MAX)
    username = clip(username, USERNAME_MAX)
    await insert_ignore(
        session,
        User,
        {
            "channel": channel,
            "external_id": external_id,
            "display_name": display_name,
            "username": username,
            "reminder_optouts": [],
            "created_at": now,
            "updated_at": now,
        },
        conflict=["channel", "external_id"],
    )
    user = await get_user(session, channel=channel, external_id=external_id)
    assert user is not None
    if display_name and user.display_name != display_name:
        user.display_name = display_name
    if username != user.username:
        user.username = username
    user.last_inbound_at = now
    user.blocked_at = None  # they wrote to us, so they have not blocked the bot
    return user


async def lock_conversation(session: AsyncSession, *, user_id: int) -> Conversation:
    """The user's conversation row, locked until the update's transaction ends.

    Two updates from one person (an album, a double tap) on two workers are applied one
    after the other instead of overwriting each other's state.
    """
    await insert_ignore(
        session, Conversation, {"user_id": user_id, "data": {}}, conflict=["user_id"]
    )
    conv = await session.scalar(
        select(Conversation)
        .where(Conversation.user_id == user_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    assert conv is not None
    return conv


async def get_user_by_id(session: AsyncSession, *, user_id: int) -> User | None:
    return await session.get(User, user_id)


async def users_by_external_ids(session: AsyncSession, *, external_ids: list[str]) -> list[User]:
    return list(await session.scalars(select(User).where(User.external_id.in_(external_ids))))
