"""Small dialect-aware SQL helpers."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase


async def insert_ignore(
    session: AsyncSession,
    model: type[DeclarativeBase],
    values: dict[str, Any],
    *,
    conflict: list[str],
) -> bool:
    """INSERT ... ON CONFLICT DO NOTHING; True when a row was inserted.

    Unlike try/except IntegrityError this never poisons the surrounding transaction, and on
    PostgreSQL a racing insert of the same key waits for the other to commit, then yields.
    """
    dialect = session.get_bind().dialect.name
    mod: Any = postgresql if dialect == "postgresql" else sqlite
    stmt = mod.insert(model).values(**values).on_conflict_do_nothing(index_elements=conflict)
    result: Any = await session.execute(stmt)
    return bool(result.rowcount)
