"""Engine and session factory, built once by the entry point and handed around."""

from __future__ import annotations

import asyncio
from threading import Thread
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def make_engine(url: str, *, pool_size: int | None = None, **kwargs: Any) -> AsyncEngine:
    """The engine for `url`. On PostgreSQL, `pool_size` connections stay open (the
    process's concurrency plus its background work; SQLAlchemy's default is 5) and a
    few more may open for a burst; SQLite always has one."""
    if is_sqlite(url):
        kwargs.setdefault("hide_parameters", True)
        # One connection: SQLite has one writer, so transactions queue for the connection
        # in asyncio instead of sleeping in SQLite's busy handler (which backs off up to
        # 100 ms a try). busy_timeout still covers a second process on the same file.
        kwargs.setdefault("pool_size", 1)
        kwargs.setdefault("max_overflow", 0)
        engine = create_async_engine(url, async_creator=_sqlite_connector(url), **kwargs)

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            # We issue BEGIN ourselves (below); pysqlite's own deferred BEGIN would let two
            # transactions read, then fail to upgrade to a write lock.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            # WAL lets the console/web readers work while a write is in flight.
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=30000")
            # In WAL mode NORMAL syncs at checkpoints, not on every commit: a crash of the
            # process loses nothing; only a power cut can lose the last transactions.
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()
            # The catalogue's accent- and case-insensitive search (db.catalogue.fold).
            from db.catalogue import fold

            dbapi_conn.create_function("kurasi_fold", 1, fold, deterministic=True)

        @event.listens_for(engine.sync_engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            # One writer at a time, decided up front: SQLite's answer to SELECT ... FOR UPDATE.
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    # No pre-ping (a round trip per checkout): a connection found dead makes the statement
    # fail as a disconnect, SQLAlchemy recycles the pool, and the caller retries the whole
    # transaction (see `is_transient`). Bound parameters (names, phone numbers) never go
    # into error messages, so never into logs.
    kwargs.setdefault("hide_parameters", True)
    if pool_size is not None:
        kwargs.setdefault("pool_size", pool_size)
        kwargs.setdefault("max_overflow", 5)
    return create_async_engine(url, **kwargs)


def _sqlite_connector(url: str) -> Any:
    """aiosqlite's connect, waiting for its thread when the connect fails.

    On a failed connect (a missing folder, a file it may not open) aiosqlite stops its
    worker thread without waiting: the thread then answers into an event loop that may be
    closed by then, and prints "RuntimeError: Event loop is closed" after our one-line
    error. Here the thread is joined before the error goes on.
    """
    import aiosqlite

    u = make_url(url)
    args, params = u.get_dialect()().create_connect_args(u)
    params = {**params, "timeout": 30}

    async def connect() -> Any:
        connection = aiosqlite.connect(*args, **params)
        # The thread lives inside the connection since aiosqlite 0.22; it was one before.
        thread: Thread = connection if isinstance(connection, Thread) else connection._thread
        thread.daemon = True  # as SQLAlchemy's own connect does
        try:
            return await connection
        except BaseException:
            await asyncio.shield(asyncio.to_thread(thread.join, 5.0))
            raise

    return connect


# Connection lost (class 08), server shutting down or backend killed (57P01-57P03),
# serialization failure (40001), deadlock (40P01), too many connections (53300), a lock
# not available (55P03): the same transaction may well succeed when run again.
_TRANSIENT_STATES = ("40001", "40P01", "53300", "55P03", "57P01", "57P02", "57P03")


def is_transient(exc: BaseException) -> bool:
    """True for database errors that running the whole transaction again may cure: among
    them the pool's own "QueuePool limit ... reached, connection timed out" (every
    connection busy under a flood) and a connection attempt that timed out."""
    if isinstance(exc, PoolTimeout | TimeoutError):
        return True
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return True
        state = _sqlstate(exc.orig)
        if state and (state in _TRANSIENT_STATES or state.startswith("08")):
            return True
        text = str(exc.orig).lower()
        return "connection is closed" in text or "database is locked" in text
    return isinstance(exc, DisconnectionError | ConnectionError)


def _sqlstate(orig: BaseException | None) -> str | None:
    for source in (orig, getattr(orig, "__cause__", None)):
        for attr in ("sqlstate", "pgcode"):
            value = getattr(source, attr, None)
            if isinstance(value, str):
                return value
    return None


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def masked_url(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def connection_problem(exc: BaseException) -> str | None:
    """One line saying why the database could not be reached, or None when `exc` is not
    about reaching it (a bug, which deserves its traceback)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, DBAPIError):
            orig = current.orig
            text = str(orig).strip().splitlines()[0] if str(orig).strip() else ""
            source = getattr(orig, "__cause__", None) or orig  # the driver's own error
            name = type(source).__name__ if source is not None else type(current).__name__
            state = _sqlstate(orig)
            # 08: cannot connect; 3D000: no such database; 28: refused login; 57P03: starting
            if (
                current.connection_invalidated
                or (state and state.startswith(("08", "3D", "28", "57P")))
                or "unable to open database" in text
            ):
                return f"{name}: {text}" if text else name
            return None
        if isinstance(current, OSError | TimeoutError):
            return f"{type(current).__name__}: {current}".rstrip(": ")
        name = type(current).__name__
        if name in ("InvalidCatalogNameError", "InvalidPasswordError", "CannotConnectNowError"):
            return f"{name}: {current}"
        current = current.__cause__ or current.__context__
    return None


async def ping(engine: AsyncEngine) -> None:
    """One round trip; raises when the database cannot be reached."""
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))
