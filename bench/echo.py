"""The bare aiogram echo bot bench/updates compares Kurasi with (same client, same fake API).

python -m bench.echo TOKEN API_BASE
"""

from __future__ import annotations

import asyncio
import sys

from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import CallbackQuery, Message


async def main(token: str, api_base: str) -> None:
    bot = Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base(api_base)))
    dispatcher = Dispatcher()

    @dispatcher.message()
    async def echo(message: Message) -> None:
        await message.answer(message.text or "?")

    @dispatcher.callback_query()
    async def pressed(query: CallbackQuery) -> None:
        # As a bot moving on to its next step: stop the spinner, then say something.
        await query.answer()
        if query.message is not None:
            await bot.send_message(query.message.chat.id, query.data or "?")

    await dispatcher.start_polling(bot, handle_signals=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
