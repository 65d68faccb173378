"""`kurasi stats` reads the figures the scheduler stored when they are fresh, computes them
when they are stale or missing, and always with --live (on the test database: SQLite or
PostgreSQL)."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from typer.testing import CliRunner, Result

import db.stats
import handlers.features.stats
from bot.cli import cli
from db.base import utcnow
from db.media_store import MediaStore
from db.stats import Stats, collect
from db.stats_snapshots import claim, store
from tests.world import build_world

ZONE = "Asia/Jakarta"


@pytest.fixture
async def config(
    tmp_path: Path,
    database_url: str,
    sessionmaker: async_sessionmaker[AsyncSession],
    media_store: MediaStore,
) -> Path:
    await build_world(sessionmaker, media_store)
    path = tmp_path / "config.toml"
    path.write_text(
        f'[database]\nurl = "{database_url}"\n[media]\ndir = "{media_store.root}"\n'
        '[reminders]\ntick = "1m"\n',
        encoding="utf-8",
    )
    return path


async def _run(config: Path, *args: str) -> Result:
    # The command runs its own event loop: in a thread, as from a shell.
    return await asyncio.to_thread(
        CliRunner().invoke, cli, ["stats", *args, "--config", str(config)]
    )


async def _stored(sessionmaker: async_sessionmaker[AsyncSession], at: datetime) -> Stats:
    """What the scheduler's tick stores at `at`."""
    async with sessionmaker() as session, session.begin():
        assert await claim(session, timezone=ZONE, now=at, every=timedelta(minutes=1))
    async with sessionmaker() as session:
        stats = await collect(session, now=at, timezone=ZONE)
    async with sessionmaker() as session, session.begin():
        assert await store(session, stats=stats, claimed_at=at)
    return stats


@pytest.fixture
def computed(monkeypatch: pytest.MonkeyPatch) -> list[datetime]:
    """Every live computation the command makes (the moment it was for)."""
    calls: list[datetime] = []

    async def counted(session: AsyncSession, *, now: datetime, timezone: str) -> Stats:
        calls.append(now)
        return await collect(session, now=now, timezone=timezone)

    monkeypatch.setattr(handlers.features.stats, "collect", counted)
    monkeypatch.setattr(db.stats, "collect", counted)
    return calls


async def test_fresh_snapshot_is_read_without_computing(
    config: Path, sessionmaker: async_sessionmaker[AsyncSession], computed: list[datetime]
) -> None:
    at = utcnow() - timedelta(seconds=30)
    stats = await _stored(sessionmaker, at)
    result = await _run(config)
    assert result.exit_code == 0, result.output
    local = at.astimezone(ZoneInfo(ZONE))
    assert f"Figures as of {local:%H:%M} WIB" in result.output
    assert "7 producers registered; 5 products submitted." in result.output
    assert computed == []

    result = await _run(config, "--format", "json", "--lang", "id")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == stats.to_json()
    assert f"Angka per {local:%H:%M} WIB" in result.stderr
    assert computed == []


async def test_stale_snapshot_is_computed_afresh(
    config: Path, sessionmaker: async_sessionmaker[AsyncSession], computed: list[datetime]
) -> None:
    await _stored(sessionmaker, utcnow() - timedelta(minutes=2, seconds=5))  # > two ticks
    result = await _run(config)
    assert result.exit_code == 0, result.output
    assert "Figures as of" not in result.output
    assert "7 producers registered; 5 products submitted." in result.output
    assert len(computed) == 1


async def test_no_snapshot_is_computed_live(config: Path, computed: list[datetime]) -> None:
    result = await _run(config, "--lang", "id")
    assert result.exit_code == 0, result.output
    assert "Angka per" not in result.output and "7 produsen terdaftar" in result.output
    assert len(computed) == 1


async def test_live_computes_even_with_a_fresh_snapshot(
    config: Path, sessionmaker: async_sessionmaker[AsyncSession], computed: list[datetime]
) -> None:
    await _stored(sessionmaker, utcnow() - timedelta(seconds=10))
    result = await _run(config, "--live")
    assert result.exit_code == 0, result.output
    assert "Figures as of" not in result.output
    assert len(computed) == 1
