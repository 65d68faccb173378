"""The HTTP side: health check and the Telegram webhook (WhatsApp's joins here later)."""

from __future__ import annotations

import asyncio
import hmac
import json
from typing import Any

import structlog
from aiogram import Bot
from aiogram.types import Update
from aiohttp import web
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.channels.telegram import TelegramChannel
from bot.runtime import NotCommitted
from db.engine import ping

log = structlog.get_logger(__name__)

TELEGRAM_WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 (a header name)


def make_http_app(
    engine: AsyncEngine,
    *,
    telegram: TelegramChannel | None = None,
    telegram_secret: str | None = None,
    concurrency: int = 10,
) -> web.Application:
    app = web.Application(client_max_size=1024 * 1024)

    async def healthz(_request: web.Request) -> web.Response:
        try:
            await ping(engine)
        except Exception as exc:  # any failure to reach the database means unhealthy
            log.warning("health check failed", error=type(exc).__name__)
            return web.json_response({"status": "unavailable", "database": "down"}, status=503)
        return web.json_response({"status": "ok", "database": "up"})

    app.router.add_get("/healthz", healthz)

    if telegram is not None:
        if not telegram_secret:
            raise ValueError("telegram.webhook_secret is required in webhook mode")
        app.router.add_post(
            TELEGRAM_WEBHOOK_PATH, _telegram_webhook(telegram, telegram_secret, concurrency)
        )
    return app


def _telegram_webhook(telegram: TelegramChannel, secret: str, concurrency: int) -> Any:
    expected = secret.encode()
    # Telegram opens at most setWebhook's max_connections (set to the same number); this
    # holds any extra request before it touches the database.
    slots = asyncio.Semaphore(concurrency)

    async def handle(request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, expected):
            return web.Response(status=401, text="unauthorized")
        body = await request.read()
        update, problem = _parse_update(body, telegram.bot)
        if update is None:
            # Telegram would redeliver a 5xx for hours; a body that is no Update never
            # becomes one. Logged briefly: no body (it may hold personal data).
            log.warning("webhook body is not an update", reason=problem, size=len(body))
            return web.Response(status=400, text=f"not a Telegram update: {problem}")
        async with slots:
            try:
                await telegram.feed(update)
            except NotCommitted:
                # Not recorded as handled: Telegram delivers it again later.
                return web.Response(status=503, text="try again")
            except Exception:
                # Past the transaction (committed, or the person got an apology).
                log.exception("update handling failed", update=update.update_id)
        return web.Response(status=200)

    return handle


def _parse_update(body: bytes, bot: Bot) -> tuple[Update | None, str]:
    try:
        data = json.loads(body)
    except RecursionError:
        return None, "nested too deeply"
    except ValueError:
        return None, "not JSON"
    if not isinstance(data, dict):
        return None, f"JSON {type(data).__name__}, not an object"
    update_id = data.get("update_id")
    if not isinstance(update_id, int) or isinstance(update_id, bool):
        return None, "no integer update_id"
    try:
        return Update.model_validate(data, context={"bot": bot}), ""
    except (ValidationError, RecursionError) as exc:
        count = exc.error_count() if isinstance(exc, ValidationError) else 1
        return None, f"invalid update ({count} problems)"
