"""The scheduler's tick stores the admins' statistics; a second worker ticking within the
same interval reads them instead of computing them again."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import bot.stats_snapshot
from bot.runtime import Kurasi
from bot.scheduler import make_scheduler
from db.media_store import MediaStore
from db.stats import collect
from db.stats_snapshots import fresh
from tests.support import FakeClock
from tests.world import NOW, build_world

ZONE = "Asia/Jakarta"
TICK = 60.0


def _worker(sessionmaker: async_sessionmaker[AsyncSession], clock: FakeClock) -> Kurasi:
    return Kurasi(sessionmaker=sessionmaker, clock=clock)


async def _tick(app: Kurasi) -> None:
    scheduler = make_scheduler(
        app,
        timezone=ZONE,
        claim_timeout=timedelta(hours=48),
        language="id",
        tick_seconds=TICK,
    )
    job = scheduler.get_job("tick")
    assert job is not None
    await job.func()


async def test_tick_stores_the_figures_once_per_interval_for_all_workers(
    sessionmaker: async_sessionmaker[AsyncSession],
    media_store: MediaStore,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await build_world(sessionmaker, media_store)
    computed: list[object] = []

    async def counted(session: AsyncSession, **kw: object):  # type: ignore[no-untyped-def]
        computed.append(kw["now"])
        return await collect(session, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(bot.stats_snapshot, "collect", counted)
    clock_a, clock_b = FakeClock(NOW), FakeClock(NOW + timedelta(seconds=20))
    worker_a, worker_b = _worker(sessionmaker, clock_a), _worker(sessionmaker, clock_b)

    await _tick(worker_a)
    assert computed == [NOW]
    async with sessionmaker() as session:
        stored = await fresh(session, timezone=ZONE, now=NOW, max_age=timedelta(minutes=2))
        expected = await collect(session, now=NOW, timezone=ZONE)
    assert stored == expected

    await _tick(worker_b)  # 20 s later, the other worker: nothing to compute
    assert computed == [NOW]
    clock_a.advance(seconds=TICK)
    clock_b.advance(seconds=TICK)
    await _tick(worker_b)  # the next interval: whoever ticks first computes
    await _tick(worker_a)
    assert computed == [NOW, NOW + timedelta(seconds=20 + TICK)]
