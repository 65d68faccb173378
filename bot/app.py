"""Composition root: build the long-lived objects once, run the chosen channel, close it all."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from datetime import timedelta

import structlog
from aiogram.exceptions import TelegramAPIError, TelegramUnauthorizedError
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.channels.console import ConsoleChannel
from bot.channels.telegram import TelegramChannel, make_bot
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


class StartupError(Exception):
    """The bot cannot start: the one line to print (no traceback) and exit code 2."""


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    app: Kurasi
    telegram: TelegramChannel | None
    poster: ReviewPoster

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
        scheduler.start()
        try:
            yield
        finally:
            scheduler.shutdown(wait=False)
            self.poster.stop()
            await asyncio.gather(task, return_exceptions=True)

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
        db_retries=settings.runtime.db_retries,
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
    app.outbox_wake = poster.wake
    return Runtime(settings, engine, sessionmaker, app, telegram, poster)


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
        await _reach_telegram(runtime.telegram, settings.telegram.api_base)
        async with runtime.background():
            if settings.telegram.mode == "webhook":
                await _serve_webhook(runtime)
            else:
                await _serve_polling(runtime)
    finally:
        await runtime.close()


async def _reach_telegram(telegram: TelegramChannel, api_base: str) -> None:
    """The first calls to Telegram; failing them is a start-up error, said in one line."""
    try:
        await telegram.register_commands()
    except TelegramUnauthorizedError:
        raise StartupError(f"telegram {api_base}: the bot token was refused") from None
    except (TelegramAPIError, OSError, TimeoutError) as exc:
        raise StartupError(
            f"telegram {api_base} unreachable: {type(exc).__name__}: {exc}"
        ) from None


async def _start_http(runtime: Runtime, *, webhook: bool) -> web.AppRunner:
    settings = runtime.settings
    secret = settings.telegram.webhook_secret
    http_app = make_http_app(
        runtime.engine,
        telegram=runtime.telegram if webhook else None,
        telegram_secret=secret.get_secret_value() if secret else None,
        concurrency=settings.runtime.concurrency(settings.database.url),
    )
    # On shutdown, requests in flight get this long to finish.
    runner = web.AppRunner(
        http_app,
        access_log=None,
        shutdown_timeout=settings.runtime.shutdown_timeout.total_seconds(),
    )
    await runner.setup()
    await web.TCPSite(runner, settings.http.host, settings.http.port).start()
    log.info("http listening", host=settings.http.host, port=settings.http.port)
    return runner


async def _serve_polling(runtime: Runtime) -> None:
    assert runtime.telegram is not None
    runner = await _start_http(runtime, webhook=False)
    try:
        log.info("telegram long polling started")
        runtime_settings = runtime.settings.runtime
        await runtime.telegram.run_polling(
            concurrency=runtime_settings.concurrency(runtime.settings.database.url),
            shutdown_timeout=runtime_settings.shutdown_timeout.total_seconds(),
        )
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
            max_connections=runtime.settings.runtime.concurrency(runtime.settings.database.url),
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
