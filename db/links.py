"""One person on two channels: the link offer, its one-time code, wrong-code throttling, and
the alias that makes a second channel's identity the same user.

The throttle is kept per identity (the number trying codes, the account codes go to), not
on the offer: "batal", a new offer, even erasing the half-registered WhatsApp user start a
new offer, never five new tries or a new stream of codes."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import LinkThrottle, User, UserAlias, WhatsAppLink
from db.sql import insert_ignore

CODE_TTL = timedelta(minutes=10)
MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=15)
CODE_GAP = timedelta(minutes=1)  # between two codes asked for
MAX_CODES = 5  # codes in one LOCKOUT-long window

Outcome = Literal["linked", "wrong", "locked", "expired", "none"]
Requested = Literal["sent", "locked", "wait", "too_many"]


@dataclass(frozen=True, slots=True)
class CodeRequest:
    """A new code, or why not: locked out, asked again too soon, or too many this window
    (`until`: when asking works again)."""

    outcome: Requested
    code: str | None = None
    until: datetime | None = None


@dataclass(frozen=True, slots=True)
class CodeCheck:
    outcome: Outcome
    tries_left: int = 0
    locked_until: datetime | None = None
    telegram_user_id: int | None = None


def _hash(user_id: int, code: str) -> str:
    return hashlib.sha256(f"{user_id}:{code}".encode()).hexdigest()


def throttle_key(channel: str, external_id: str) -> str:
    return hashlib.sha256(f"link:{channel}:{external_id}".encode()).hexdigest()


async def account_for_phone(
    session: AsyncSession, *, channel: str, phone: str, exclude_user_id: int
) -> User | None:
    """A user on `channel` whose own phone is `phone` (E.164): the number the platform
    vouched for (a Telegram contact shared as the account's own), never a business phone
    typed by anyone, which would offer a stranger's account to the number's owner."""
    return await session.scalar(
        select(User)
        .where(User.channel == channel, User.id != exclude_user_id, User.phone == phone)
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
    session: AsyncSession,
    *,
    user_id: int,
    other_user_id: int,
    number: str,
    account: str,
    now: datetime,
) -> CodeRequest:
    """A fresh 6-digit code for this offer, unless `number` (throttle_key of the identity
    asking) is locked out, or it or `account` (the one codes go to) asked within CODE_GAP or
    had MAX_CODES this window."""
    mine = await _throttle(session, key=number, now=now)
    if mine.locked_until is not None and mine.locked_until > now:
        return CodeRequest("locked", until=mine.locked_until)
    throttles = [mine, await _throttle(session, key=account, now=now)]
    for row in throttles:
        if row.window_start is None or row.window_start + LOCKOUT <= now:
            row.window_start, row.codes = now, 0
    waits = [
        row.last_code_at + CODE_GAP
        for row in throttles
        if row.last_code_at is not None and row.last_code_at + CODE_GAP > now
    ]
    full = [(row.window_start or now) + LOCKOUT for row in throttles if row.codes >= MAX_CODES]
    if full:
        return CodeRequest("too_many", until=max(full))
    if waits:
        return CodeRequest("wait", until=max(waits))
    for row in throttles:
        row.codes += 1
        row.last_code_at = now
        _hold(row, now + LOCKOUT)
    code = f"{secrets.randbelow(1_000_000):06d}"
    link = await _row(session, user_id=user_id, other_user_id=other_user_id, now=now)
    link.code_hash = _hash(user_id, code)
    link.expires_at = now + CODE_TTL
    link.declined = False
    return CodeRequest("sent", code=code)


async def check_code(
    session: AsyncSession, *, user_id: int, number: str, code: str, now: datetime
) -> CodeCheck:
    throttle = await _throttle(session, key=number, now=now)
    if throttle.locked_until is not None and throttle.locked_until > now:
        return CodeCheck("locked", locked_until=throttle.locked_until)
    if throttle.locked_until is not None:  # the wait is over: five new tries
        throttle.locked_until = None
        throttle.failures = 0
    row = await session.get(WhatsAppLink, user_id, with_for_update=True)
    if row is None or not row.code_hash:
        return CodeCheck("none")
    if row.expires_at <= now:
        return CodeCheck("expired")
    if not hmac.compare_digest(row.code_hash, _hash(user_id, code.strip())):
        throttle.failures += 1
        _hold(throttle, row.expires_at)
        if throttle.failures >= MAX_FAILURES:
            throttle.locked_until = now + LOCKOUT
            _hold(throttle, throttle.locked_until)
            return CodeCheck("locked", locked_until=throttle.locked_until)
        return CodeCheck("wrong", tries_left=MAX_FAILURES - throttle.failures)
    other = row.telegram_user_id
    await session.delete(row)
    throttle.failures = 0
    return CodeCheck("linked", telegram_user_id=other)


async def _throttle(session: AsyncSession, *, key: str, now: datetime) -> LinkThrottle:
    """The identity's throttle row, locked; rows whose period is over are gone first."""
    # Strictly before now: a row made earlier in this transaction (expires_at = now) stays.
    await session.execute(delete(LinkThrottle).where(LinkThrottle.expires_at < now))
    await insert_ignore(
        session,
        LinkThrottle,
        {"key": key, "failures": 0, "codes": 0, "expires_at": now},
        conflict=["key"],
    )
    row = await session.get(LinkThrottle, key, with_for_update=True, populate_existing=True)
    assert row is not None
    return row


def _hold(row: LinkThrottle, until: datetime) -> None:
    """Keep the row (its count, its lockout) until at least `until`."""
    row.expires_at = max(row.expires_at, until)


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
