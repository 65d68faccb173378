"""The clock of the running bot: APScheduler ticks; what is due lives in the database."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

import structlog
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.i18n import translator
from bot.notify import Notifier
from bot.runtime import Kurasi
from db.reviews import route_unrouted
from db.users import forget_processed_updates
from handlers.events import Reply
from handlers.review import expire_claims

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
        if app.outbox_wake is not None:
            app.outbox_wake()

    async def tick() -> None:
        try:
            released = await release_stale_claims(
                app, claim_timeout=claim_timeout, language=language
            )
            if released:
                log.info("claims returned to the queue", count=released)
            await forget_old_updates(app)
            if await route_waiting_cards(app):
                wake_poster()
            if notifier is not None:
                sent = await notifier.tick()
                if sent:
                    log.info("reminders sent", count=sent)
        except Exception:
            log.exception("scheduler tick failed")

    # One job instance at a time; a late tick is coalesced rather than run twice.
    scheduler.add_job(
        tick, "interval", seconds=tick_seconds, max_instances=1, coalesce=True, id="tick"
    )
    return scheduler
