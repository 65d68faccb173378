"""Reminders: each tick plans what has fallen due (one row per occasion, unique key); a due
row is rendered into the outbox in the transaction that claims it, and the one sender
(bot.sender) sends it, paced per chat with everything else. Several processes may tick
against one database: planning is idempotent and claiming uses SELECT ... FOR UPDATE SKIP
LOCKED (SQLite: one writer at a time).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from time import monotonic
from zoneinfo import ZoneInfo

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels.base import reply_payload
from bot.i18n import translator
from bot.runtime import Kurasi
from bot.sender import MessageSender
from db import outbox
from db.models import Notification, User
from db.notifications import (
    claim_due,
    claim_due_in_chat,
    load_for_sending,
    next_due_at,
    tune_for_planning,
)
from handlers.features.reminders import GROUP_OF, PRODUCER_KINDS, PRODUCT_SUBJECTS, render
from handlers.features.reminders.kinds import PLANNED, Planning
from handlers.rules.schedule import ReminderSchedule

log = structlog.get_logger(__name__)

DIGEST_GRACE = timedelta(hours=2)  # a digest is not sent hours (or days) after its time
# How far back the first tick after a start looks for a digest's time: a restart across it
# still sends it, a first start later in the day or the week sends nothing.
START_LOOKBACK = timedelta(minutes=5)


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
        sender: MessageSender | None = None,
    ) -> None:
        self.app = app
        self.schedule = schedule
        self.zone = ZoneInfo(timezone)
        self.admin_ids = admin_ids
        self.admin_channel = admin_channel
        self._last_planned: datetime | None = None
        self.batch_size = batch_size
        # What `send_due` sends through: the one sender, here driven for notifications
        # only, each behind any older message to the same chat.
        self.sender = sender or MessageSender(app, kinds=frozenset({outbox.NOTIFICATION}))
        self.sender.strict = True

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

    # --- into the outbox ----------------------------------------------------------------

    async def send_due(self, *, budget: timedelta | None = None) -> int:
        """Queue what is due into the outbox, a batch per transaction, and send it through
        the one sender (paced per chat with everything else), until nothing is due or
        `budget` is spent (the rest waits for the next tick or the sender's loop).
        Producers' messages wait out quiet hours. Returns how many were sent."""
        before = self.sender.delivered
        started = monotonic()

        def left() -> bool:
            return budget is None or monotonic() - started < budget.total_seconds()

        while left():
            queued = await self._enqueue_batch()
            while left():
                if await self.sender.send_next() == 0:
                    continue
                paced = self.sender.paced
                if paced is None or paced > self.sender.pace.private_gap:
                    break  # later: a retry's time, the sender's loop, or the next tick
                await self.sender.sleep(paced)  # a chat's pace: a moment
            if not queued:
                break
        return self.sender.delivered - before

    async def enqueue_due(self) -> int:
        """What has fallen due, into the outbox (the one sender's notifications source)."""
        queued = 0
        for _ in range(20):  # a thousand at a time; the rest at the next look
            if not (batch := await self._enqueue_batch()):
                break
            queued += batch
        return queued

    async def _enqueue_batch(self) -> int:
        now = self.app.clock()
        quiet = self.schedule.is_quiet(now, self.zone)
        async with self.app.sessionmaker() as session, session.begin():
            batch = await claim_due(
                session,
                now=now,
                limit=self.batch_size,
                skip_kinds=PRODUCER_KINDS if quiet else (),
            )
            _kept = await load_for_sending(  # held while rendering
                session, batch=batch, product_kinds=PRODUCT_SUBJECTS
            )
            for note in batch:
                await self._enqueue_one(session, note, now)
        return len(batch)

    async def enqueue_chat(self, channel: str, chat_id: str, *, limit: int = 20) -> int:
        """One chat's due notifications into the outbox, now and in order: what its person's
        message released (quiet hours do not hold them back: the person is writing)."""
        now = self.app.clock()
        async with self.app.sessionmaker() as session, session.begin():
            batch = await claim_due_in_chat(
                session, channel=channel, chat_id=chat_id, now=now, limit=limit
            )
            _kept = await load_for_sending(session, batch=batch, product_kinds=PRODUCT_SUBJECTS)
            for note in batch:
                await self._enqueue_one(session, note, now)
        return len(batch)

    async def send_chat(self, channel: str, chat_id: str, *, limit: int = 20) -> int:
        """What one person's message released, queued and sent now, in order."""
        await self.enqueue_chat(channel, chat_id, limit=limit)
        return await self.sender.send_chat(channel, chat_id, limit=limit)

    def outside_quiet_hours(self, kind: str, moment: datetime) -> datetime:
        """`moment`, or the end of quiet hours when they hold a message of this kind."""
        if kind not in PRODUCER_KINDS:
            return moment
        return self.schedule.quiet_ends(moment, self.zone)

    async def next_due(self) -> datetime | None:
        async with self.app.sessionmaker() as session:
            return await next_due_at(session)

    async def _enqueue_one(self, session: AsyncSession, note: Notification, now: datetime) -> None:
        """Render a due notification into an outbox row in this (claiming) transaction, or
        close it when it no longer applies. The row's outcome becomes the notification's."""
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
        # Its template (outside WhatsApp's window) is the notification kind's.
        reply = replace(reply, notice_kind=note.kind, subject_id=note.subject_id)
        item = outbox.Queued(
            channel=note.channel,
            chat_id=note.chat_id,
            kind=outbox.NOTIFICATION,
            payload=reply_payload(reply),
            notification_id=note.id,
        )
        if note.result in (outbox.WINDOW_CLOSED, outbox.TEMPLATE_SENT):
            item["last_error"] = note.result  # the template next, or never a second one
        await outbox.enqueue(session, now=now, **item)
        note.queued_at = now
        note.result = "queued"

    @staticmethod
    def _close(note: Notification, now: datetime, result: str) -> None:
        note.sent_at = now
        note.result = result
