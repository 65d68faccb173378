"""The one path every update takes: dedupe, load state, run the flow, commit, then reply."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import handlers
from bot.i18n import translator
from db.base import utcnow
from db.users import lock_conversation, mark_update_processed, upsert_user
from handlers.context import DEFAULT_LANGUAGE, LANGUAGES, Context, FlowSettings
from handlers.events import Incoming, Reply

if TYPE_CHECKING:
    from bot.channels.base import Channel

log = structlog.get_logger(__name__)

Clock = Callable[[], datetime]


class Kurasi:
    def __init__(
        self,
        *,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: Clock = utcnow,
        flow_settings: FlowSettings | None = None,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.clock = clock
        self.flow_settings = flow_settings or FlowSettings()
        self.channels: dict[str, Channel] = {}

    def add_channel(self, channel: Channel) -> None:
        self.channels[channel.name] = channel

    async def handle(self, incoming: Incoming, channel: Channel | None = None) -> list[Reply]:
        """Run one update in one transaction; return the replies, already committed."""
        sender = incoming.sender
        bound = log.bind(channel=sender.channel, update=incoming.update_key)
        language = _hint(incoming)
        try:
            async with self.sessionmaker() as session, session.begin():
                now = self.clock()
                if incoming.update_key is not None and not await mark_update_processed(
                    session, channel=sender.channel, update_key=incoming.update_key, now=now
                ):
                    bound.info("duplicate update ignored")
                    return []
                user = await upsert_user(
                    session,
                    channel=sender.channel,
                    external_id=sender.external_id,
                    display_name=sender.display_name,
                    username=sender.username,
                    now=now,
                )
                conversation = await lock_conversation(session, user_id=user.id)
                ctx = Context(
                    session=session,
                    incoming=incoming,
                    user=user,
                    conversation=conversation,
                    translator=translator,
                    now=now,
                    settings=self.flow_settings,
                    fetch_media=channel.fetch_media if channel is not None else None,
                )
                language = ctx.language
                await handlers.dispatch(ctx)
                return ctx.replies
        except Exception:
            # The transaction rolled back, the update stays unmarked; the person is told.
            bound.exception("update failed")
            t = translator(language)
            return [
                Reply(t("Sorry, something went wrong on our side. Please try again in a moment."))
            ]

    async def process(self, incoming: Incoming, channel: Channel) -> None:
        """Handle an update and send its replies: to the sender's chat, or where they say."""
        replies = await self.handle(incoming, channel)
        here: list[Reply] = []
        elsewhere: dict[tuple[str, str], list[Reply]] = defaultdict(list)
        for reply in replies:
            if reply.to is None:
                here.append(reply)
            else:
                elsewhere[(reply.to.channel, reply.to.chat_id)].append(reply)
        await channel.deliver(incoming.chat_id, here, origin=incoming)
        for (channel_name, chat_id), batch in elsewhere.items():
            target = self.channels.get(channel_name)
            if target is None:
                log.warning("no channel for reply", channel=channel_name)
                continue
            await target.deliver(chat_id, batch)


def _hint(incoming: Incoming) -> str:
    hint = (incoming.sender.language_hint or "")[:2].lower()
    return hint if hint in LANGUAGES else DEFAULT_LANGUAGE
