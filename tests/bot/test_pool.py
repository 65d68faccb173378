"""The database pool holds every update in flight: under full load no connection is opened
and closed per checkout (on PostgreSQL each is a server process started and stopped)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text

from bot.app import build
from bot.config import load_settings
from db.engine import is_sqlite


async def test_a_full_load_of_updates_reuses_the_pools_connections(
    database_url: str, tmp_path: Path
) -> None:
    if is_sqlite(database_url):
        pytest.skip("SQLite has one connection, whatever the load")
    settings = load_settings(
        None, database={"url": database_url}, media={"dir": str(tmp_path / "media")}
    )
    in_flight = settings.runtime.concurrency(database_url)
    runtime = await build(settings, migrate=False)  # the session fixture migrated it
    opened: list[Any] = []
    event.listen(runtime.engine.sync_engine, "connect", lambda conn, record: opened.append(conn))
    try:
        for _round in range(3):
            # As many transactions at once as updates may be in flight, each holding its
            # connection until all have one.
            everyone = asyncio.Barrier(in_flight)

            async def update(barrier: asyncio.Barrier = everyone) -> None:
                async with runtime.sessionmaker() as session, session.begin():
                    await session.execute(text("SELECT 1"))
                    await barrier.wait()

            await asyncio.gather(*(update() for _ in range(in_flight)))
            assert len(opened) == in_flight  # the first round opened them; later ones reuse
    finally:
        await runtime.close()
