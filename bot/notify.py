"""Reminders: each tick plans what has fallen due (one row per occasion, unique key) and sends
due rows once. Several processes may tick against one database: planning is idempotent and
sending claims rows with SELECT ... FOR UPDATE SKIP LOCKED (SQLite: one writer at a time).
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime, timedelta
from time import monotonic
from typing import Any
from zoneinfo import ZoneInfo

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from bot import outbound
from bot.channels.base import Notice, WindowedChannel
from bot.i18n import translator
from bot.runtime import Kurasi
from db import outbox
from db.models import Notification, User
from db.notifications import (
    claim_due,
    claim_due_in_chat,
    load_for_sending,
    next_due_at,
    tune_for_planning,
)
from db.whatsapp import WAITING
from handlers.features.reminders import (
    GROUP_OF,
    PRODUCER_KINDS,
    PRODUCT_SUBJECTS,
    render,
    template_values,
)
from handlers.features.reminders.kinds import PLANNED, Planning
from handlers.kit.events import Reply
from handlers.rules.schedule import ReminderSchedule

log = structlog.get_logger(__name__)

DIGEST_GRACE = timedelta(hours=2)  # a digest is not sent hours (or days) after its time
# How far back the first tick after a start looks for a digest's time: a restart across it
# still sends it, a first start later in the day or the week sends nothing.
START_LOOKBACK = timedelta(minutes=5)
HOLD = timedelta(hours=6)  # a held notification is looked at again this often
AFTER_EARLIER = timedelta(seconds=1)
TEMPLATE_HOLD = timedelta(hours=24)  # after its template, the message waits for their reply


class Notifier:
    def __init__(
        self,
        app: Kurasi,
        *,
        schedule: ReminderSchedule,
        timezone: str,
        admin_ids: frozenset[str] = frozenset(),
        admin_channel: str = "telegram",
        batch_size: int = 50,
    ) -> None:
        self.app = app
        self.schedule = schedule
        self.zone = ZoneInfo(timezone)
        self.admin_ids = admin_ids
        self.admin_channel = admin_channel
        self._last_planned: datetime | None = None
        self.batch_size = batch_size
        self._wake = asyncio.Event()
        self._stopping = False

    async def tick(self, *, budget: timedelta | None = None) -> int:
        await self.plan_due()
        return await self.send_due(budget=budget)

    # --- planning -----------------------------------------------------------------------

    async def plan_due(self) -> int:
        """Plan what has fallen due: each kind's planner (handlers/features/reminders/kinds.py),
        a few set-based statements however many rows."""
        now = self.app.clock()
        settings = self.app.flow_settings
        planning = Planning(
            now=now,
            today=now.astimezone(self.zone).date(),
            zone=self.zone,
            schedule=self.schedule,
            admin_channel=self.admin_channel,
            admin_ids=self.admin_ids,
            review_channel=settings.review_channel,
            review_chats=settings.review_chats,
            digest_due=lambda due: self._digest_due(due, now),
        )
        planned = 0
        async with self.app.sessionmaker() as session, session.begin():
            await tune_for_planning(session)
            for kind in PLANNED:
                assert not isinstance(kind.plan, str)
                planned += await kind.plan(session, planning)
        self._last_planned = now
        return planned

    def _digest_due(self, due: datetime, now: datetime) -> bool:
        """A digest goes out when its time passed since the previous planning (at most
        DIGEST_GRACE ago), never to catch up on start."""
        since = self._last_planned or now - START_LOOKBACK
        return max(since, now - DIGEST_GRACE) < due <= now

    # --- sending ------------------------------------------------------------------------

    async def send_due(self, *, budget: timedelta | None = None) -> int:
        """Send what is due, a batch per transaction, until nothing is due or `budget` is
        spent (the rest waits for the next tick). Producers' messages wait out quiet hours.
        Returns how many were sent."""
        sent = 0
        started = monotonic()
        while budget is None or monotonic() - started < budget.total_seconds():
            now = self.app.clock()
            quiet = self.schedule.is_quiet(now, self.zone)
            async with self.app.sessionmaker() as session, session.begin():
                batch = await claim_due(
                    session,
                    now=now,
                    limit=self.batch_size,
                    skip_kinds=PRODUCER_KINDS if quiet else (),
                )
                if not batch:
                    break
                _kept = await load_for_sending(  # held while sending
                    session, batch=batch, product_kinds=PRODUCT_SUBJECTS
                )
                for note in batch:
                    sent += await self._send_one(session, note, now)
        return sent

    async def send_chat(self, channel: str, chat_id: str, *, limit: int = 20) -> int:
        """What one person's message released, now and in order (quiet hours do not hold
        them back: the person is writing)."""
        now = self.app.clock()
        sent = 0
        async with self.app.sessionmaker() as session, session.begin():
            batch = await claim_due_in_chat(
                session, channel=channel, chat_id=chat_id, now=now, limit=limit
            )
            _kept = await load_for_sending(session, batch=batch, product_kinds=PRODUCT_SUBJECTS)
            for note in batch:
                sent += await self._send_one(session, note, now)
        return sent

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()

    async def run_due(self, *, poll: float = 2.0) -> None:
        """Between the scheduler's ticks: send each notification when it falls due (a
        decision when the curator's undo window closes), not at the next tick. Looks at
        the soonest due time at least every `poll` seconds, and when woken (an update
        planned one)."""
        while not self._stopping:
            try:
                async with self.app.sessionmaker() as session:
                    due = await next_due_at(session)
                now = self.app.clock()
                if due is not None and due <= now:
                    sent = await self.send_due(budget=timedelta(seconds=10))
                    if sent:
                        log.info("reminders sent", count=sent)  # as the tick says it
                    else:
                        # Due but not sendable now (quiet hours, held, failing): the tick
                        # and the rows' own retry times take it from here.
                        await self._rest(poll)
                    continue
                wait = poll if due is None else min(poll, (due - now).total_seconds())
            except Exception:
                log.exception("due notifications not sent; retrying")
                wait = poll
            await self._rest(wait)

    async def _rest(self, seconds: float) -> None:
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), max(seconds, 0.01))

    async def _send_one(self, session: AsyncSession, note: Notification, now: datetime) -> int:
        user = await session.get(User, note.user_id) if note.user_id else None
        if user is not None and user.blocked_at is not None:
            return self._close(note, now, "blocked")
        group = GROUP_OF.get(note.kind)
        if user is not None and group in (user.reminder_optouts or []):
            return self._close(note, now, "opted_out")
        settings = self.app.flow_settings
        reply = await render(
            session,
            note,
            translator=translator,
            now=now,
            zone=self.zone,
            recipient=user,
            review_language=settings.review_language,
            review_chats=settings.review_chats,
        )
        if reply is None:
            return self._close(note, now, "obsolete")
        earlier = await outbox.waiting_before(
            session, channel=note.channel, chat_id=note.chat_id, before=note.created_at, now=now
        )
        if earlier is not None:
            # An older message to them is still on its way (retrying): this one follows it.
            note.due_at = max(earlier, now) + AFTER_EARLIER
            note.result = "waiting behind an earlier message"
            return 0
        channel = self.app.channels.get(note.channel)
        if channel is None:
            # Held and visible (/metrics, its result) until the channel is configured.
            note.result = outbound.HELD_NO_CHANNEL.format(channel=note.channel)
            note.due_at = now + HOLD
            log.warning("notification held: channel not configured", kind=note.kind)
            return 0
        try:
            result = await self._deliver(session, channel, note, user, reply, now)
        except Exception as exc:
            return self._failed(note, user, exc, now)
        if result == "template":
            # The template says "reply to see it": the message itself waits for that reply.
            note.result = outbound.TEMPLATE_SENT
            note.due_at = now + TEMPLATE_HOLD
            return 1
        if result is None:
            # Held for WhatsApp's 24-hour window; released as soon as they write again.
            if note.result != outbound.TEMPLATE_SENT:
                note.result = WAITING
            note.due_at = now + HOLD
            return 0
        self._close(note, now, result)
        return 1

    def _failed(self, note: Notification, user: User | None, exc: Exception, now: datetime) -> int:
        """One failed send, by its class (bot.outbound): retried with backoff and jitter
        for up to two days, waited out as the platform said, or recorded for good."""
        found = outbound.classify(exc)
        if found.failure == outbound.Failure.permanent:
            if user is not None:
                user.blocked_at = now  # every later reminder to them is skipped
            return self._close(note, now, "blocked")
        if found.failure == outbound.Failure.rejected:
            log.error("notification refused by the platform", kind=note.kind, error=found.error)
            return self._close(note, now, f"failed: {found.error}")
        if found.failure == outbound.Failure.window_closed:
            note.result = WAITING
            note.due_at = now + HOLD
            return 0
        if found.failure == outbound.Failure.rate_limited:
            note.result = f"rate limited: {found.error}"[:300]
            note.due_at = now + timedelta(seconds=found.retry_after)
            return 0
        note.attempts += 1
        note.result = f"retrying: {found.error}"[:300]
        if outbound.given_up(note.created_at, now):
            log.error("notification given up", kind=note.kind, error=found.error)
            return self._close(note, now, f"failed: {found.error}")
        note.due_at = now + outbound.backoff(note.attempts)
        log.warning("notification failed; will retry", kind=note.kind, attempts=note.attempts)
        return 0

    async def _deliver(
        self,
        session: AsyncSession,
        channel: Any,
        note: Notification,
        user: User | None,
        reply: Reply,
        now: datetime,
    ) -> str | None:
        """ "sent", "template", or None when the channel's rules say wait (WhatsApp's window)."""
        if not isinstance(channel, WindowedChannel) or user is None:
            await channel.post(note.chat_id, reply)
            return "sent"
        values = await template_values(session, kind=note.kind, subject_id=note.subject_id)
        last = None if note.result == outbound.WINDOW_CLOSED else user.last_inbound_at
        notice = Notice(
            note.kind,
            values,
            last,
            template_sent=note.result == outbound.TEMPLATE_SENT,
            source=f"notification:{note.id}",
        )
        return await channel.notify(note.chat_id, reply, notice, now=now)

    @staticmethod
    def _close(note: Notification, now: datetime, result: str) -> int:
        note.sent_at = now
        note.result = result
        return 0
