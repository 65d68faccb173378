"""Database round trips per update, counted on the engine, so the figure cannot creep back up."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.metrics import count_round_trips, tracking_update
from bot.runtime import Kurasi
from db.models import User
from handlers.kit.events import ButtonPress, Command, Text
from tests.handlers.test_registration import register, start_registration
from tests.support import Chat, FakeClock


@asynccontextmanager
async def counted(engine: AsyncEngine) -> AsyncIterator[list[str]]:
    """The statements sent while inside, plus the round trips the metrics counted."""
    count_round_trips(engine)
    statements: list[str] = []

    def seen(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement.split("\n", 1)[0][:80])

    event.listen(engine.sync_engine, "before_cursor_execute", seen)
    for name in ("begin", "commit", "rollback"):
        event.listen(engine.sync_engine, name, lambda *_a, n=name: statements.append(n.upper()))
    try:
        async with tracking_update("test", None) as stats:
            yield statements
        statements.append(f"= {stats.round_trips} round trips, {stats.outcome}")
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", seen)


def trips(statements: list[str]) -> int:
    return int(statements[-1].split()[1])


@pytest.fixture
def is_postgresql(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "postgresql"


async def test_an_update_from_a_known_user_is_one_statement_between_begin_and_commit(
    app: Kurasi, chat: Chat, engine: AsyncEngine, is_postgresql: bool
) -> None:
    await chat.send("/bahasa")
    async with counted(engine) as statements:
        # A known user, nothing of theirs changes (the outbox sender is not part of it;
        # /bahasa reads nothing more: /bantuan now also looks up the reader's roles).
        await chat.send_event(Command("bahasa"), drain=False)
    # PostgreSQL: BEGIN, the one statement that records the update, refreshes the user
    # and locks the conversation (and loads their business), COMMIT. The old code took 9.
    # SQLite: BEGIN IMMEDIATE, mark the update, load the three rows, COMMIT.
    assert trips(statements) == (3 if is_postgresql else 4), statements


async def test_a_flow_step_costs_only_its_own_writes(
    app: Kurasi, chat: Chat, engine: AsyncEngine, is_postgresql: bool
) -> None:
    await start_registration(chat)
    async with counted(engine) as statements:
        # The business name: one answer saved.
        await chat.send_event(Text("Keripik Tempe Bu Tini"), drain=False)
    # BEGIN, the update's statement, UPDATE businesses (the answer), COMMIT: the next step
    # is "the first unanswered field", so the conversation row is not written. The old
    # code took 11 (the business was read twice), then 5 (the step was stored each time).
    assert trips(statements) <= (4 if is_postgresql else 5), statements


async def test_a_pressed_answer_in_the_product_form_reads_the_product_once(
    app: Kurasi, chat: Chat, engine: AsyncEngine, is_postgresql: bool
) -> None:
    await register(chat)
    await chat.send("/produk_baru")
    await chat.send("Keripik Tempe Original")
    async with counted(engine) as statements:
        # The sector, pressed: the button's step is checked against the product as loaded.
        await chat.send_event(ButtonPress(chat.button("⭐")), drain=False)
    # BEGIN, the update's statement, the product with its photos, UPDATE products, COMMIT:
    # the product is read once for the step, not once per look at it (16 before, then 6
    # with the photos read apart).
    assert trips(statements) <= (5 if is_postgresql else 7), statements


async def test_a_redelivered_update_costs_one_statement_and_changes_nothing(
    app: Kurasi, chat: Chat, engine: AsyncEngine, is_postgresql: bool
) -> None:
    await start_registration(chat)
    incoming = chat.incoming(chat_text("Keripik"), update_key="redelivered-1")
    await app.handle(incoming)
    async with counted(engine) as statements:
        assert await app.handle(incoming) == []
    assert statements[-1].endswith("duplicate")
    assert trips(statements) <= 3, statements  # BEGIN, the statement, COMMIT


async def test_last_inbound_at_is_written_at_most_once_a_minute(
    app: Kurasi, chat: Chat, clock: FakeClock, sessionmaker, engine: AsyncEngine
) -> None:
    await chat.send("/bantuan")
    first = await inbound(sessionmaker, chat.user_id)
    clock.advance(seconds=30)
    await chat.send("/bantuan")
    assert await inbound(sessionmaker, chat.user_id) == first
    clock.advance(seconds=31)
    await chat.send("/bantuan")
    assert await inbound(sessionmaker, chat.user_id) == clock.now


async def test_name_changes_and_unblocking_still_reach_the_user_row(
    app: Kurasi, chat: Chat, clock: FakeClock, sessionmaker
) -> None:
    await chat.send("/bantuan")
    async with sessionmaker() as session, session.begin():
        user = await session.scalar(select(User).where(User.external_id == chat.user_id))
        user.blocked_at = clock.now
    chat.name, chat.username = "Tini R.", "tini_r"
    clock.advance(seconds=5)
    await chat.send("/bantuan")
    async with sessionmaker() as session:
        user = await session.scalar(select(User).where(User.external_id == chat.user_id))
    assert (user.display_name, user.username, user.blocked_at) == ("Tini R.", "tini_r", None)


async def inbound(sessionmaker, external_id: str):  # type: ignore[no-untyped-def]
    async with sessionmaker() as session:
        return await session.scalar(
            select(User.last_inbound_at).where(User.external_id == external_id)
        )


def chat_text(text: str):  # type: ignore[no-untyped-def]
    from handlers.kit.events import Text

    return Text(text=text)
