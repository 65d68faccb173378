"""The admins' dashboard access: one-time login links and browser sessions.

A secret is 32 random bytes; only its SHA-256 is stored, so a copy of the database opens
nothing. A link is redeemed by one compare-and-set update (unused, unexpired → used): two
clicks on the same link give exactly one session. The caller commits.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import DashboardToken, User

LINK = "link"
SESSION = "session"


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


async def _issue(
    session: AsyncSession, *, kind: str, user_id: int, now: datetime, ttl: timedelta
) -> str:
    secret = secrets.token_urlsafe(32)
    session.add(
        DashboardToken(
            kind=kind,
            token_sha256=_digest(secret),
            user_id=user_id,
            created_at=now,
            expires_at=now + ttl,
        )
    )
    # Expired ones of this person go: the table holds only what can still be used.
    await session.execute(
        delete(DashboardToken).where(
            DashboardToken.user_id == user_id, DashboardToken.expires_at <= now
        )
    )
    await session.flush()
    return secret


async def issue_link(session: AsyncSession, *, user_id: int, now: datetime, ttl: timedelta) -> str:
    return await _issue(session, kind=LINK, user_id=user_id, now=now, ttl=ttl)


async def redeem_link(session: AsyncSession, *, secret: str, now: datetime) -> int | None:
    """The link's admin (its user id), once: None for an unknown, used or expired link."""
    if not secret or len(secret) > 128:
        return None
    result = await session.execute(
        update(DashboardToken)
        .where(
            DashboardToken.kind == LINK,
            DashboardToken.token_sha256 == _digest(secret),
            DashboardToken.used_at.is_(None),
            DashboardToken.expires_at > now,
        )
        .values(used_at=now)
        .returning(DashboardToken.user_id)
        .execution_options(synchronize_session=False)
    )
    found = result.scalar_one_or_none()
    return int(found) if found is not None else None


async def open_session(
    session: AsyncSession, *, user_id: int, now: datetime, ttl: timedelta
) -> str:
    return await _issue(session, kind=SESSION, user_id=user_id, now=now, ttl=ttl)


async def session_user(session: AsyncSession, *, secret: str, now: datetime) -> User | None:
    if not secret or len(secret) > 128:
        return None
    return await session.scalar(
        select(User)
        .join(DashboardToken, DashboardToken.user_id == User.id)
        .where(
            DashboardToken.kind == SESSION,
            DashboardToken.token_sha256 == _digest(secret),
            DashboardToken.expires_at > now,
        )
    )


async def close_session(session: AsyncSession, *, secret: str) -> None:
    await session.execute(
        delete(DashboardToken).where(
            DashboardToken.kind == SESSION, DashboardToken.token_sha256 == _digest(secret)
        )
    )
