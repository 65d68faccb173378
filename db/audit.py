"""The audit trail's writers for admin actions: who, when, what (broadcasts, roles, exports of
personal data). Curation decisions are written with their transitions in db/reviews.py."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from db.exports import PERSONAL_ACTION, Filters
from db.models import AuditEvent


async def audit(
    session: AsyncSession, *, action: str, actor_user_id: int | None, detail: str, now: datetime
) -> None:
    """An admin action in the audit trail: who, when, what."""
    session.add(
        AuditEvent(at=now, action=action[:24], actor_user_id=actor_user_id, reason_text=detail)
    )


async def audit_personal_export(
    session: AsyncSession,
    *,
    actor_user_id: int | None,
    person: str,
    what: str,
    filters: Filters | None = None,
    now: datetime,
) -> None:
    """Personal data (owner names, phone numbers) left the system: who (the admin's chat
    id, or the OS user of the command line), when, what and which rows."""
    described = f"{person}; {what}"
    if filters is not None and not filters.empty:
        parts = [
            *(f"sector={s}" for s in filters.sectors),
            *(f"regency={r}" for r in filters.regions),
            *(f"status={s}" for s in filters.statuses),
            *([f"since={filters.since.isoformat()}"] if filters.since else []),
            *([f"until={filters.until.isoformat()}"] if filters.until else []),
        ]
        described += "; " + " ".join(parts)
    session.add(
        AuditEvent(
            at=now, action=PERSONAL_ACTION, actor_user_id=actor_user_id, reason_text=described
        )
    )
    await session.flush()


async def audit_phone_export(
    session: AsyncSession, *, actor_user_id: int | None, via: str, now: datetime
) -> None:
    """Kept for callers that name only the channel (the person is then `via`)."""
    await audit_personal_export(
        session, actor_user_id=actor_user_id, person=via, what="businesses", now=now
    )
