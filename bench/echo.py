"""The bare aiogram echo bot bench/updates compares Kurasi with (same client, same fake API).

python -m bench.echo TOKEN API_BASE [POSTGRESQL_DSN | SQLITE_FILE]

With a database it is the floor of any bot that keeps its state there: each update is one
transaction of four statements (BEGIN, record the update id, upsert and bump the chat's
step, COMMIT) before the echo, through asyncpg or aiosqlite (one connection, WAL,
synchronous=NORMAL, as Kurasi's). No ORM, no flow: what is left of Kurasi's per-update
database work when everything of Kurasi's own is taken away.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable

from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import CallbackQuery, Message, Update

TABLES = (
    "CREATE TABLE IF NOT EXISTS bench_seen (update_id bigint PRIMARY KEY)",
    "CREATE TABLE IF NOT EXISTS bench_state (chat bigint PRIMARY KEY, step int NOT NULL)",
)
SEEN = "INSERT INTO bench_seen VALUES ($1) ON CONFLICT DO NOTHING"
STEP = (
    "INSERT INTO bench_state VALUES ($1, 0) ON CONFLICT (chat) "
    "DO UPDATE SET step = bench_state.step + 1 RETURNING step"
)


Store = tuple[Callable[[int, int], Awaitable[None]], Callable[[], Awaitable[None]]]


async def postgresql(dsn: str) -> Store:
    """(remember an update, close)"""
    import asyncpg

    pool = await asyncpg.create_pool(dsn, min_size=10, max_size=10)
    async with pool.acquire() as conn:
        for statement in TABLES:
            await conn.execute(statement)

    async def remember(update_id: int, chat: int) -> None:
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute(SEEN, update_id)
            await conn.fetchval(STEP, chat)

    return remember, pool.close


async def sqlite(path: str) -> Store:
    """(remember an update, close): aiosqlite's thread keeps the process alive until closed."""
    import aiosqlite

    db = await aiosqlite.connect(path, isolation_level=None)
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "busy_timeout=30000"):
        await db.execute(f"PRAGMA {pragma}")
    for statement in TABLES:
        await db.execute(statement)
    turn = asyncio.Lock()  # one connection: transactions take turns, as in Kurasi

    async def remember(update_id: int, chat: int) -> None:
        async with turn:
            await db.execute("BEGIN IMMEDIATE")
            await db.execute(SEEN.replace("$1", "?"), (update_id,))
            async with db.execute(STEP.replace("$1", "?"), (chat,)) as cursor:
                await cursor.fetchone()
            await db.execute("COMMIT")

    return remember, db.close


async def main(token: str, api_base: str, dsn: str | None = None) -> None:
    bot = Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base(api_base)))
    dispatcher = Dispatcher()
    store = None
    if dsn:
        store = await (postgresql(dsn) if dsn.startswith("postgresql") else sqlite(dsn))
        dispatcher.shutdown.register(store[1])

    async def remember(update: Update, chat: int) -> None:
        if store is not None:
            await store[0](update.update_id, chat)

    @dispatcher.message()
    async def echo(message: Message, event_update: Update) -> None:
        await remember(event_update, message.chat.id)
        await message.answer(message.text or "?")

    @dispatcher.callback_query()
    async def pressed(query: CallbackQuery, event_update: Update) -> None:
        # As a bot moving on to its next step: stop the spinner, then say something.
        await remember(event_update, query.from_user.id)
        await query.answer()
        if query.message is not None:
            await bot.send_message(query.message.chat.id, query.data or "?")

    await dispatcher.start_polling(bot, handle_signals=True)


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
