"""The admins' statistics kept per scheduler tick: one stored row per time zone.

`collect` runs ~15 grouped statements over the whole history (seconds at 100,000 producers);
the tick computes them once per interval for every worker, and /statistik and `kurasi stats`
read one row. Computing goes in three steps, each its own transaction: `claim` (a short
write: one worker per interval wins), the statements themselves (reads only, no row held),
`store` (guarded by the claim, so a computation that lost its claim is thrown away).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import StatsSnapshot
from db.sql import insert_ignore
from db.stats import Stats


async def claim(session: AsyncSession, *, timezone: str, now: datetime, every: timedelta) -> bool:
    """Take on computing `timezone`'s figures: True when no worker took it on within `every`.

    The first claim inserts the row (ON CONFLICT DO NOTHING: of two racing inserts one wins);
    later ones are a compare-and-set on `claimed_at`. On PostgreSQL a second worker's UPDATE
    waits for the first's commit and then finds the row claimed, so exactly one wins."""
    if await insert_ignore(
        session, StatsSnapshot, {"timezone": timezone, "claimed_at": now}, conflict=["timezone"]
    ):
        return True
    result = await session.execute(
        update(StatsSnapshot)
        .where(StatsSnapshot.timezone == timezone, StatsSnapshot.claimed_at <= now - every)
        .values(claimed_at=now)
    )
    return bool(getattr(result, "rowcount", 0))


async def store(session: AsyncSession, *, stats: Stats, claimed_at: datetime) -> bool:
    """Keep `stats` as the latest figures of their time zone, if the claim taken at
    `claimed_at` still holds: a worker that claimed since, or an erasure that deleted the row
    meanwhile (the figures may name the erased person), makes this computation void."""
    result = await session.execute(
        update(StatsSnapshot)
        .where(
            StatsSnapshot.timezone == stats.timezone,
            StatsSnapshot.claimed_at == claimed_at,
        )
        .values(stats=stats.to_json(), computed_at=stats.generated_at)
    )
    return bool(getattr(result, "rowcount", 0))


async def fresh(
    session: AsyncSession, *, timezone: str, now: datetime, max_age: timedelta
) -> Stats | None:
    """The stored figures of `timezone` when they are no older than `max_age`, else None
    (none yet, the scheduler stopped, or a snapshot of an older shape)."""
    row = (
        await session.execute(
            select(StatsSnapshot.stats, StatsSnapshot.computed_at).where(
                StatsSnapshot.timezone == timezone
            )
        )
    ).one_or_none()
    if row is None or row.stats is None or row.computed_at is None:
        return None
    if now - row.computed_at > max_age:
        return None
    try:
        return Stats.from_json(row.stats)
    except (KeyError, TypeError, ValueError):
        return None  # written by another version: computed afresh instead


async def forget(session: AsyncSession) -> None:
    """Delete every snapshot (an erasure: the figures name curators); the next tick
    computes them again, and a reader meanwhile gets them computed live."""
    await session.execute(delete(StatsSnapshot))
