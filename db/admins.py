"""Admin roles: who is an admin, stored on their user row (set by /admin_tambah, /admin_hapus)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import User
from db.sql import insert_ignore


async def set_admin(
    session: AsyncSession, *, channel: str, external_id: str, admin: bool, now: datetime
) -> bool:
    """Make a person an admin (or not); their user row is created if they never wrote. True
    when something changed."""
    await insert_ignore(
        session,
        User,
        {
            "channel": channel,
            "external_id": external_id,
            "reminder_optouts": [],
            "created_at": now,
            "updated_at": now,
        },
        conflict=["channel", "external_id"],
    )
    result: Any = await session.execute(
        update(User)
        .where(User.channel == channel, User.external_id == external_id, User.is_admin != admin)
        .values(is_admin=admin)
    )
    return bool(result.rowcount)


async def stored_admins(session: AsyncSession) -> list[User]:
    return list(await session.scalars(select(User).where(User.is_admin.is_(True))))
