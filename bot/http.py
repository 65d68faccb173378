"""The HTTP side: health check, metrics, the Telegram and WhatsApp webhooks, the catalogue."""

from __future__ import annotations

import asyncio
import hmac
from typing import TYPE_CHECKING, Any

import structlog
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.metrics import metrics_handler
from bot.runtime import NotCommitted
from db.engine import make_sessionmaker, ping

if TYPE_CHECKING:  # each imported by whoever configured it (see bot.app)
    from bot.catalogue import Catalogue
    from bot.channels.telegram import TelegramChannel
    from bot.channels.whatsapp import WhatsAppChannel
    from bot.dashboard import Dashboard

log = structlog.get_logger(__name__)

TELEGRAM_WEBHOOK_PATH = "/telegram/webhook"
WHATSAPP_WEBHOOK_PATH = "/whatsapp/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 (a header name)


def make_http_app(
    engine: AsyncEngine,
    *,
    telegram: TelegramChannel | None = None,
    telegram_secret: str | None = None,
    whatsapp: WhatsAppChannel | None = None,
    catalogue: Catalogue | None = None,
    metrics_token: str | None = None,
    concurrency: int = 10,
    dashboard: Dashboard | None = None,
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
    if catalogue is not None:  # the public read-only catalogue (config catalogue.enabled)
        catalogue.register(app)
    if dashboard is not None:  # the admins' dashboard /dasbor (config dashboard.enabled)
        dashboard.register(app)
    # Prometheus: loopback only, or with the bearer token (see README "Metrics").
    app.router.add_get("/metrics", metrics_handler(make_sessionmaker(engine), token=metrics_token))

    if telegram is not None:
        if not telegram_secret:
            raise ValueError("telegram.webhook_secret is required in webhook mode")
        app.router.add_post(
            TELEGRAM_WEBHOOK_PATH, _telegram_webhook(telegram, telegram_secret, concurrency)
        )
    if whatsapp is not None:
        # Meta's verify challenge, and signed POSTs answered before they are handled.
        app.router.add_get(WHATSAPP_WEBHOOK_PATH, whatsapp.verify)
        app.router.add_post(WHATSAPP_WEBHOOK_PATH, whatsapp.receive)
    return app


def _telegram_webhook(telegram: TelegramChannel, secret: str, concurrency: int) -> Any:
    from bot.channels.telegram import parse_update

    expected = secret.encode()
    # Telegram opens at most setWebhook's max_connections (set to the same number); this
    # holds any extra request before it touches the database.
    slots = asyncio.Semaphore(concurrency)

    async def handle(request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, expected):
            return web.Response(status=401, text="unauthorized")
        body = await request.read()
        update, problem = parse_update(body, telegram.bot)
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
