"""Sends the outbox: every message to someone other than the sender (review cards into
paced group chats, decisions and notices to producers), per chat in order, paced to the
chat's budget, retried with backoff until it goes through or the recipient is gone; and an
erased producer's cards taken back out of the review chats (kind "erase").

Telegram lets a bot send about 20 messages a minute into one group and about one a second
into a private chat. The budget lives in the database (chat_budgets), so every worker
shares it; the budget row's lock makes one worker at a time the sender for a chat, which
also keeps that chat's messages in order. aiolimiter would pace one process only.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from bot import outbound
from bot.channels.base import (
    Channel,
    Notice,
    WindowedChannel,
    reply_from_payload,
)
from bot.i18n import translator
from bot.runtime import Kurasi
from bot.worker import Worker
from db import outbox
from db.models import ChatBudget, OutboxItem
from db.reviews import get_review
from db.users import get_user
from handlers.features.reminders import template_values
from handlers.features.review.card import card_replies
from handlers.kit.context import Translate
from handlers.kit.events import Reply
from handlers.rules.rubric import Rubric

log = structlog.get_logger(__name__)

WINDOW = 60.0  # seconds the per-chat rate is counted over
HOLD = timedelta(hours=6)  # a notice held for a messaging window is looked at again then
# After its template: the message goes when they reply (released at once), or is looked at
# again after a day (still outside the window: held again, no second template).
TEMPLATE_HOLD = timedelta(hours=24)
PRIVATE_RATE = 60  # messages a minute into one person's chat


class ReviewPoster(Worker):
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
        private_rate_per_minute: int = PRIVATE_RATE,
        max_attempts: int = outbox.MAX_ATTEMPTS,
        kinds: frozenset[str] | None = None,
    ) -> None:
        super().__init__(idle_seconds=idle_seconds)
        self.app = app
        self.rate = rate_per_minute
        self.private_rate = private_rate_per_minute
        self.max_attempts = max_attempts
        self.kinds = kinds  # None: every kind
        self.language = language
        self.rubric = rubric or Rubric()
        self.clock = clock or app.clock
        self.sleep = sleep

    async def run(self) -> None:
        while not self._stopping:
            try:
                wait = await self.send_next()
            except Exception:
                log.exception("review poster failed; retrying")
                wait = self.idle_seconds
            if wait == 0:
                continue
            if wait is None or wait > self.idle_seconds:
                # Nothing soon (a held notice waits for hours): a wake-up (new messages, a
                # person who wrote again) or the idle interval, whichever comes first.
                await self.rest()
            else:
                await self.sleep(wait)

    async def run_until_idle(self, *, patience: float = 3600.0) -> int:
        """Send everything queued, waiting out budgets and retries with `sleep`; returns
        messages sent. What waits longer than `patience` (a notice held for a messaging
        window) is left for later."""
        sent = 0
        while (wait := await self.send_next()) is not None:
            if wait > patience:
                break
            if wait == 0:
                sent += 1
            else:
                await self.sleep(wait)
        return sent

    async def send_next(self) -> float | None:
        """Send one message if some chat's budget allows: 0 when sent (or given up), else
        seconds to wait, None when nothing is queued."""
        t = translator(self.language)
        now = self.clock()
        async with self.app.sessionmaker() as session, session.begin():
            soonest: float | None = None
            for channel_name, chat_id in await outbox.due_chats(session, now=now, kinds=self.kinds):
                budget = await outbox.claim_chat(session, channel=channel_name, chat_id=chat_id)
                if budget is None:
                    continue  # another worker is sending into this chat right now
                item = await outbox.head(
                    session, channel=channel_name, chat_id=chat_id, now=now, kinds=self.kinds
                )
                if item is None:
                    continue
                if item.next_attempt_at is not None and item.next_attempt_at > now:
                    continue  # the head waits out a failure; the chat keeps its order
                wait = await self._send(session, t, budget, item)
                if wait == 0:
                    return 0
                soonest = wait if soonest is None else min(soonest, wait)
            retry = await outbox.next_retry(session, now=now, kinds=self.kinds)
            if retry is not None:
                until = max((retry - now).total_seconds(), 0.001)
                soonest = until if soonest is None else min(soonest, until)
            return soonest

    async def send_chat(self, channel_name: str, chat_id: str, *, limit: int = 20) -> int:
        """What one person's message released, now and in order, before their message is
        answered; what the chat's budget does not allow yet is left to the loop."""
        t = translator(self.language)
        sent = 0
        for _ in range(limit):
            now = self.clock()
            async with self.app.sessionmaker() as session, session.begin():
                budget = await outbox.claim_chat(
                    session, channel=channel_name, chat_id=chat_id, wait=True
                )
                item = None
                if budget is not None:
                    item = await outbox.head(
                        session, channel=channel_name, chat_id=chat_id, now=now
                    )
                ready = item is not None and (
                    item.next_attempt_at is None or item.next_attempt_at <= now
                )
                if budget is None or item is None or not ready:
                    break
                assert item is not None
                if await self._send(session, t, budget, item) != 0:
                    break
                sent += 1
        self.wake()
        return sent

    def _rate(self, item: OutboxItem) -> int:
        review_chats = {chat for chat, _sectors in self.app.flow_settings.review_chats}
        if item.kind == outbox.CARD or item.chat_id in review_chats:
            return self.rate
        return self.private_rate

    async def _replies(
        self, session: AsyncSession, t: Translate, item: OutboxItem, now: datetime
    ) -> list[Reply] | str:
        """What to send for the item, or why it cannot be sent at all."""
        if item.kind != outbox.CARD:
            if item.payload is None:
                return "no payload"
            return [reply_from_payload(item.payload)]
        review = await get_review(session, review_id=item.review_id) if item.review_id else None
        if review is None:
            return "review gone"
        flow = self.app.flow_settings
        album, card = await card_replies(
            session,
            t,
            review=review,
            now=now,
            channel=item.channel,
            store=self.app.media_store,
            today=now.astimezone(ZoneInfo(flow.timezone)).date(),
            language=flow.review_language,
        )
        return [album, card] if album.media else [card]

    async def _send(
        self, session: AsyncSession, t: Translate, budget: ChatBudget, item: OutboxItem
    ) -> float:
        now = self.clock()
        channel = self.app.channels.get(item.channel)
        if channel is None:
            # Held, and visible (/metrics, last_error), until the channel is configured.
            outbox.hold(
                item, until=now + HOLD, reason=outbound.HELD_NO_CHANNEL.format(channel=item.channel)
            )
            log.warning("outbox message held: channel not configured", channel=item.channel)
            return 0
        if item.kind == outbox.ERASE:
            return await self._erase(t, budget, item, channel, now)
        replies = await self._replies(session, t, item, now)
        if isinstance(replies, str):
            outbox.mark_failed(item, now=now, error=replies)
            return 0
        cost = sum(len(r.media) for r in replies) + sum(1 for r in replies if r.text)
        stamp = now.timestamp()
        recent = outbox.recent_sends(budget, now=stamp, window=WINDOW)
        rate = self._rate(item)
        if recent and len(recent) + cost > rate:
            # Wait until enough of the recent sends have left the window.
            must_leave = min(len(recent) + cost - rate, len(recent))
            return max(recent[must_leave - 1] + WINDOW - stamp, 0.001)
        sent: list[list[str]] = []
        try:
            if item.kind == outbox.NOTICE and isinstance(channel, WindowedChannel):
                return await self._notify(session, budget, item, channel, replies, now)
            for reply in replies:
                sent.append(await channel.post(item.chat_id, reply))
        except Exception as exc:
            self._failed(item, exc, now)
            budget.sent = [*recent, stamp]
            return 0
        if item.kind == outbox.CARD:
            review = await get_review(session, review_id=item.review_id) if item.review_id else None
            if review is not None:
                review.card_message_id = sent[-1][-1] if sent and sent[-1] else None
                # The album's ids too, so an erasure can take the photos back out.
                review.album_message_ids = sent[0] if len(sent) > 1 else []
        outbox.mark_sent(item, now=now)
        budget.sent = [*recent, *([stamp] * cost)]
        return 0

    def _failed(self, item: OutboxItem, exc: Exception, now: datetime) -> None:
        """One failed send, handled by its class (bot.outbound): retried with backoff for
        hours, waited out as told, or recorded for good."""
        found = outbound.classify(exc)
        if found.failure == outbound.Failure.rate_limited:
            item.last_error = found.error
            item.next_attempt_at = now + timedelta(seconds=found.retry_after)
            log.warning("outbox flood control", item=item.id, retry_after=found.retry_after)
        elif found.failure == outbound.Failure.window_closed:
            # Sent as a plain post (no template known for it): wait for them to write.
            outbox.hold(item, until=now + HOLD, reason=found.error)
        elif found.failure in (outbound.Failure.permanent, outbound.Failure.rejected):
            outbox.mark_failed(item, now=now, error=f"{found.failure}: {found.error}")
            log.info("outbox message not deliverable", item=item.id, kind=item.kind)
        else:
            item.attempts += 1
            item.last_error = found.error
            if outbound.given_up(item.created_at, now) or item.attempts >= self.max_attempts:
                item.failed_at = now
                log.error("outbox send given up", item=item.id, kind=item.kind)
            else:
                item.next_attempt_at = now + outbound.backoff(item.attempts)
                log.warning(
                    "outbox send failed; will retry",
                    item=item.id,
                    kind=item.kind,
                    attempts=item.attempts,
                    error=type(exc).__name__,
                )

    async def _erase(
        self, t: Translate, budget: ChatBudget, item: OutboxItem, channel: Channel, now: datetime
    ) -> float:
        """Remove an erased producer's card and photos from a review chat (or, where the
        platform no longer allows that, replace them with a notice)."""
        stamp = now.timestamp()
        recent = outbox.recent_sends(budget, now=stamp, window=WINDOW)
        rate = self._rate(item)
        if recent and len(recent) + 1 > rate:
            must_leave = min(len(recent) + 1 - rate, len(recent))
            return max(recent[must_leave - 1] + WINDOW - stamp, 0.001)
        try:
            await channel.erase(
                item.chat_id,
                [str(i) for i in (item.payload or {}).get("message_ids", [])],
                notice=t("🗑 Data erased at the producer's request."),
            )
        except Exception as exc:
            outbox.record_failure(
                item, now=now, error=f"{type(exc).__name__}: {exc}", max_attempts=self.max_attempts
            )
            log.warning("outbox erase failed", item=item.id, error=type(exc).__name__)
        else:
            outbox.mark_sent(item, now=now)
        budget.sent = [*recent, stamp]
        return 0

    async def _notify(
        self,
        session: AsyncSession,
        budget: ChatBudget,
        item: OutboxItem,
        channel: WindowedChannel,
        replies: list[Reply],
        now: datetime,
    ) -> float:
        """A notice on a platform with a messaging window: a normal message inside it, the
        kind's template outside it, or held until the person writes again (no template).
        Errors propagate to `_send`'s handling (retry, or failed when undeliverable)."""
        recipient = await get_user(session, channel=item.channel, external_id=item.chat_id)
        last_inbound = recipient.last_inbound_at if recipient is not None else None
        if item.last_error == outbound.WINDOW_CLOSED:
            last_inbound = None  # Meta said after sending that the window had closed
        template_sent = item.last_error == outbound.TEMPLATE_SENT
        for reply in replies:
            kind = reply.notice_kind or "notice"
            values = await template_values(session, kind=kind, subject_id=reply.subject_id)
            notice = Notice(kind, values, last_inbound, template_sent, f"outbox:{item.id}")
            outcome = await channel.notify(item.chat_id, reply, notice, now=now)
            if outcome == "template":
                # The template says "reply to see it": the message waits for that reply.
                outbox.hold(item, until=now + TEMPLATE_HOLD, reason=outbound.TEMPLATE_SENT)
                log.info("outbox notice sent as its template; the message waits", kind=kind)
                return 0
            if outcome is None:
                reason = (
                    outbound.TEMPLATE_SENT if template_sent else f"waiting for the window ({kind})"
                )
                outbox.hold(item, until=now + HOLD, reason=reason)
                log.info("outbox notice held for the messaging window", kind=kind)
                return 0
        outbox.mark_sent(item, now=now)
        stamp = now.timestamp()
        budget.sent = [*outbox.recent_sends(budget, now=stamp, window=WINDOW), stamp]
        return 0
