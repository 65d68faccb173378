"""The clock of the running bot: APScheduler ticks; what is due lives in the database."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from time import monotonic

import structlog
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.i18n import translator
from bot.metrics import TICK_SECONDS, tick_phase
from bot.notify import Notifier
from bot.runtime import Kurasi
from db.reviews import route_unrouted
from db.users import forget_processed_updates
from handlers.events import Reply
from handlers.reminders import expire_claims

log = structlog.get_logger(__name__)


async def release_stale_claims(app: Kurasi, *, claim_timeout: timedelta, language: str) -> int:
    """Return untouched claims to the queue and tell their review chats."""
    async with app.sessionmaker() as session, session.begin():
        out = await expire_claims(
            session, translator(language), now=app.clock(), claim_timeout=claim_timeout
        )
    batches: dict[tuple[str, str], list[Reply]] = defaultdict(list)
    for address, reply in out:
        batches[(address.channel, address.chat_id)].append(reply)
    for (channel_name, chat_id), replies in batches.items():
        channel = app.channels.get(channel_name)
        if channel is not None:
            await channel.deliver(chat_id, replies)
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
) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(timezone=timezone)

    def wake_poster() -> None:
        if app.after_submit is not None:
            app.after_submit()

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
        except Exception:
            log.exception("scheduler tick failed")
        finally:
            TICK_SECONDS.labels("total").observe(monotonic() - started)

    # One job instance at a time; a late tick is coalesced rather than run twice.
    scheduler.add_job(
        tick, "interval", seconds=tick_seconds, max_instances=1, coalesce=True, id="tick"
    )
    return scheduler
