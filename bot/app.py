"""Composition root: build the long-lived objects once, run the chosen channel, close it all."""

from __future__ import annotations

import asyncio
import gc
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import structlog
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot import charts
from bot.broadcast import BroadcastSender
from bot.channels.base import ChannelUnavailable
from bot.channels.console import ConsoleChannel
from bot.config import Settings
from bot.export_jobs import ExportJobs
from bot.http import make_http_app
from bot.logs import log_to_file
from bot.metrics import count_round_trips, tracking_update
from bot.notify import Notifier
from bot.runtime import Clock, FloodGuard, Kurasi
from bot.scheduler import make_scheduler
from bot.sender import MessageSender
from db.base import utcnow
from db.engine import make_engine, make_sessionmaker
from db.media_store import MediaStore
from db.migrate import upgrade
from db.outbox import NOTIFICATION, release_configured

if TYPE_CHECKING:
    from bot.channels.telegram import TelegramChannel
    from bot.channels.whatsapp import WhatsAppChannel

# A channel's library is imported only when the channel is configured: aiogram's ~900
# pydantic models take ~155 MB, pywa ~14 MB, Jinja2 (the catalogue) a few: the console
# needs none of them.

log = structlog.get_logger(__name__)

MAX_RELEASED = 20  # sent before the answer; more are left to the sender's loop


class StartupError(Exception):
    """The bot cannot start: the one line to print (no traceback) and exit code 2."""


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    app: Kurasi
    telegram: TelegramChannel | None
    poster: MessageSender  # the one loop: outbox, notifications, broadcasts
    sender: BroadcastSender
    whatsapp: WhatsAppChannel | None = None

    @asynccontextmanager
    async def background(self) -> AsyncIterator[None]:
        """The one sender (outbox, notifications, broadcasts) and the scheduler's tick, for
        as long as the bot serves."""
        settings = self.settings
        notifier = Notifier(
            self.app,
            schedule=settings.reminders.schedule(),
            timezone=settings.scheduler.timezone,
            admin_ids=self.app.flow_settings.admin_ids,
            admin_channel=self.app.flow_settings.review_channel or "telegram",
            sender=MessageSender(
                self.app,
                kinds=frozenset({NOTIFICATION}),
                rate_per_minute=settings.review.group_rate_per_minute,
                language=settings.review.language,
            ),
        )
        # Notifications fall due into the outbox, broadcasts run beside it: one loop.
        self.poster.notifications = notifier
        self.poster.broadcasts = self.sender
        if self.whatsapp is not None:
            # A producer who writes reopens WhatsApp's window: what waited for it goes now,
            # before the answer to what they wrote.
            whatsapp = self.whatsapp
            whatsapp.after_inbound = notifier.send_due
            # A closed window reported late reopens an outbox row: app.outbox_wake (the
            # sender's) is told; after_reopen (awaited) stays unset.
            whatsapp.broadcast_language = settings.broadcast.whatsapp_template_language

            async def send_released(chat_id: str) -> None:
                # Notifications and outbox rows alike, oldest first, before the answer.
                await self.poster.send_chat(whatsapp.name, chat_id, limit=MAX_RELEASED)

            whatsapp.send_released = send_released
            # Messages stored before a crash or a stop are handled now, and new ones as
            # they arrive.
            whatsapp.start()
        scheduler = make_scheduler(
            self.app,
            timezone=settings.scheduler.timezone,
            claim_timeout=settings.review.claim_timeout,
            language=settings.review.language,
            tick_seconds=settings.reminders.tick.total_seconds(),
            notifier=notifier,
            catalogue=self._catalogue_tick(),
        )
        async with self.sessionmaker() as session, session.begin():
            # What waited for a channel configured since: due now.
            await release_configured(
                session, channels=sorted(self.app.channels), now=self.app.clock()
            )
        if self.app.exports is not None:
            await self.app.exports.resume()  # /ekspor requests a stop or a crash interrupted
        task = asyncio.create_task(self.poster.run())
        scheduler.start()
        try:
            yield
        finally:
            scheduler.shutdown(wait=False)
            self.poster.stop()
            await asyncio.gather(task, return_exceptions=True)
            self.poster.notifications = None
            self.poster.broadcasts = None

    def _catalogue_tick(self) -> Callable[[], Awaitable[object]] | None:
        """The static catalogue's incremental rebuild, when catalogue.site_dir is set; also
        clears inquiries' hashed addresses after a day."""
        settings = self.settings
        if settings.catalogue.site_dir is None and not settings.catalogue.enabled:
            return None
        from bot.catalogue import site
        from db.inquiries import forget_sources

        builder = (
            site(
                settings.catalogue,
                settings.catalogue.site_dir,
                MediaStore(settings.media.dir),
                settings.media.dir / "thumbs",
            )
            if settings.catalogue.site_dir is not None
            else None
        )

        async def tick() -> None:
            async with self.sessionmaker() as session, session.begin():
                await forget_sources(session, now=utcnow())
            if builder is not None:
                async with self.sessionmaker() as session:
                    await builder.build(session, now=utcnow())

        return tick

    async def close(self) -> None:
        if self.whatsapp is not None:
            await self.whatsapp.close()
        if self.app.exports is not None:
            self.app.exports.cancel()  # a restart does not wait for a minute-long export
        await self.app.drain()
        if self.telegram is not None:
            await self.telegram.bot.session.close()
        await self.engine.dispose()


async def build(settings: Settings, *, clock: Clock = utcnow, migrate: bool = True) -> Runtime:
    settings.media.dir.mkdir(parents=True, exist_ok=True)
    url = settings.database.url
    engine = make_engine(url, pool_size=settings.runtime.pool_size(url))
    if migrate:
        try:
            await upgrade(engine)
        except BaseException:
            await engine.dispose()  # before the loop ends, which may be right after this
            raise
    sessionmaker = make_sessionmaker(engine)
    count_round_trips(engine)
    review_channel = "telegram" if settings.telegram.token is not None else "console"
    app = Kurasi(
        sessionmaker=sessionmaker,
        clock=clock,
        flow_settings=replace(
            settings.flow_settings(review_channel=review_channel), charts=charts.render
        ),
        media_store=MediaStore(settings.media.dir),
        flood=FloodGuard(
            limit=settings.limits.flood_messages,
            window=timedelta(seconds=settings.limits.flood_seconds),
        ),
        db_retries=settings.runtime.db_retries,
    )
    app.track_update = tracking_update
    exports = ExportJobs(app)  # /ekspor's files, built off the update path
    app.flow_settings = replace(app.flow_settings, exports=exports)
    app.exports = exports
    telegram = None
    if settings.telegram.token is not None:
        from bot.channels.telegram import TelegramChannel, make_bot

        bot = make_bot(settings.telegram.token.get_secret_value(), settings.telegram.api_base)
        telegram = TelegramChannel(app, bot)
    whatsapp = _whatsapp(settings, app)
    poster = MessageSender(
        app,
        rate_per_minute=settings.review.group_rate_per_minute,
        language=settings.review.language,
        rubric=app.flow_settings.rubric,
    )
    app.outbox_wake = poster.wake
    sender = make_sender(settings, app, telegram)
    app.after_broadcast = sender.wake
    return Runtime(settings, engine, sessionmaker, app, telegram, poster, sender, whatsapp)


def _whatsapp(settings: Settings, app: Kurasi) -> WhatsAppChannel | None:
    wa = settings.whatsapp
    if not wa.enabled or wa.token is None or wa.phone_number_id is None:
        return None
    if wa.app_secret is None or wa.verify_token is None:
        raise SystemExit("config: whatsapp.app_secret and whatsapp.verify_token are required")
    from bot.channels.whatsapp import Template, WhatsAppChannel, make_client

    client, session = make_client(
        phone_number_id=wa.phone_number_id,
        token=wa.token.get_secret_value(),
        api_version=wa.api_version,
        graph_api_base=wa.graph_api_base,
    )
    return WhatsAppChannel(
        app,
        client,
        session,
        app_secret=wa.app_secret.get_secret_value(),
        verify_token=wa.verify_token.get_secret_value(),
        messages_per_second=wa.messages_per_second,
        workers=settings.runtime.concurrency(settings.database.url),
        templates={
            kind: Template(t.name, t.language, tuple(t.parameters))
            for kind, t in wa.templates.items()
        },
    )


def make_sender(
    settings: Settings, app: Kurasi, telegram: TelegramChannel | None, **overrides: Any
) -> BroadcastSender:
    """The broadcast sender as configured (the bot's, or a `kurasi broadcast work` worker)."""
    b = settings.broadcast
    announcers: dict[str, Any] = {}
    if telegram is not None:
        from bot.channels.telegram_announce import TelegramAnnouncer

        announcers["telegram"] = TelegramAnnouncer(telegram.bot)
    options: dict[str, Any] = {
        "telegram_rate": b.telegram_rate,
        "paid": b.paid,
        "paid_rate": b.paid_rate,
        "whatsapp_template": b.whatsapp_template,
        "max_attempts": b.max_attempts,
        "lease": b.lease,
        "schedule": settings.reminders.schedule(),
        "timezone": settings.scheduler.timezone,
        "announcers": announcers,
    }
    return BroadcastSender(app, **{**options, **overrides})


class Stop:
    """SIGTERM and SIGINT, caught from the first moment `serve` runs until the process
    ends: a stop asked for while starting (migrations, reaching Telegram) ends the start
    cleanly, and a second signal during the shutdown does not kill it half-way (exit 0
    either way, never death by the signal)."""

    def __init__(self) -> None:
        self.event = asyncio.Event()
        self.loop = asyncio.get_running_loop()
        self.installed: list[signal.Signals] = []
        for sig in (signal.SIGINT, signal.SIGTERM):
            with suppress(NotImplementedError, RuntimeError):
                self.loop.add_signal_handler(sig, self.set)
                self.installed.append(sig)

    def set(self) -> None:
        if self.event.is_set():
            log.info("already stopping")
        self.event.set()

    def is_set(self) -> bool:
        return self.event.is_set()

    async def wait(self) -> None:
        await self.event.wait()

    def release(self) -> None:
        """Back to Python's own handling (the console reads Ctrl-C as KeyboardInterrupt)."""
        for sig in self.installed:
            with suppress(NotImplementedError, RuntimeError):
                self.loop.remove_signal_handler(sig)
        self.installed.clear()


async def serve(settings: Settings) -> None:
    stop = Stop()
    try:
        await _serve(settings, stop)
    finally:
        stop.release()


async def _serve(settings: Settings, stop: Stop) -> None:
    runtime = await build(settings)
    # What start-up made (aiogram's ~900 pydantic models, SQLAlchemy's mappers) lives as
    # long as the process. Left to the collector, every full collection walks all of it
    # (~140 ms, a pause in every answer in flight); frozen, it is never walked again.
    gc.collect()
    gc.freeze()
    try:
        if stop.is_set():
            log.info("stopped while starting")
            return
        if runtime.telegram is None and runtime.whatsapp is not None:
            log.info("whatsapp only: serving its webhook")
            async with runtime.background():
                await _serve_http_only(runtime, stop)
            return
        if runtime.telegram is None:
            stop.release()
            log.info("no telegram.token configured: starting the terminal console")
            log_to_file(settings.console.log_file)  # the chat pane is for the chat
            log.info("console started: log lines go to this file")
            console = ConsoleChannel(
                runtime.app,
                user_id=settings.console.user_id,
                display_name=settings.console.name,
                log_file=settings.console.log_file,
            )
            # The catalogue page can be looked at from the console too (catalogue.enabled).
            runner = (
                await _start_http(runtime, webhook=False)
                if settings.catalogue.enabled or settings.dashboard.enabled
                else None
            )
            try:
                async with runtime.background():
                    await console.run()
            finally:
                if runner is not None:
                    await runner.cleanup()
            return
        await _reach_telegram(runtime.telegram, settings.telegram.api_base)
        if stop.is_set():
            log.info("stopped while starting")
            return
        async with runtime.background():
            if settings.telegram.mode == "webhook":
                await _serve_webhook(runtime, stop)
            else:
                await _serve_polling(runtime, stop)
    finally:
        await runtime.close()


async def _reach_telegram(telegram: TelegramChannel, api_base: str) -> None:
    """The first calls to Telegram; failing them is a start-up error, said in one line."""
    try:
        await telegram.reach(api_base)
    except ChannelUnavailable as exc:
        raise StartupError(str(exc)) from None


async def _start_http(runtime: Runtime, *, webhook: bool) -> web.AppRunner:
    settings = runtime.settings
    secret = settings.telegram.webhook_secret
    catalogue = None
    if settings.catalogue.enabled:
        from bot.catalogue import Catalogue, rates
        from bot.catalogue_site.inquiries import InquiryForm

        store = MediaStore(settings.media.dir)
        # Thumbnails where the store finds them again to erase them (MediaStore.derived).
        catalogue = Catalogue(
            runtime.sessionmaker,
            store,
            thumbs=store.derived_dir,
            per_page=settings.catalogue.per_page,
            rates=rates(settings.catalogue),
            public_url=settings.catalogue.public_url,
            inquiries=InquiryForm(
                runtime.sessionmaker,
                settings.catalogue,
                runtime.app.flow_settings,
                clock=runtime.app.clock,
            ).handle,
        )
    dashboard = None
    if settings.dashboard.enabled:
        from bot.dashboard import Dashboard

        dashboard = Dashboard(
            runtime.sessionmaker,
            runtime.app.flow_settings,
            session_hours=settings.dashboard.session_hours,
            tick_seconds=settings.reminders.tick.total_seconds(),
            clock=runtime.app.clock,
        )
    http_app = make_http_app(
        runtime.engine,
        telegram=runtime.telegram if webhook else None,
        telegram_secret=secret.get_secret_value() if secret else None,
        whatsapp=runtime.whatsapp,
        catalogue=catalogue,
        metrics_token=(
            settings.http.metrics_token.get_secret_value() if settings.http.metrics_token else None
        ),
        concurrency=settings.runtime.concurrency(settings.database.url),
        dashboard=dashboard,
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


async def _serve_polling(runtime: Runtime, stop: Stop) -> None:
    assert runtime.telegram is not None
    runner = await _start_http(runtime, webhook=False)
    try:
        log.info("telegram long polling started")
        runtime_settings = runtime.settings.runtime
        await runtime.telegram.run_polling(
            concurrency=runtime_settings.concurrency(runtime.settings.database.url),
            shutdown_timeout=runtime_settings.shutdown_timeout.total_seconds(),
            stop=stop.event,
        )
    finally:
        await runner.cleanup()


async def _serve_http_only(runtime: Runtime, stop: Stop) -> None:
    runner = await _start_http(runtime, webhook=False)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


async def _serve_webhook(runtime: Runtime, stop: Stop) -> None:
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
        await stop.wait()
    finally:
        await runner.cleanup()
