"""The cluster database's figures (issue 24) against tests/world.py computed by hand:
the regency × sector matrix, the funnel, decision times per sector and week, the backlog
by age and each curator's claims, decisions and open claims per week."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.media_store import MediaStore
from db.stats import (
    FunnelRow,
    MatrixCell,
    Scope,
    Timing,
    backlog_by_age,
    curator_activity,
    decision_times,
    funnel,
    matrix,
)
from tests.world import NOW, build_world

H = 3600.0
DAY = 24 * H


async def test_matrix_funnel_times_backlog_and_curators(
    sessionmaker: async_sessionmaker[AsyncSession], media_store: MediaStore
) -> None:
    await build_world(sessionmaker, media_store)
    async with sessionmaker() as session:
        cells = await matrix(session, now=NOW)
        assert cells == [
            MatrixCell("35.07", "fashion", producers=1, products=1),
            MatrixCell("35.07", "food", producers=2, products=1, approved=1),
            MatrixCell("35.15", "handicraft", 1, 1, waiting=1, oldest_wait_seconds=DAY),
            MatrixCell("35.73", "fashion", 1, 1, waiting=1, oldest_wait_seconds=2 * DAY),
            MatrixCell("35.73", "food", producers=1, products=1, approved=1),
            MatrixCell("35.78", "agribusiness", producers=1),
        ]
        only = await matrix(session, now=NOW, scope=Scope(sectors=("fashion",)))
        assert [(c.region_code, c.producers) for c in only] == [("35.07", 1), ("35.73", 1)]
        assert [
            c.region_code for c in await matrix(session, now=NOW, scope=Scope(regions=("35.73",)))
        ] == ["35.73", "35.73"]

        assert await funnel(session, by="sector") == [
            FunnelRow("agribusiness", 1, 0, 0),
            FunnelRow("fashion", 2, 2, 0),
            FunnelRow("food", 3, 3, 2),  # P6's producer submitted once (withdrawn since)
            FunnelRow("handicraft", 1, 1, 0),
        ]
        assert await funnel(session, by="region") == [
            FunnelRow("35.07", 3, 3, 1),
            FunnelRow("35.15", 1, 1, 0),
            FunnelRow("35.73", 2, 2, 1),
            FunnelRow("35.78", 1, 0, 0),
        ]

        since = NOW - timedelta(days=90)
        assert await decision_times(session, by="sector", since=since) == {
            "fashion": Timing(1, 30 * H, 30 * H),
            "food": Timing(3, 5 * H, 6 * H),  # 3 h, 5 h, 6 h
        }
        assert await decision_times(session, by="week", since=since) == {
            "2026-11-09": Timing(2, 5 * H, 6 * H),  # P1, P2 round 1
            "2026-11-16": Timing(2, 3 * H, 30 * H),  # P2 round 2; P3 (Monday 23:00 WIB)
        }
        assert await backlog_by_age(session, now=NOW) == {
            "<1d": 0,
            "1-3d": 2,
            "3-7d": 0,
            "7-14d": 0,
            ">14d": 0,
        }
        later = await backlog_by_age(session, now=NOW + timedelta(days=5))
        assert (later["3-7d"], later["7-14d"]) == (1, 1)  # P4 6 days, P5 7 days

        people = await curator_activity(session, since=NOW - timedelta(days=21), until=NOW)
        by_name = {c.name: c for c in people}
        ani, bayu = by_name["Ani"], by_name["Bayu"]
        assert (ani.claims, ani.decisions, ani.open_claims) == (3, 2, 0)
        assert (bayu.claims, bayu.decisions, bayu.open_claims) == (3, 2, 1)
        weeks = {w.start: (w.claims, w.decisions) for w in bayu.weeks}
        assert weeks[date(2026, 11, 16)] == (2, 2)
        assert weeks[date(2026, 11, 23)] == (1, 0)
        assert {w.start: (w.claims, w.decisions) for w in ani.weeks}[date(2026, 11, 9)] == (2, 2)
