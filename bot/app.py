"""Composition root: build the long-lived objects once, run the chosen channel, close it all."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import structlog
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.broadcast import BroadcastSender
from bot.channels.console import ConsoleChannel
from bot.channels.telegram import TelegramChannel, make_bot
from bot.channels.telegram_announce import TelegramAnnouncer
from bot.config import Settings
from bot.http import make_http_app
from bot.notify import Notifier
from bot.poster import ReviewPoster
from bot.runtime import Clock, FloodGuard, Kurasi
from bot.scheduler import make_scheduler
from db.base import utcnow
from db.engine import make_engine, make_sessionmaker
from db.media_store import MediaStore
from db.migrate import upgrade

log = structlog.get_logger(__name__)


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    app: Kurasi
    telegram: TelegramChannel | None
    poster: ReviewPoster
    sender: BroadcastSender

    @asynccontextmanager
    async def background(self) -> AsyncIterator[None]:
        """The review-card poster and the scheduler's tick, for as long as the bot serves."""
        settings = self.settings
        scheduler = make_scheduler(
            self.app,
            timezone=settings.scheduler.timezone,
            claim_timeout=settings.review.claim_timeout,
            language=settings.review.language,
            tick_seconds=settings.reminders.tick.total_seconds(),
            notifier=Notifier(
                self.app,
                schedule=settings.reminders.schedule(),
                timezone=settings.scheduler.timezone,
                admin_ids=self.app.flow_settings.admin_ids,
                admin_channel=self.app.flow_settings.review_channel or "telegram",
            ),
        )
        task = asyncio.create_task(self.poster.run())
        sending = asyncio.create_task(self.sender.run())
        scheduler.start()
        try:
            yield
        finally:
            scheduler.shutdown(wait=False)
            self.poster.stop()
            self.sender.stop()
            await asyncio.gather(task, sending, return_exceptions=True)

    async def close(self) -> None:
        await self.app.drain()
        if self.telegram is not None:
            await self.telegram.bot.session.close()
        await self.engine.dispose()


async def build(settings: Settings, *, clock: Clock = utcnow, migrate: bool = True) -> Runtime:
    settings.media.dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.database.url)
    if migrate:
        await upgrade(engine)
    sessionmaker = make_sessionmaker(engine)
    review_channel = "telegram" if settings.telegram.token is not None else "console"
    app = Kurasi(
        sessionmaker=sessionmaker,
        clock=clock,
        flow_settings=settings.flow_settings(review_channel=review_channel),
        media_store=MediaStore(settings.media.dir),
        flood=FloodGuard(
            limit=settings.limits.flood_messages,
            window=timedelta(seconds=settings.limits.flood_seconds),
        ),
    )
    telegram = None
    if settings.telegram.token is not None:
        bot = make_bot(settings.telegram.token.get_secret_value(), settings.telegram.api_base)
        telegram = TelegramChannel(app, bot)
    poster = ReviewPoster(
        app,
        rate_per_minute=settings.review.group_rate_per_minute,
        language=settings.review.language,
        rubric=app.flow_settings.rubric,
    )
    app.after_submit = poster.wake
    sender = make_sender(settings, app, telegram)
    app.after_broadcast = sender.wake
    return Runtime(settings, engine, sessionmaker, app, telegram, poster, sender)


def make_sender(
    settings: Settings, app: Kurasi, telegram: TelegramChannel | None, **overrides: Any
) -> BroadcastSender:
    """The broadcast sender as configured (the bot's, or a `kurasi broadcast work` worker)."""
    b = settings.broadcast
    options: dict[str, Any] = {
        "telegram_rate": b.telegram_rate,
        "paid": b.paid,
        "paid_rate": b.paid_rate,
        "whatsapp_template": b.whatsapp_template,
        "max_attempts": b.max_attempts,
        "lease": b.lease,
        "schedule": settings.reminders.schedule(),
        "timezone": settings.scheduler.timezone,
        "announcers": {"telegram": TelegramAnnouncer(telegram.bot)} if telegram else {},
    }
    return BroadcastSender(app, **{**options, **overrides})


async def serve(settings: Settings) -> None:
    runtime = await build(settings)
    try:
        if runtime.telegram is None:
            log.info("no telegram.token configured: starting the terminal console")
            console = ConsoleChannel(
                runtime.app,
                user_id=settings.console.user_id,
                display_name=settings.console.name,
            )
            async with runtime.background():
                await console.run()
            return
        await runtime.telegram.register_commands()
        async with runtime.background():
            if settings.telegram.mode == "webhook":
                await _serve_webhook(runtime)
            else:
                await _serve_polling(runtime)
    finally:
        await runtime.close()


async def _start_http(runtime: Runtime, *, webhook: bool) -> web.AppRunner:
    settings = runtime.settings
    secret = settings.telegram.webhook_secret
    http_app = make_http_app(
        runtime.engine,
        telegram=runtime.telegram if webhook else None,
        telegram_secret=secret.get_secret_value() if secret else None,
    )
    runner = web.AppRunner(http_app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, settings.http.host, settings.http.port).start()
    log.info("http listening", host=settings.http.host, port=settings.http.port)
    return runner


async def _serve_polling(runtime: Runtime) -> None:
    assert runtime.telegram is not None
    runner = await _start_http(runtime, webhook=False)
    try:
        log.info("telegram long polling started")
        await runtime.telegram.run_polling()
    finally:
        await runner.cleanup()


async def _serve_webhook(runtime: Runtime) -> None:
    assert runtime.telegram is not None
    settings = runtime.settings.telegram
    if not settings.webhook_url or settings.webhook_secret is None:
        raise SystemExit("config: telegram.webhook_url and telegram.webhook_secret are required")
    runner = await _start_http(runtime, webhook=True)
    try:
        await runtime.telegram.bot.set_webhook(
            settings.webhook_url,
            secret_token=settings.webhook_secret.get_secret_value(),
            allowed_updates=runtime.telegram.allowed_updates(),
        )
        log.info("telegram webhook set")
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        await stop.wait()
    finally:
        await runner.cleanup()
