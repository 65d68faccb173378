"""The bare aiogram echo bot bench/updates compares Kurasi with (same client, same fake API).

python -m bench.echo TOKEN API_BASE [POSTGRESQL_DSN]

With a PostgreSQL DSN it is the floor of any bot that keeps its state in the database: each
update is one asyncpg transaction of four round trips (BEGIN, record the update id, upsert
and bump the chat's step, COMMIT) before the echo. No ORM, no flow: what is left of Kurasi's
per-update database work when everything of Kurasi's own is taken away.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

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


async def main(token: str, api_base: str, dsn: str | None = None) -> None:
    bot = Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base(api_base)))
    dispatcher = Dispatcher()
    pool: Any = None
    if dsn:
        import asyncpg

        pool = await asyncpg.create_pool(dsn, min_size=10, max_size=10)
        async with pool.acquire() as conn:
            for statement in TABLES:
                await conn.execute(statement)

    async def remember(update: Update, chat: int) -> None:
        if pool is None:
            return
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute(SEEN, update.update_id)
            await conn.fetchval(STEP, chat)

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
