"""The one way out (STYLE.md): every message to someone other than the person who wrote
goes through this loop, claim → pace → send → record.

What it sends comes from three sources, all rows in the database:
- the outbox: review cards (rendered when sent), notices (a claim, a decision), replies
  that failed their first try (bot.outbound.requeue), and an erased producer's cards taken
  back out of the review chats (kind "erase");
- notifications (reminders, digests, fair alerts, decisions when the undo window closes):
  when one falls due its source (bot.notify.Notifier) renders it into an outbox row of kind
  "notification" in the transaction that claims it; the notification keeps its dedupe key
  and takes its final result from that row when the row is recorded;
- broadcasts (bot.broadcast.BroadcastSender): deliveries leased in bulk to lanes of their
  own, run by this loop beside the outbox, whose failures `outbound.decide` judges too.

Claim: a chat's budget row (chat_budgets), locked FOR UPDATE SKIP LOCKED, makes one worker
at a time the sender for that chat, which keeps the chat's order.
Pace: each chat's own (ChatPace: a group 20 a minute, a private chat one message a second,
whatever the message's kind), and the bot's or the number's one budget (bot.budget), which
the channel takes for every message any sender sends, replies included.
Record: bot.outbound.decide says what a failure means; `_record` writes it on the row.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Protocol
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
from db.models import ChatBudget, Notification, OutboxItem
from db.reviews import get_review
from db.users import get_user, mark_blocked
from db.whatsapp import WAITING
from handlers.features.reminders import template_values
from handlers.features.review.card import card_replies
from handlers.kit.context import Translate
from handlers.kit.events import Reply
from handlers.rules.rubric import Rubric

log = structlog.get_logger(__name__)

WINDOW = 60.0  # seconds a group chat's rate is counted over
HOLD = timedelta(hours=6)  # a message held for a messaging window is looked at again then
# After its template: the message goes when they reply (released at once), or is looked at
# again after a day (still outside the window: held again, no second template).
TEMPLATE_HOLD = timedelta(hours=24)
PRIVATE_RATE = 60  # messages a minute into one person's chat: one a second
NOTIFICATIONS_EVERY = 1.0  # seconds between looks for notifications fallen due
# The kinds that are one person's (or chat's) notice, sent inside WhatsApp's window rules.
NOTICES = frozenset({outbox.NOTICE, outbox.NOTIFICATION})

# This process's last send into a chat (the row's stamp, and monotonic time): a clock that
# stands still (a test's) does not hold a private chat's next message back for ever.
_LAST_SENT: dict[tuple[str, str], tuple[float, float]] = {}


class ChatPace:
    """Each chat's own limit, from its budget row's recent sends: a group (a review chat)
    at most `group_rate` messages a minute, a private chat one message every `private_gap`
    seconds — a notice, a card, a failed reply or a reminder alike."""

    def __init__(self, *, group_rate: int, private_gap: float, groups: frozenset[str]) -> None:
        self.group_rate = group_rate
        self.private_gap = private_gap
        self.groups = groups

    def is_group(self, item: OutboxItem) -> bool:
        # Telegram's group and supergroup ids are negative; review chats are groups.
        return (
            item.kind == outbox.CARD or item.chat_id in self.groups or item.chat_id.startswith("-")
        )

    def wait(self, budget: ChatBudget, item: OutboxItem, *, cost: int, now: float) -> float:
        """Seconds until the chat takes `cost` more messages (0: now)."""
        recent = outbox.recent_sends(budget, now=now, window=WINDOW)
        if not recent:
            return 0.0
        if self.is_group(item):
            if len(recent) + cost <= self.group_rate:
                return 0.0
            # Until enough of the recent sends have left the window.
            must_leave = min(len(recent) + cost - self.group_rate, len(recent))
            return max(recent[must_leave - 1] + WINDOW - now, 0.001)
        gap = recent[-1] + self.private_gap - now
        if gap <= 0:
            return 0.0
        # The chat's latest send was this process's, a real second ago: the clock the rows
        # are stamped with (a test's, standing still) does not hold it back. Another
        # worker's later send is the row's latest, and its pace holds.
        mine = _LAST_SENT.get((item.channel, item.chat_id))
        if (
            mine is not None
            and mine[0] == recent[-1]
            and time.monotonic() - mine[1] >= self.private_gap
        ):
            return 0.0
        return max(gap, 0.001)

    @staticmethod
    def took(budget: ChatBudget, item: OutboxItem, *, cost: int, now: float) -> None:
        budget.sent = [*outbox.recent_sends(budget, now=now, window=WINDOW), *([now] * cost)]
        if len(_LAST_SENT) > 10_000:  # only the last second's matter
            _LAST_SENT.clear()
        _LAST_SENT[(item.channel, item.chat_id)] = (now, time.monotonic())


class Notifications(Protocol):
    """The notifications' source (bot.notify.Notifier): what has fallen due, into the
    outbox, in the transaction that claims it."""

    async def enqueue_due(self) -> int: ...

    async def enqueue_chat(self, channel: str, chat_id: str) -> int: ...

    async def next_due(self) -> datetime | None: ...

    def outside_quiet_hours(self, kind: str, moment: datetime) -> datetime:
        """`moment`, or the end of quiet hours when they hold a message of this kind."""
        ...


class Bulk(Protocol):
    """The broadcasts' source (bot.broadcast.BroadcastSender), run beside the outbox."""

    async def run(self) -> None: ...

    def wake(self) -> None: ...

    def stop(self) -> None: ...


class MessageSender(Worker):
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
        notifications: Notifications | None = None,
        broadcasts: Bulk | None = None,
    ) -> None:
        super().__init__(idle_seconds=idle_seconds)
        self.app = app
        self.max_attempts = max_attempts
        self.kinds = kinds  # None: every kind
        # Only a chat's oldest message of these kinds is sent (a notification waits behind
        # an older notice to the same person): the notifier's own drive.
        self.strict = False
        self.language = language
        self.rubric = rubric or Rubric()
        self.clock = clock or app.clock
        self.sleep = sleep
        review_chats = frozenset(chat for chat, _sectors in app.flow_settings.review_chats)
        self.pace = ChatPace(
            group_rate=rate_per_minute,
            private_gap=WINDOW / max(private_rate_per_minute, 1),
            groups=review_chats,
        )
        self.notifications = notifications
        self.broadcasts = broadcasts
        self.delivered = 0  # messages (or their templates) the platforms took
        self._notes_sent = 0  # of them notifications, since the loop last said so
        # After `send_next`: the soonest a chat's pace lets a waiting message go, if one does.
        self.paced: float | None = None
        self._notes_looked = -NOTIFICATIONS_EVERY
        self._notes_due: datetime | None = None  # the next one not queued yet, when looked

    # --- the loop -----------------------------------------------------------------------

    async def run(self) -> None:
        """The outbox (with the notifications it takes in) and, beside it, the broadcasts'
        lanes, until `stop`."""
        bulk = asyncio.create_task(self.broadcasts.run()) if self.broadcasts else None
        try:
            await self._run_outbox()
        finally:
            if bulk is not None:
                assert self.broadcasts is not None
                self.broadcasts.stop()
                await asyncio.gather(bulk, return_exceptions=True)

    def wake(self) -> None:
        self._notes_looked = -NOTIFICATIONS_EVERY
        super().wake()

    def stop(self) -> None:
        if self.broadcasts is not None:
            self.broadcasts.stop()
        super().stop()

    async def _run_outbox(self) -> None:
        while not self._stopping:
            try:
                wait = await self.send_next()
            except Exception:
                log.exception("sender failed; retrying")
                wait = self.idle_seconds
            if wait == 0:
                continue
            if self._notes_sent:  # one line per burst, as the scheduler's tick says it
                log.info("reminders sent", count=self._notes_sent)
                self._notes_sent = 0
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
        """Send one message if some chat's pace allows: 0 when sent (or recorded), else
        seconds to wait, None when nothing is queued."""
        soonest = await self._take_notifications()
        t = translator(self.language)
        now = self.clock()
        self.paced = None
        async with self.app.sessionmaker() as session, session.begin():
            for channel_name, chat_id in await outbox.due_chats(session, now=now, kinds=self.kinds):
                budget = await outbox.claim_chat(session, channel=channel_name, chat_id=chat_id)
                if budget is None:
                    continue  # another worker is sending into this chat right now
                item = await outbox.head(
                    session,
                    channel=channel_name,
                    chat_id=chat_id,
                    now=now,
                    kinds=self.kinds,
                    strict=self.strict,
                )
                if item is None:
                    continue
                if item.next_attempt_at is not None and item.next_attempt_at > now:
                    continue  # the head waits out a failure; the chat keeps its order
                wait = await self._send(session, t, budget, item)
                if wait == 0:
                    return 0
                self.paced = wait if self.paced is None else min(self.paced, wait)
                soonest = wait if soonest is None else min(soonest, wait)
            retry = await outbox.next_retry(session, now=now, kinds=self.kinds)
            if retry is not None:
                until = max((retry - now).total_seconds(), 0.001)
                soonest = until if soonest is None else min(soonest, until)
            return soonest

    async def _take_notifications(self) -> float | None:
        """Notifications fallen due, into the outbox (at most every NOTIFICATIONS_EVERY
        seconds, and at once when woken); seconds until the next one falls due."""
        if self.notifications is None:
            return None
        looked = time.monotonic()
        if looked - self._notes_looked >= NOTIFICATIONS_EVERY:
            self._notes_looked = looked
            try:
                await self.notifications.enqueue_due()
            except Exception:
                log.exception("due notifications not queued; retrying")
            self._notes_due = await self.notifications.next_due()
        due = self._notes_due
        if due is None:
            return None
        # Due already but not queued (quiet hours): the next look, not a busy loop.
        return max((due - self.clock()).total_seconds(), NOTIFICATIONS_EVERY)

    async def send_chat(self, channel_name: str, chat_id: str, *, limit: int = 20) -> int:
        """What one person's message released (notifications too), now and in order, before
        their message is answered; what the chat's pace does not allow yet is left to the
        loop."""
        if self.notifications is not None:
            await self.notifications.enqueue_chat(channel_name, chat_id)
        t = translator(self.language)
        sent = 0
        while sent < limit:
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
                wait = await self._send(session, t, budget, item)
            if wait == 0:
                sent += 1
            elif wait <= self.pace.private_gap:
                await self.sleep(wait)  # the chat's pace, outside the chat's lock
            else:
                break
        self.wake()
        return sent

    # --- one message --------------------------------------------------------------------

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
        """Pace, send and record one item: 0 when recorded (sent, held or failed), else
        seconds until the chat's pace allows it."""
        now = self.clock()
        channel = self.app.channels.get(item.channel)
        if channel is None:
            # Held, and visible (/metrics, last_error), until the channel is configured.
            reason = outbound.HELD_NO_CHANNEL.format(channel=item.channel)
            outbox.hold(item, until=now + HOLD, reason=reason)
            await self._follow(session, item, now, reason)
            log.warning("outbox message held: channel not configured", channel=item.channel)
            return 0
        stamp = now.timestamp()
        if item.kind == outbox.ERASE:
            if wait := self.pace.wait(budget, item, cost=1, now=stamp):
                return wait
            return await self._erase(session, t, budget, item, channel, now)
        replies = await self._replies(session, t, item, now)
        if isinstance(replies, str):
            outbox.mark_failed(item, now=now, error=replies)
            await self._follow(session, item, now, f"failed: {replies}")
            return 0
        cost = sum(len(r.media) for r in replies) + sum(1 for r in replies if r.text)
        if wait := self.pace.wait(budget, item, cost=cost, now=stamp):
            return wait
        sent: list[list[str]] = []
        try:
            if item.kind in NOTICES and isinstance(channel, WindowedChannel):
                return await self._notify(session, budget, item, channel, replies, now)
            for reply in replies:
                sent.append(await channel.post(item.chat_id, reply))
        except Exception as exc:
            # Not counted against the chat's pace: nothing reached it (the platform's
            # own "slow down" is a wait the decision names).
            await self._record(session, item, exc, now)
            return 0
        if item.kind == outbox.CARD:
            review = await get_review(session, review_id=item.review_id) if item.review_id else None
            if review is not None:
                review.card_message_id = sent[-1][-1] if sent and sent[-1] else None
                # The album's ids too, so an erasure can take the photos back out.
                review.album_message_ids = sent[0] if len(sent) > 1 else []
        await self._sent(session, item, now)
        self.pace.took(budget, item, cost=cost, now=stamp)
        return 0

    async def _sent(self, session: AsyncSession, item: OutboxItem, now: datetime) -> None:
        outbox.mark_sent(item, now=now)
        self._delivered(item)
        await self._follow(session, item, now, "sent")

    def _delivered(self, item: OutboxItem) -> None:
        self.delivered += 1
        if item.kind == outbox.NOTIFICATION:
            self._notes_sent += 1

    async def _record(
        self, session: AsyncSession, item: OutboxItem, exc: Exception, now: datetime
    ) -> None:
        """One failed send, as bot.outbound decides: retried with backoff and jitter for two
        days, waited out as the platform said, held for the window, or recorded for good."""
        decision = outbound.decide(
            exc,
            attempts=item.attempts,
            first_tried=item.created_at,
            now=now,
            max_attempts=self.max_attempts,
        )
        verdict = decision.verdict
        item.attempts = decision.attempts
        item.last_error = decision.error[:300]
        if verdict in (outbound.Verdict.retry, outbound.Verdict.wait):
            item.next_attempt_at = await self._retry_at(session, item, decision.at)
            prefix = "rate limited" if verdict == outbound.Verdict.wait else "retrying"
            log.warning("outbox send failed; will retry", item=item.id, kind=item.kind)
            await self._follow(session, item, now, f"{prefix}: {decision.error}")
        elif verdict == outbound.Verdict.window:
            # Sent as a plain post (no template known for it): wait for them to write.
            outbox.hold(item, until=now + HOLD, reason=decision.error)
            await self._follow(session, item, now, WAITING)
        elif verdict == outbound.Verdict.blocked:
            outbox.mark_failed(item, now=now, error=f"permanent: {decision.error}")
            if item.kind != outbox.CARD and item.kind != outbox.ERASE:
                person = await get_user(session, channel=item.channel, external_id=item.chat_id)
                if person is not None:  # every later message to them is skipped
                    await mark_blocked(session, user_id=person.id, now=now)
            log.info("outbox message not deliverable", item=item.id, kind=item.kind)
            await self._follow(session, item, now, "blocked")
        else:
            outbox.mark_failed(item, now=now, error=decision.error)
            await self._follow(session, item, now, f"failed: {decision.error}")

    async def _retry_at(
        self, session: AsyncSession, item: OutboxItem, at: datetime | None
    ) -> datetime | None:
        """A retried notification keeps its kind's quiet hours: a reminder that failed at
        20:59 is tried again at 07:00, not in the night."""
        if at is None or item.notification_id is None or self.notifications is None:
            return at
        note = await session.get(Notification, item.notification_id)
        return at if note is None else self.notifications.outside_quiet_hours(note.kind, at)

    async def _follow(
        self, session: AsyncSession, item: OutboxItem, now: datetime, result: str
    ) -> None:
        """A notification's row follows its outbox row: final once that one is."""
        if item.notification_id is None:
            return
        note = await session.get(Notification, item.notification_id)
        if note is None:
            return  # erased meanwhile
        note.result = result[:300]
        note.attempts = item.attempts
        if item.sent_at is not None or item.failed_at is not None:
            note.sent_at = now

    async def _erase(
        self,
        session: AsyncSession,
        t: Translate,
        budget: ChatBudget,
        item: OutboxItem,
        channel: Channel,
        now: datetime,
    ) -> float:
        """Remove an erased producer's card and photos from a review chat (or, where the
        platform no longer allows that, replace them with a notice)."""
        try:
            await channel.erase(
                item.chat_id,
                [str(i) for i in (item.payload or {}).get("message_ids", [])],
                notice=t("🗑 Data erased at the producer's request."),
            )
        except Exception as exc:
            await self._record(session, item, exc, now)
        else:
            await self._sent(session, item, now)
            self.pace.took(budget, item, cost=1, now=now.timestamp())
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
        Errors propagate to `_send`'s record."""
        recipient = await get_user(session, channel=item.channel, external_id=item.chat_id)
        if recipient is None and item.kind == outbox.NOTIFICATION:
            for reply in replies:  # a chat, not a person: no window to mind
                await channel.post(item.chat_id, reply)  # type: ignore[attr-defined]
            await self._sent(session, item, now)
            self.pace.took(budget, item, cost=1, now=now.timestamp())
            return 0
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
                self._delivered(item)
                await self._follow(session, item, now, outbound.TEMPLATE_SENT)
                self.pace.took(budget, item, cost=1, now=now.timestamp())
                log.info("outbox notice sent as its template; the message waits", kind=kind)
                return 0
            if outcome is None:
                reason = (
                    outbound.TEMPLATE_SENT if template_sent else f"waiting for the window ({kind})"
                )
                outbox.hold(item, until=now + HOLD, reason=reason)
                await self._follow(session, item, now, reason if template_sent else WAITING)
                log.info("outbox notice held for the messaging window", kind=kind)
                return 0
        await self._sent(session, item, now)
        self.pace.took(budget, item, cost=1, now=now.timestamp())
        return 0
