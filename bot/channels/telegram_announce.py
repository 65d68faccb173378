"""Broadcast sends through aiogram: one message per call, Telegram's errors mapped to the
delivery layer's (bot.channels.base), no retrying here (the broadcast sender decides)."""

from __future__ import annotations

from typing import Any

import aiohttp
from aiogram import Bot, exceptions
from aiogram.types import FSInputFile, Message

from bot.channels.base import (
    Announced,
    Announcement,
    RateLimited,
    Rejected,
    TemporaryFailure,
    Undeliverable,
)

CAPTION_LIMIT = 1024


class TelegramAnnouncer:
    name = "telegram"

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def announce(self, chat_id: str, message: Announcement) -> Announced:
        try:
            return await self._send(int(chat_id), message)
        except exceptions.TelegramRetryAfter as exc:
            raise RateLimited(float(exc.retry_after)) from exc
        except exceptions.TelegramForbiddenError as exc:
            raise Undeliverable(str(exc)) from exc
        except (exceptions.TelegramBadRequest, exceptions.TelegramNotFound) as exc:
            raise Rejected(str(exc)) from exc
        except (
            exceptions.TelegramServerError,
            exceptions.TelegramNetworkError,
            aiohttp.ClientError,
        ) as exc:
            raise TemporaryFailure(f"{type(exc).__name__}: {exc}") from exc
        except TimeoutError as exc:
            raise TemporaryFailure("timeout") from exc
        except exceptions.TelegramAPIError as exc:
            raise TemporaryFailure(str(exc)) from exc

    async def _send(self, chat_id: int, m: Announcement) -> Announced:
        common: dict[str, Any] = {
            "chat_id": chat_id,
            "parse_mode": "HTML" if m.html else None,
            "allow_paid_broadcast": True if m.paid else None,
        }
        if m.media_kind is None:
            sent = await self.bot.send_message(text=m.text, **common)
            return Announced(str(sent.message_id))
        file: str | FSInputFile
        if m.media_id:
            file = m.media_id
        elif m.media_path:
            file = FSInputFile(m.media_path, filename=m.media_name)
        else:
            raise Rejected("the broadcast's file is missing")
        caption = m.text if len(m.text) <= CAPTION_LIMIT else None
        if m.media_kind == "photo":
            media = await self.bot.send_photo(photo=file, caption=caption, **common)
        else:
            media = await self.bot.send_document(document=file, caption=caption, **common)
        learned = None if m.media_id else _file_id(media)
        last = media
        if caption is None and m.text:
            last = await self.bot.send_message(text=m.text, **common)
        return Announced(str(last.message_id), learned)


def _file_id(message: Message) -> str | None:
    if message.photo:
        return message.photo[-1].file_id
    if message.document is not None:
        return message.document.file_id
    return None
