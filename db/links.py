"""One person on two channels: the link offer, its one-time code, wrong-code throttling, and
the alias that makes a second channel's identity the same user."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Business, User, UserAlias, WhatsAppLink
from db.sql import insert_ignore

CODE_TTL = timedelta(minutes=10)
MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=15)

Outcome = Literal["linked", "wrong", "locked", "expired", "none"]


@dataclass(frozen=True, slots=True)
class CodeCheck:
    outcome: Outcome
    tries_left: int = 0
    locked_until: datetime | None = None
    telegram_user_id: int | None = None


def _hash(user_id: int, code: str) -> str:
    return hashlib.sha256(f"{user_id}:{code}".encode()).hexdigest()


async def account_for_phone(
    session: AsyncSession, *, channel: str, phone: str, exclude_user_id: int
) -> User | None:
    """A user on `channel` whose own or business phone is `phone` (E.164)."""
    return await session.scalar(
        select(User)
        .outerjoin(Business, Business.owner_id == User.id)
        .where(
            User.channel == channel,
            User.id != exclude_user_id,
            or_(User.phone == phone, Business.phone == phone),
        )
        .order_by(User.id)
        .limit(1)
    )


async def get_account(session: AsyncSession, *, user_id: int) -> User | None:
    return await session.get(User, user_id)


async def link_state(session: AsyncSession, *, user_id: int) -> WhatsAppLink | None:
    return await session.get(WhatsAppLink, user_id)


async def decline(
    session: AsyncSession, *, user_id: int, other_user_id: int, now: datetime
) -> None:
    row = await _row(session, user_id=user_id, other_user_id=other_user_id, now=now)
    row.declined = True


async def new_code(
    session: AsyncSession, *, user_id: int, other_user_id: int, now: datetime
) -> str:
    """A fresh 6-digit code for this offer (the wrong-try count and any lockout stay)."""
    code = f"{secrets.randbelow(1_000_000):06d}"
    row = await _row(session, user_id=user_id, other_user_id=other_user_id, now=now)
    row.code_hash = _hash(user_id, code)
    row.expires_at = now + CODE_TTL
    row.declined = False
    return code


async def check_code(session: AsyncSession, *, user_id: int, code: str, now: datetime) -> CodeCheck:
    row = await session.get(WhatsAppLink, user_id, with_for_update=True)
    if row is None or not row.code_hash:
        return CodeCheck("none")
    if row.locked_until is not None and row.locked_until > now:
        return CodeCheck("locked", locked_until=row.locked_until)
    if row.locked_until is not None:  # the wait is over: five new tries
        row.locked_until = None
        row.failures = 0
    if row.expires_at <= now:
        return CodeCheck("expired")
    if not hmac.compare_digest(row.code_hash, _hash(user_id, code.strip())):
        row.failures += 1
        if row.failures >= MAX_FAILURES:
            row.locked_until = now + LOCKOUT
            return CodeCheck("locked", locked_until=row.locked_until)
        return CodeCheck("wrong", tries_left=MAX_FAILURES - row.failures)
    other = row.telegram_user_id
    await session.delete(row)
    return CodeCheck("linked", telegram_user_id=other)


async def add_alias(session: AsyncSession, *, channel: str, external_id: str, user_id: int) -> None:
    await insert_ignore(
        session,
        UserAlias,
        {"channel": channel, "external_id": external_id, "user_id": user_id},
        conflict=["channel", "external_id"],
    )


async def _row(
    session: AsyncSession, *, user_id: int, other_user_id: int, now: datetime
) -> WhatsAppLink:
    await insert_ignore(
        session,
        WhatsAppLink,
        {
            "whatsapp_user_id": user_id,
            "telegram_user_id": other_user_id,
            "code_hash": "",
            "expires_at": now,
            "failures": 0,
            "declined": False,
            "created_at": now,
        },
        conflict=["whatsapp_user_id"],
    )
    row = await session.get(WhatsAppLink, user_id, with_for_update=True)
    assert row is not None
    row.telegram_user_id = other_user_id
    return row
