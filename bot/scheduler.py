"""The clock of the running bot: APScheduler ticks; what is due lives in the database."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from time import monotonic

import structlog
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.channels.base import reply_payload
from bot.i18n import translator
from bot.metrics import TICK_SECONDS, tick_phase
from bot.notify import Notifier
from bot.runtime import Kurasi
from bot.stats_snapshot import refresh_stats
from db.outbox import NOTICE, enqueue
from db.reviews import route_unrouted
from db.users import forget_processed_updates
from handlers.features.reminders import expire_claims

log = structlog.get_logger(__name__)


async def release_stale_claims(app: Kurasi, *, claim_timeout: timedelta, language: str) -> int:
    """Return untouched claims to the queue and tell their review chats (via the outbox,
    in the same transaction, so a Telegram hiccup cannot lose the notice)."""
    now = app.clock()
    async with app.sessionmaker() as session, session.begin():
        out = await expire_claims(
            session, translator(language), now=now, claim_timeout=claim_timeout
        )
        for address, reply in out:
            await enqueue(
                session,
                channel=address.channel,
                chat_id=address.chat_id,
                kind=NOTICE,
                payload=reply_payload(reply),
                now=now,
            )
    if out and app.outbox_wake is not None:
        app.outbox_wake()
    return sum(1 for _a, r in out if r.edit_message_id is None)


async def route_waiting_cards(app: Kurasi) -> int:
    """Cards for submissions that found no review chat, once one is configured."""
    settings = app.flow_settings
    async with app.sessionmaker() as session, session.begin():
        return await route_unrouted(
            session,
            chats=settings.review_chats,
            channel=settings.review_channel,
            now=app.clock(),
        )


async def forget_old_updates(app: Kurasi, *, keep: timedelta = timedelta(days=7)) -> int:
    """Update ids are kept to spot redeliveries; after a week none will come again."""
    async with app.sessionmaker() as session, session.begin():
        return await forget_processed_updates(session, before=app.clock() - keep)


def make_scheduler(
    app: Kurasi,
    *,
    timezone: str,
    claim_timeout: timedelta,
    language: str,
    tick_seconds: float,
    notifier: Notifier | None = None,
    catalogue: Callable[[], Awaitable[object]] | None = None,
) -> AsyncIOScheduler:
    """`catalogue`: the static catalogue's incremental rebuild (catalogue.site_dir), run
    after the sends of each tick."""
    scheduler = AsyncIOScheduler(timezone=timezone)

    def wake_poster() -> None:
        if app.outbox_wake is not None:
            app.outbox_wake()

    async def tick() -> None:
        started = monotonic()
        try:
            async with tick_phase("release_claims"):
                released = await release_stale_claims(
                    app, claim_timeout=claim_timeout, language=language
                )
            if released:
                log.info("claims returned to the queue", count=released)
            async with tick_phase("forget_updates"):
                await forget_old_updates(app)
            async with tick_phase("route_cards"):
                routed = await route_waiting_cards(app)
            if routed:
                wake_poster()
            if notifier is not None:
                async with tick_phase("plan"):
                    await notifier.plan_due()
                # Sending stops in time for the next tick; what is left waits for it.
                budget = timedelta(seconds=max(tick_seconds * 0.8 - (monotonic() - started), 1))
                async with tick_phase("send"):
                    sent = await notifier.send_due(budget=budget)
                if sent:
                    log.info("reminders sent", count=sent)
            if app.exports is not None:
                async with tick_phase("exports"):
                    # Requests whose job died with another worker (its lease ran out).
                    await app.exports.resume()
            if catalogue is not None:
                async with tick_phase("catalogue"):
                    await catalogue()
            async with tick_phase("stats"):
                # The admins' figures, computed by one worker per interval for all.
                await refresh_stats(app, timezone=timezone, tick=timedelta(seconds=tick_seconds))
        except Exception:
            log.exception("scheduler tick failed")
        finally:
            TICK_SECONDS.labels("total").observe(monotonic() - started)

    # One job instance at a time; a late tick is coalesced rather than run twice.
    scheduler.add_job(
        tick, "interval", seconds=tick_seconds, max_instances=1, coalesce=True, id="tick"
    )
    return scheduler
