"""Admins' /ekspor requests: stored in the update that asked, leased by the job that builds
the files, finished when the files (or the apology) went out. A lease that runs out (the
process died) lets the next start, or another worker's tick, take the request up again."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import ExportRequest

LEASE = timedelta(seconds=60)  # renewed by a running job every third of it
MAX_RUNS = 3  # a request whose job was stopped this often is given up, with an apology


async def add_request(
    session: AsyncSession, *, user_id: int, spec: dict[str, Any], now: datetime
) -> int:
    request = ExportRequest(user_id=user_id, spec=spec, created_at=now, runs=0)
    session.add(request)
    await session.flush()
    return request.id


async def claim(
    session: AsyncSession, *, request_id: int, now: datetime, lease: timedelta = LEASE
) -> ExportRequest | None:
    """Take the request for one run (None: finished, or another job holds it)."""
    taken = await session.execute(
        update(ExportRequest)
        .where(
            ExportRequest.id == request_id,
            ExportRequest.finished_at.is_(None),
            or_(ExportRequest.lease_until.is_(None), ExportRequest.lease_until < now),
        )
        .values(lease_until=now + lease, runs=ExportRequest.runs + 1)
        .returning(ExportRequest.id)
    )
    if taken.scalar_one_or_none() is None:
        return None
    return await session.get(ExportRequest, request_id, populate_existing=True)


async def renew(
    session: AsyncSession, *, request_id: int, now: datetime, lease: timedelta = LEASE
) -> None:
    await session.execute(
        update(ExportRequest)
        .where(ExportRequest.id == request_id, ExportRequest.finished_at.is_(None))
        .values(lease_until=now + lease)
    )


async def release(session: AsyncSession, *, request_id: int) -> None:
    """A run stopped by a shutdown: the next start takes the request up at once."""
    await session.execute(
        update(ExportRequest)
        .where(ExportRequest.id == request_id, ExportRequest.finished_at.is_(None))
        .values(lease_until=None)
    )


async def finish(session: AsyncSession, *, request_id: int, now: datetime) -> None:
    await session.execute(
        update(ExportRequest).where(ExportRequest.id == request_id).values(finished_at=now)
    )


async def open_requests(session: AsyncSession, *, now: datetime, limit: int = 20) -> list[int]:
    """Unfinished requests no job holds, oldest first."""
    rows = await session.scalars(
        select(ExportRequest.id)
        .where(
            ExportRequest.finished_at.is_(None),
            or_(ExportRequest.lease_until.is_(None), ExportRequest.lease_until < now),
        )
        .order_by(ExportRequest.id)
        .limit(limit)
    )
    return list(rows)


async def forget_finished(session: AsyncSession, *, before: datetime) -> None:
    """Finished requests are kept a while (what was asked, when), then dropped."""
    await session.execute(
        delete(ExportRequest).where(
            ExportRequest.finished_at.is_not(None), ExportRequest.finished_at < before
        )
    )
