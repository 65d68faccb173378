"""Alembic environment: runs on the connection handed over by db.migrate (async engines)."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from db import models  # noqa: F401 - registers every table on Base.metadata
from db.base import Base

target_metadata = Base.metadata


def run_on(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite cannot ALTER much
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations with `kurasi db upgrade`, which provides the connection")
run_on(connection)
