"""Posts queued review cards into their chats, paced to the chat's budget, in order; and
takes an erased producer's cards back out of them (outbox kind "erase").

Telegram lets a bot send about 20 messages a minute into one group. The budget lives in the
database (chat_budgets), so every worker shares it; the budget row's lock makes one worker
at a time the sender for a chat, which also keeps that chat's cards in submission order.
aiolimiter would pace one process only, so it is not used here.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from datetime import datetime

import structlog
from sqlalchemy import func, select

from bot.channels.base import Channel
from bot.i18n import translator
from bot.runtime import Kurasi
from db.models import ChatBudget, OutboxItem, OutboxKind
from db.reviews import get_review
from db.sql import insert_ignore
from handlers.context import Translate
from handlers.review.card import card_replies
from handlers.rubric import Rubric

log = structlog.get_logger(__name__)

WINDOW = 60.0  # seconds the per-chat rate is counted over
MAX_ATTEMPTS = 5


class ReviewPoster:
    def __init__(
        self,
        app: Kurasi,
        *,
        rate_per_minute: int = 20,
        language: str = "id",
        rubric: Rubric | None = None,
        clock: Callable[[], datetime] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        idle_seconds: float = 5.0,
    ) -> None:
        self.app = app
        self.rate = rate_per_minute
        self.language = language
        self.rubric = rubric or Rubric()
        self.clock = clock or app.clock
        self.sleep = sleep
        self.idle_seconds = idle_seconds
        self._wake = asyncio.Event()
        self._stopping = False

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()

    async def run(self) -> None:
        while not self._stopping:
            try:
                wait = await self.send_next()
            except Exception:
                log.exception("review poster failed; retrying")
                wait = self.idle_seconds
            if wait == 0:
                continue
            if wait is None:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.idle_seconds)
            else:
                await self.sleep(wait)

    async def run_until_idle(self) -> int:
        """Send everything queued, waiting out budgets with `sleep`; returns cards sent."""
        sent = 0
        while (wait := await self.send_next()) is not None:
            if wait == 0:
                sent += 1
            else:
                await self.sleep(wait)
        return sent

    async def send_next(self) -> float | None:
        """Send one card if some chat's budget allows: 0 when sent, else seconds to wait,
        None when nothing is queued."""
        t = translator(self.language)
        async with self.app.sessionmaker() as session, session.begin():
            chats = (
                await session.execute(
                    select(OutboxItem.channel, OutboxItem.chat_id)
                    .where(OutboxItem.sent_at.is_(None), OutboxItem.failed_at.is_(None))
                    .group_by(OutboxItem.channel, OutboxItem.chat_id)
                    .order_by(func.min(OutboxItem.id))
                )
            ).all()
            soonest: float | None = None
            for channel_name, chat_id in chats:
                await insert_ignore(
                    session,
                    ChatBudget,
                    {"channel": channel_name, "chat_id": chat_id, "sent": []},
                    conflict=["channel", "chat_id"],
                )
                budget = await session.scalar(
                    select(ChatBudget)
                    .where(ChatBudget.channel == channel_name, ChatBudget.chat_id == chat_id)
                    .with_for_update(skip_locked=True)
                )
                if budget is None:
                    continue  # another worker is sending into this chat right now
                item = await session.scalar(
                    select(OutboxItem)
                    .where(
                        OutboxItem.channel == channel_name,
                        OutboxItem.chat_id == chat_id,
                        OutboxItem.sent_at.is_(None),
                        OutboxItem.failed_at.is_(None),
                    )
                    .order_by(OutboxItem.id)
                    .limit(1)
                )
                if item is None:
                    continue
                wait = await self._send(session, t, budget, item)
                if wait == 0:
                    return 0
                soonest = wait if soonest is None else min(soonest, wait)
            return soonest

    async def _send(self, session, t, budget: ChatBudget, item: OutboxItem) -> float:
        now = self.clock()
        channel = self.app.channels.get(item.channel)
        if item.kind == OutboxKind.erase and channel is not None:
            return await self._erase(t, budget, item, channel, now)
        review = await get_review(session, review_id=item.review_id) if item.review_id else None
        if review is None or channel is None:
            item.failed_at = now
            item.last_error = "review gone" if review is None else f"no channel {item.channel}"
            return 0
        album, card = await card_replies(
            session,
            t,
            review=review,
            now=now,
            channel=item.channel,
            store=self.app.media_store,
        )
        cost = len(album.media) + 1
        stamp = now.timestamp()
        recent = sorted(x for x in budget.sent if x > stamp - WINDOW)
        if len(recent) + cost > self.rate:
            return self._wait(recent, cost, stamp)
        try:
            album_ids = await channel.post(item.chat_id, album) if album.media else []
            ids = await channel.post(item.chat_id, card)
        except Exception as exc:
            self._failed(item, exc, now)
            budget.sent = [*recent, stamp]
            return 0
        review.card_message_id = ids[-1] if ids else None
        review.album_message_ids = album_ids
        item.sent_at = now
        budget.sent = [*recent, *([stamp] * cost)]
        return 0

    async def _erase(
        self, t: Translate, budget: ChatBudget, item: OutboxItem, channel: Channel, now: datetime
    ) -> float:
        """Remove an erased producer's card and photos from a review chat (or, where the
        platform no longer allows that, replace them with a notice)."""
        stamp = now.timestamp()
        recent = sorted(x for x in budget.sent if x > stamp - WINDOW)
        if len(recent) + 1 > self.rate:
            return self._wait(recent, 1, stamp)
        try:
            await channel.erase(
                item.chat_id,
                [str(i) for i in (item.payload or {}).get("message_ids", [])],
                notice=t("🗑 Data erased at the producer's request."),
            )
        except Exception as exc:
            self._failed(item, exc, now)
        else:
            item.sent_at = now
        budget.sent = [*recent, stamp]
        return 0

    def _wait(self, recent: list[float], cost: int, stamp: float) -> float:
        """Seconds until enough of the recent sends have left the window for `cost` more."""
        must_leave = len(recent) + cost - self.rate
        return max(recent[must_leave - 1] + WINDOW - stamp, 0.001)

    @staticmethod
    def _failed(item: OutboxItem, exc: Exception, now: datetime) -> None:
        item.attempts += 1
        item.last_error = f"{type(exc).__name__}: {exc}"[:300]
        if item.attempts >= MAX_ATTEMPTS:
            item.failed_at = now
            log.error(
                "outbox item failed", kind=item.kind, chat=item.chat_id, error=item.last_error
            )
