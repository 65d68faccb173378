"""Transient database errors rerun the whole update; a bug in a flow still gets an
apology; bound SQL parameters never reach an error message."""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

import handlers.routes
from bot.runtime import Kurasi, NotCommitted
from db.engine import is_transient, make_engine, make_sessionmaker
from handlers.kit.events import Command, Incoming, Sender
from tests.support import RecordingChannel

POOL_FULL = "QueuePool limit of size 15 overflow 5 reached, connection timed out, timeout 30.00"


class _Orig(Exception):
    def __init__(self, message: str, sqlstate: str | None = None) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate


def _error(sqlstate: str | None = None, *, invalidated: bool = False) -> DBAPIError:
    return OperationalError(
        "SELECT 1", {}, _Orig("boom", sqlstate), connection_invalidated=invalidated
    )


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (_error(invalidated=True), True),
        (_error("40001"), True),  # serialization failure
        (_error("40P01"), True),  # deadlock
        (_error("57P01"), True),  # backend terminated
        (_error("08006"), True),  # connection failure
        (_error("23505"), False),  # unique violation: a bug, not a blip
        (_error("22001"), False),  # value too long
        (ValueError("x"), False),
        (ConnectionResetError(), True),
        (_error("53300"), True),  # too many connections
        (PoolTimeout(POOL_FULL), True),  # every connection of the pool busy
        (TimeoutError(), True),  # connecting timed out
    ],
)
def test_which_errors_are_transient(error: BaseException, transient: bool) -> None:
    assert is_transient(error) is transient


def _incoming(update_key: str) -> Incoming:
    return Incoming(
        sender=Sender(channel="test", external_id="7001", display_name="Tini"),
        chat_id="7001",
        event=Command("bantuan"),
        update_key=update_key,
    )


class Flaky:
    """A sessionmaker whose first `failures` transactions die like a killed connection
    (or with `error`)."""

    def __init__(self, real: Any, failures: int, error: Exception | None = None) -> None:
        self.real = real
        self.failures = failures
        self.error = error or _error("57P01")
        self.opened = 0

    def __call__(self) -> Any:
        self.opened += 1
        if self.opened <= self.failures:
            return _failing(self.error)
        return self.real()


@asynccontextmanager
async def _failing_session(error: Exception) -> Any:
    raise error
    yield


class _failing:
    def __init__(self, error: Exception) -> None:
        self.error = error

    async def __aenter__(self) -> Any:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    def begin(self) -> Any:
        return _failing_session(self.error)


async def test_a_transient_error_reruns_the_update_once_committed(
    app: Kurasi, channel: RecordingChannel, sessionmaker
) -> None:
    app.sessionmaker = Flaky(sessionmaker, failures=2)  # type: ignore[assignment]
    await app.process(_incoming("u1"), channel, redeliverable=True)
    assert channel.sent and "gangguan" not in channel.sent[-1][1].text.lower()
    # Handled exactly once: the same update again is a redelivery.
    before = len(channel.sent)
    await app.process(_incoming("u1"), channel, redeliverable=True)
    assert len(channel.sent) == before


async def test_when_the_database_stays_down_the_update_is_left_for_redelivery(
    app: Kurasi, channel: RecordingChannel, sessionmaker
) -> None:
    app.sessionmaker = Flaky(sessionmaker, failures=100)  # type: ignore[assignment]
    with pytest.raises(NotCommitted):
        await app.process(_incoming("u2"), channel, redeliverable=True)
    assert not channel.sent  # no "try again" to a person whose message will come again
    # The console (nothing redelivers there) apologises instead.
    await app.process(_incoming("u3"), channel)
    assert "gangguan" in channel.sent[-1][1].text.lower()


async def test_an_exhausted_pool_is_waited_out_never_an_apology(
    app: Kurasi, channel: RecordingChannel, sessionmaker
) -> None:
    app.sessionmaker = Flaky(sessionmaker, failures=2, error=PoolTimeout(POOL_FULL))  # type: ignore[assignment]
    await app.process(_incoming("u5"), channel, redeliverable=True)
    assert channel.sent and "gangguan" not in channel.sent[-1][1].text.lower()
    # Exhausted for longer than the update's own retries: left for redelivery, no apology.
    app.sessionmaker = Flaky(sessionmaker, failures=100, error=PoolTimeout(POOL_FULL))  # type: ignore[assignment]
    before = len(channel.sent)
    with pytest.raises(NotCommitted):
        await app.process(_incoming("u6"), channel, redeliverable=True)
    assert len(channel.sent) == before


async def test_a_real_pool_held_by_others_for_a_while_delays_the_update_only(
    database_url: str, channel: RecordingChannel, sessionmaker
) -> None:
    # One connection, a short wait for it: SQLAlchemy's own "QueuePool limit ... reached".
    engine = make_engine(database_url, pool_size=1, max_overflow=0, pool_timeout=0.2)
    app = Kurasi(sessionmaker=make_sessionmaker(engine), db_retries=3)
    try:
        async with engine.connect() as held:
            await held.execute(text("SELECT 1"))
            update = asyncio.create_task(app.process(_incoming("u7"), channel, redeliverable=True))
            await asyncio.sleep(0.5)  # past the pool's timeout at least once
            assert not update.done()
        await update
    finally:
        await engine.dispose()
    assert channel.sent and "gangguan" not in channel.sent[-1][1].text.lower()


async def test_a_bug_in_a_flow_gets_an_apology_not_a_redelivery(
    app: Kurasi, channel: RecordingChannel, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(_ctx: Any) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(handlers.routes, "dispatch", broken)
    await app.process(_incoming("u4"), channel, redeliverable=True)
    assert "gangguan" in channel.sent[-1][1].text.lower()


async def test_bound_parameters_never_reach_error_messages(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        async with engine.connect() as conn:
            with pytest.raises(DBAPIError) as caught:
                await conn.execute(
                    text("SELECT * FROM no_such_table WHERE name = :name"),
                    {"name": "Tini Rahayu 0812345"},
                )
    finally:
        await engine.dispose()
    assert "Tini Rahayu" not in str(caught.value)
    assert "hidden due to hide_parameters" in str(caught.value)
