"""Apply Alembic migrations programmatically (no alembic.ini to ship or find).

Alembic (~9 MB once imported) is loaded only when the database is behind: a process
starting on a database at `HEAD` reads one row and goes on without it.
"""

from __future__ import annotations

from importlib import resources
from typing import TYPE_CHECKING

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

if TYPE_CHECKING:
    from alembic.config import Config

# The newest migration's revision: a new migration moves it (tests/db/test_migrations.py
# checks it against Alembic's own head).
HEAD = "0023"


def alembic_config() -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("db") / "migrations"))
    return cfg


# pg_advisory_xact_lock key: "kurasi migrate" (any constant; it only has to be ours).
MIGRATION_LOCK = 0x6B75726173690001


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Bring the schema to `revision`. Workers starting together on PostgreSQL queue on an
    advisory lock held for the upgrade's transaction: the first migrates, the others then
    find nothing to do. (SQLite's BEGIN IMMEDIATE already lets one writer in at a time.)"""

    def run(connection: Connection) -> None:
        if revision in ("head", HEAD) and _stored_revision(connection) == HEAD:
            return  # nothing to do (migrations only move forward)
        from alembic import command

        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        cfg = alembic_config()
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)

    async with engine.begin() as conn:
        await conn.run_sync(run)


def _stored_revision(connection: Connection) -> str | None:
    """The database's revision, read without Alembic; None for an empty database."""
    if not inspect(connection).has_table("alembic_version"):
        return None
    found = connection.scalar(text("SELECT version_num FROM alembic_version"))
    return str(found) if found is not None else None


async def current_revision(engine: AsyncEngine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    def read(connection: Connection) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    async with engine.connect() as conn:
        return await conn.run_sync(read)


def head_revision() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


async def autogenerate(engine: AsyncEngine, message: str) -> None:
    """Developer helper: write a new revision from the models' difference to the database."""
    from alembic import command

    cfg = alembic_config()

    def run(connection: Connection) -> None:
        cfg.attributes["connection"] = connection
        command.revision(cfg, message=message, autogenerate=True)

    async with engine.begin() as conn:
        await conn.run_sync(run)
