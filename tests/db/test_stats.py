"""Every statistic equals the value computed by hand from tests/world.py's table."""

from __future__ import annotations

from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.media_store import MediaStore
from db.stats import Backlog, Cluster, Timing, Week, collect
from tests.world import NOW, build_world

H = 3600.0


async def test_statistics_match_hand_computed_values(
    sessionmaker: async_sessionmaker[AsyncSession], media_store: MediaStore
) -> None:
    await build_world(sessionmaker, media_store)
    async with sessionmaker() as session, session.begin():
        stats = await collect(session, now=NOW, timezone="Asia/Jakarta", weeks=8)

    assert stats.clusters == [
        Cluster("agribusiness", "35.78", 1, 0),
        Cluster("fashion", "35.07", 1, 1),
        Cluster("fashion", "35.73", 1, 1),
        Cluster("food", "35.07", 2, 1),  # P1's producer and P6's (a draft: no product)
        Cluster("food", "35.73", 1, 1),
        Cluster("handicraft", "35.15", 1, 1),
    ]
    assert stats.totals == {"producers": 7, "products": 5}
    assert stats.statuses == {
        "draft": 1,
        "submitted": 1,
        "in_review": 1,
        "revision_requested": 0,
        "approved": 2,
        "rejected": 1,
    }
    # Weeks start on Monday in Jakarta; P3's rejection (16 Nov 16:00 UTC) is Monday 23:00 WIB.
    assert stats.weeks == [
        Week(date(2026, 10, 5)),
        Week(date(2026, 10, 12)),
        Week(date(2026, 10, 19)),
        Week(date(2026, 10, 26)),
        Week(date(2026, 11, 2)),
        Week(date(2026, 11, 9), approve=1, revise=1),
        Week(date(2026, 11, 16), approve=1, reject=1),
        Week(date(2026, 11, 23)),
    ]
    assert stats.grades == {"-": 1, "A": 1, "B": 1, "C": 1}
    # First claims: 1h, 1h, 2h, 4h, 10h (P3's re-claim after the release does not count).
    assert stats.to_first_claim == Timing(5, 2 * H, 10 * H)
    # Decisions: 3h, 5h, 6h, 30h.
    assert stats.to_decision == Timing(4, 5 * H, 30 * H)
    assert stats.backlog_by_sector == [
        Backlog("fashion", 1, 0, 48 * H),
        Backlog("handicraft", 1, 1, 24 * H),
    ]
    assert stats.backlog_by_chat == [
        Backlog("review-a", 1, 1, 24 * H),
        Backlog("review-b", 1, 0, 48 * H),
    ]
    # At each week's end: only P3 spans one (submitted Sunday, decided the next Monday).
    assert [n for _, n in stats.backlog_trend] == [0, 0, 0, 0, 0, 1, 0, 2]
    assert [(c.name, c.approve, c.revise, c.reject) for c in stats.curators] == [
        ("Ani", 1, 1, 0),
        ("Bayu", 1, 0, 1),
    ]
    assert stats.month_start == date(2026, 11, 1)
    data = stats.to_json()
    assert data["to_decision"] == {"count": 4, "median": 5 * H, "p90": 30 * H}
    assert data["curators"][0]["total"] == 2


async def test_empty_database_has_zero_figures(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async with sessionmaker() as session, session.begin():
        stats = await collect(session, now=NOW)
    assert stats.clusters == []
    assert stats.to_first_claim == Timing()
    assert stats.backlog_by_sector == []
    assert [n for _, n in stats.backlog_trend] == [0] * 8
