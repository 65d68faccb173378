"""The admins' statistics stored per tick: the figures survive the store unchanged, one
worker per interval computes them, stale ones are not served, and an erasure drops them."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.media_store import MediaStore
from db.models import StatsSnapshot, User
from db.privacy import erase_user
from db.stats import (
    Backlog,
    Cluster,
    CuratorLoad,
    MatrixCell,
    Stats,
    Timing,
    Week,
    collect,
)
from db.stats_snapshots import claim, fresh, store
from tests.world import NOW, build_world

ZONE = "Asia/Jakarta"
TICK = timedelta(seconds=60)

_text = st.text(max_size=12)
_count = st.integers(min_value=0, max_value=10**9)
_seconds = st.floats(min_value=0, max_value=1e9, allow_nan=False, allow_infinity=False)
_backlog = st.builds(Backlog, _text, _count, _count, _seconds)
_stats = st.builds(
    Stats,
    generated_at=st.datetimes(timezones=st.just(UTC)),
    clusters=st.lists(st.builds(Cluster, _text, _text, _count, _count), max_size=4),
    statuses=st.dictionaries(_text, _count, max_size=4),
    weeks=st.lists(st.builds(Week, st.dates(), _count, _count, _count), max_size=4),
    grades=st.dictionaries(_text, _count, max_size=4),
    to_first_claim=st.builds(Timing, _count, st.none() | _seconds, st.none() | _seconds),
    to_decision=st.builds(Timing, _count, st.none() | _seconds, st.none() | _seconds),
    backlog_by_sector=st.lists(_backlog, max_size=3),
    backlog_by_chat=st.lists(_backlog, max_size=3),
    backlog_trend=st.lists(st.tuples(st.dates(), _count), max_size=4),
    curators=st.lists(
        st.builds(CuratorLoad, st.none() | st.integers(1, 2**31), _text, _count, _count, _count),
        max_size=3,
    ),
    month_start=st.dates(),
    totals=st.dictionaries(_text, _count, max_size=2),
    timezone=st.sampled_from([ZONE, "Asia/Makassar", "UTC"]),
    cells=st.lists(
        st.builds(MatrixCell, _text, _text, _count, _count, _count, _count, _seconds),
        max_size=4,
    ),
)


@settings(max_examples=200, deadline=None)
@given(_stats)
def test_from_json_is_the_inverse_of_to_json(stats: Stats) -> None:
    assert Stats.from_json(json.loads(json.dumps(stats.to_json()))) == stats


async def _computed(sessionmaker: async_sessionmaker[AsyncSession], at=NOW) -> Stats:
    async with sessionmaker() as session:
        return await collect(session, now=at, timezone=ZONE)


async def _store(sessionmaker: async_sessionmaker[AsyncSession], stats: Stats) -> None:
    async with sessionmaker() as session, session.begin():
        assert await claim(session, timezone=ZONE, now=stats.generated_at, every=TICK)
    async with sessionmaker() as session, session.begin():
        assert await store(session, stats=stats, claimed_at=stats.generated_at)


async def _fresh(sessionmaker: async_sessionmaker[AsyncSession], at=NOW) -> Stats | None:
    async with sessionmaker() as session:
        return await fresh(session, timezone=ZONE, now=at, max_age=2 * TICK)


async def test_the_world_s_figures_come_back_from_the_store_unchanged(
    sessionmaker: async_sessionmaker[AsyncSession], media_store: MediaStore
) -> None:
    await build_world(sessionmaker, media_store)
    stats = await _computed(sessionmaker)
    assert stats.curators and stats.cells and stats.backlog_by_chat  # a rich fixture
    await _store(sessionmaker, stats)
    assert await _fresh(sessionmaker, NOW + timedelta(seconds=90)) == stats
    # Older than two ticks, or of another zone: not served.
    assert await _fresh(sessionmaker, NOW + 2 * TICK + timedelta(seconds=1)) is None
    async with sessionmaker() as session:
        assert await fresh(session, timezone="UTC", now=NOW, max_age=2 * TICK) is None


async def test_one_claim_per_interval(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    async def take(at) -> bool:
        async with sessionmaker() as session, session.begin():
            return await claim(session, timezone=ZONE, now=at, every=TICK)

    assert await take(NOW)
    assert not await take(NOW + timedelta(seconds=30))  # another worker, same interval
    assert await take(NOW + TICK)
    # Each zone is its own snapshot.
    async with sessionmaker() as session, session.begin():
        assert await claim(session, timezone="Asia/Makassar", now=NOW, every=TICK)


async def test_racing_workers_claim_once(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    async def take() -> bool:
        async with sessionmaker() as session, session.begin():
            return await claim(session, timezone=ZONE, now=NOW, every=TICK)

    assert sorted(await asyncio.gather(*(take() for _ in range(4)))) == [False] * 3 + [True]
    # The row exists now: the race is on the compare-and-set.
    later = NOW + TICK

    async def take_later() -> bool:
        async with sessionmaker() as session, session.begin():
            return await claim(session, timezone=ZONE, now=later, every=TICK)

    assert sorted(await asyncio.gather(*(take_later() for _ in range(4)))) == [False] * 3 + [True]


async def test_a_computation_that_lost_its_claim_is_not_stored(
    sessionmaker: async_sessionmaker[AsyncSession], media_store: MediaStore
) -> None:
    await build_world(sessionmaker, media_store)
    slow = await _computed(sessionmaker)
    async with sessionmaker() as session, session.begin():
        assert await claim(session, timezone=ZONE, now=NOW, every=TICK)
    # The first worker took longer than an interval: another claimed and stored since.
    later = NOW + TICK
    newer = await _computed(sessionmaker, later)
    async with sessionmaker() as session, session.begin():
        assert await claim(session, timezone=ZONE, now=later, every=TICK)
        assert await store(session, stats=newer, claimed_at=later)
    async with sessionmaker() as session, session.begin():
        assert not await store(session, stats=slow, claimed_at=NOW)
    assert await _fresh(sessionmaker, later) == newer


async def test_erasing_a_curator_drops_the_snapshot_that_names_them(
    sessionmaker: async_sessionmaker[AsyncSession], media_store: MediaStore
) -> None:
    await build_world(sessionmaker, media_store)
    stats = await _computed(sessionmaker)
    assert "Ani" in [c.name for c in stats.curators]
    await _store(sessionmaker, stats)
    async with sessionmaker() as session, session.begin():
        ani = await session.scalar(select(User.id).where(User.display_name == "Ani"))
        assert ani is not None
        await erase_user(session, user_id=ani, now=NOW)
    assert await _fresh(sessionmaker) is None
    async with sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(StatsSnapshot)) == 0
