"""Shared fixtures: one migrated database per test session, emptied before each test.

Database choice: KURASI_TEST_DATABASE_URL if set; else on CI (CI=true) the machine's
PostgreSQL, which must be reachable (no silent fallback); else a throwaway SQLite file.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.runtime import FloodGuard, Kurasi
from db.base import Base
from db.engine import is_sqlite, make_engine, make_sessionmaker
from db.media_store import MediaStore
from db.migrate import upgrade
from tests.support import Chat, FakeClock, RecordingChannel, create_database, drop_database

CI_DATABASE = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


def _configured_url() -> str | None:
    if url := os.environ.get("KURASI_TEST_DATABASE_URL"):
        return url
    if os.environ.get("CI", "").lower() == "true":
        return CI_DATABASE
    return None


def pytest_sessionstart(session: pytest.Session) -> None:
    """With a PostgreSQL configured (always on CI), no test runs unless it answers."""
    url = _configured_url()
    if url is None:
        return

    async def ping() -> None:
        engine = make_engine(url)
        try:
            async with engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        finally:
            await engine.dispose()

    try:
        asyncio.run(asyncio.wait_for(ping(), timeout=15))
    except Exception as exc:
        pytest.exit(
            f"test database {make_url(url).render_as_string()} unreachable: {exc!r}. "
            "On CI PostgreSQL is required; locally unset KURASI_TEST_DATABASE_URL for SQLite.",
            returncode=3,
        )


def pytest_report_header(config: pytest.Config) -> str:
    url = _configured_url()
    where = make_url(url).render_as_string() if url else "SQLite (temporary file)"
    return f"kurasi test database: {where}"


@pytest.fixture(scope="session")
def server_url() -> str | None:
    """The PostgreSQL server the tests create their databases on (None: SQLite)."""
    return _configured_url()


@pytest.fixture(scope="session")
async def database_url(
    server_url: str | None, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[str]:
    if server_url is None:
        yield f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('db') / 'kurasi.db'}"
        return
    try:
        url = await asyncio.wait_for(create_database(server_url), timeout=15)
    except Exception as exc:
        pytest.exit(
            f"test database {make_url(server_url).render_as_string()} unreachable: {exc!r}. "
            "On CI PostgreSQL is required; locally unset KURASI_TEST_DATABASE_URL for SQLite.",
            returncode=3,
        )
    try:
        yield url
    finally:
        await drop_database(server_url, url)


@pytest.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(database_url)
    await upgrade(engine)
    yield engine
    await engine.dispose()


@pytest.fixture
async def sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Every test starts from empty tables (the schema stays)."""
    tables = list(reversed(Base.metadata.sorted_tables))
    async with engine.begin() as conn:
        if is_sqlite(str(engine.url)):
            for table in tables:
                await conn.execute(table.delete())
        else:
            joined = ", ".join(f'"{t.name}"' for t in tables)
            await conn.execute(text(f"TRUNCATE {joined} RESTART IDENTITY CASCADE"))
    return make_sessionmaker(engine)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def media_store(tmp_path: Path) -> MediaStore:
    return MediaStore(tmp_path / "media")


@pytest.fixture
def app(
    sessionmaker: async_sessionmaker[AsyncSession], clock: FakeClock, media_store: MediaStore
) -> Kurasi:
    # Tests type faster than any person; the flood guard has tests of its own.
    return Kurasi(
        sessionmaker=sessionmaker,
        clock=clock,
        media_store=media_store,
        debounce_seconds=60,  # drained explicitly by the tests
        flood=FloodGuard(limit=10_000),
    )


@pytest.fixture
def channel(app: Kurasi) -> RecordingChannel:
    return RecordingChannel(app)


@pytest.fixture
def chat(app: Kurasi, channel: RecordingChannel) -> Chat:
    return Chat(app, channel, user_id="1001", name="Tini Rahayu")
