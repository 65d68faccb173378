"""The scheduler's share of the admins' statistics: compute them once per tick interval,
for every worker, into the stored snapshot /statistik and `kurasi stats` read."""

from __future__ import annotations

from datetime import timedelta

from bot.runtime import Kurasi
from db.stats import collect
from db.stats_snapshots import claim, store

# A tick fires a little before or after its interval: without slack the worker that computed
# last time would find its own claim a few milliseconds too young and compute every other tick.
_SLACK = 0.9


async def refresh_stats(app: Kurasi, *, timezone: str, tick: timedelta) -> bool:
    """Compute and store the figures when no worker has within the last tick interval;
    True when this worker did. The statements run in a read-only session of their own: no
    row stays locked while they take their seconds."""
    now = app.clock()
    async with app.sessionmaker() as session, session.begin():
        if not await claim(session, timezone=timezone, now=now, every=tick * _SLACK):
            return False
    async with app.sessionmaker() as session:
        stats = await collect(session, now=now, timezone=timezone)
    async with app.sessionmaker() as session, session.begin():
        return await store(session, stats=stats, claimed_at=now)
