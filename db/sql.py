"""Small dialect-aware SQL helpers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.sql.expression import ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal

from db.base import UTCDateTime


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


class add_seconds(ColumnElement[datetime]):
    """`timestamp + n seconds` in SQL, on PostgreSQL and SQLite alike (set-based planning)."""

    inherit_cache = True
    type = UTCDateTime()
    # Both parts take part in the statement cache key (a different interval, different SQL).
    _traverse_internals = [  # noqa: RUF012 - SQLAlchemy's own declaration
        ("moment", InternalTraversal.dp_clauseelement),
        ("seconds", InternalTraversal.dp_plain_obj),
    ]

    def __init__(self, moment: Any, seconds: float) -> None:
        self.moment = moment
        self.seconds = seconds


@compiles(add_seconds, "postgresql")
def _add_seconds_pg(element: add_seconds, compiler: Any, **kw: Any) -> str:
    moment = compiler.process(element.moment, **kw)
    return f"({moment} + make_interval(secs => {float(element.seconds)!r}))"


@compiles(add_seconds)
def _add_seconds_sqlite(element: add_seconds, compiler: Any, **kw: Any) -> str:
    # SQLAlchemy stores "YYYY-MM-DD HH:MM:SS.ffffff"; strftime keeps milliseconds, pad to µs.
    moment = compiler.process(element.moment, **kw)
    return (
        f"(strftime('%Y-%m-%d %H:%M:%f', {moment}, '{float(element.seconds):+f} seconds') || '000')"
    )


def insert_for(dialect_name: str) -> Any:
    """The dialect's INSERT construct (it has on_conflict_do_nothing on both)."""
    return (postgresql if dialect_name == "postgresql" else sqlite).insert
