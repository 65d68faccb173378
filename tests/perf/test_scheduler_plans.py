"""Every scheduler query can be answered from an index (PostgreSQL's planner says so)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from db.explain import explain
from handlers.features.reminders.explain import scheduler_queries


async def test_no_scheduler_query_needs_a_sequential_scan(
    engine: AsyncEngine, sessionmaker
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("plans are PostgreSQL's (bench/scale prints them on 100,000 rows)")
    now = datetime(2026, 11, 2, 3, tzinfo=UTC)
    queries = scheduler_queries(now=now, today=date(2026, 11, 2))
    seq_scans = {}
    async with sessionmaker() as session, session.begin():
        # Empty tables are cheapest to scan; forbid it, so only a missing index shows one.
        await session.execute(text("SET LOCAL enable_seqscan = off"))
        for name, stmt in queries.items():
            plan = "\n".join(await explain(session, stmt))
            if "Seq Scan" in plan:
                seq_scans[name] = plan
    assert seq_scans == {}
    assert len(queries) >= 15
