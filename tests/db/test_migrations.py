"""Migrations build the schema the models describe, on an empty PostgreSQL and SQLite."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from db.base import Base
from db.engine import make_engine
from db.migrate import HEAD, current_revision, head_revision, upgrade
from tests.support import create_database, drop_database


def _schema_drift(connection: Connection) -> list:
    ctx = MigrationContext.configure(connection, opts={"compare_type": False})
    return compare_metadata(ctx, Base.metadata)


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


async def _check_fresh_database(url: str) -> None:
    engine = make_engine(url)
    try:
        assert await current_revision(engine) is None
        await upgrade(engine)
        assert await current_revision(engine) == head_revision()
        await upgrade(engine)  # a second run is a no-op
        async with engine.connect() as conn:
            tables = await conn.run_sync(_tables)
            drift = await conn.run_sync(_schema_drift)
        assert {t.name for t in Base.metadata.sorted_tables} <= tables
        assert drift == [], f"models and migrations disagree: {drift}"
    finally:
        await engine.dispose()


def test_head_names_the_newest_migration() -> None:
    # `upgrade` skips Alembic when the database stands at HEAD: a migration added without
    # moving HEAD would never run on a database at the previous one.
    assert head_revision() == HEAD


async def test_upgrade_empty_sqlite(tmp_path: Path) -> None:
    await _check_fresh_database(f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}")


async def test_upgrade_empty_postgresql(server_url: str | None) -> None:
    if server_url is None:
        pytest.skip("no PostgreSQL configured (set KURASI_TEST_DATABASE_URL; CI always has it)")
    url = await create_database(server_url)
    try:
        await _check_fresh_database(url)
    finally:
        await drop_database(server_url, url)
