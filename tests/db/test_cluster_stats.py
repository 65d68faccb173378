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


def test_the_stats_header_is_dated_in_wib_and_months_are_in_the_readers_language() -> None:
    from datetime import UTC, datetime

    from bot.i18n import translator
    from db.stats import Stats, Week
    from handlers.features.stats import day_month, stats_text

    # 19:24 UTC on 24 November is 02:24 WIB on the 25th.
    stats = Stats(
        generated_at=datetime(2026, 11, 24, 19, 24, tzinfo=UTC),
        clusters=[],
        statuses={},
        weeks=[Week(date(2026, 8, 3), 1, 0, 0)],
        grades={},
        to_first_claim=Timing(),
        to_decision=Timing(),
        backlog_by_sector=[],
        backlog_by_chat=[],
        backlog_trend=[],
        curators=[],
        month_start=date(2026, 11, 1),
    )
    text = stats_text(translator("id"), stats)
    assert "25/11/2026" in text.splitlines()[0]
    assert "• 03 Agu: 1 / 0 / 0" in text
    assert day_month(translator("en"), date(2026, 8, 3)) == "03 Aug"


async def test_a_dashboard_session_is_erased_with_the_person(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    from sqlalchemy import func, select

    from db.dashboard import issue_link, open_session
    from db.models import DashboardToken, User
    from db.privacy import erase_user

    async with sessionmaker() as session, session.begin():
        admin = User(channel="test", external_id="9001", reminder_optouts=[])
        session.add(admin)
        await session.flush()
        await issue_link(session, user_id=admin.id, now=NOW, ttl=timedelta(minutes=10))
        await open_session(session, user_id=admin.id, now=NOW, ttl=timedelta(hours=1))
        admin_id = admin.id
    async with sessionmaker() as session, session.begin():
        await erase_user(session, user_id=admin_id, now=NOW)
    async with sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(DashboardToken)) == 0
