"""The HTTP side: health check, metrics, the Telegram and WhatsApp webhooks, the catalogue."""

from __future__ import annotations

import structlog
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.catalogue import Catalogue
from bot.channels.telegram import TelegramChannel
from bot.channels.whatsapp import WhatsAppChannel
from bot.metrics import metrics_handler
from db.engine import make_sessionmaker

log = structlog.get_logger(__name__)

TELEGRAM_WEBHOOK_PATH = "/telegram/webhook"
WHATSAPP_WEBHOOK_PATH = "/whatsapp/webhook"


def make_http_app(
    engine: AsyncEngine,
    *,
    telegram: TelegramChannel | None = None,
    telegram_secret: str | None = None,
    whatsapp: WhatsAppChannel | None = None,
    catalogue: Catalogue | None = None,
    metrics_token: str | None = None,
) -> web.Application:
    app = web.Application(client_max_size=1024 * 1024)

    async def healthz(_request: web.Request) -> web.Response:
        try:
            async with engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception as exc:  # any failure to reach the database means unhealthy
            log.warning("health check failed", error=type(exc).__name__)
            return web.json_response({"status": "unavailable", "database": "down"}, status=503)
        return web.json_response({"status": "ok", "database": "up"})

    app.router.add_get("/healthz", healthz)
    if catalogue is not None:  # the public read-only catalogue (config catalogue.enabled)
        catalogue.register(app)
    # Prometheus: loopback only, or with the bearer token (see README "Metrics").
    app.router.add_get("/metrics", metrics_handler(make_sessionmaker(engine), token=metrics_token))

    if telegram is not None:
        if not telegram_secret:
            raise ValueError("telegram.webhook_secret is required in webhook mode")
        # aiogram checks X-Telegram-Bot-Api-Secret-Token with secrets.compare_digest and
        # answers 401 otherwise. Handling before answering lets a failure be redelivered.
        SimpleRequestHandler(
            dispatcher=telegram.dispatcher,
            bot=telegram.bot,
            secret_token=telegram_secret,
            handle_in_background=False,
        ).register(app, path=TELEGRAM_WEBHOOK_PATH)
    if whatsapp is not None:
        # Meta's verify challenge, and signed POSTs answered before they are handled.
        app.router.add_get(WHATSAPP_WEBHOOK_PATH, whatsapp.verify)
        app.router.add_post(WHATSAPP_WEBHOOK_PATH, whatsapp.receive)
    return app
