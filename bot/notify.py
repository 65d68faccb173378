"""Reminders: each tick plans what has fallen due (one row per occasion, unique key); a due
row is rendered into the outbox in the transaction that claims it, and the one sender
(bot.sender) sends it, paced per chat with everything else. Several processes may tick
against one database: planning is idempotent and claiming uses SELECT ... FOR UPDATE SKIP
LOCKED (SQLite: one writer at a time).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time, timedelta
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
    admins,
    claim_due,
    claim_due_in_chat,
    fairs_ending_after,
    load_for_sending,
    next_due_at,
    plan,
    plan_draft_nudges,
    plan_fair_occasion,
    plan_revisions,
    plan_unclaimed,
    to_user,
    tune_for_planning,
)
from handlers.features.reminders import GROUP_OF, PRODUCER_KINDS, render
from handlers.rules.schedule import ReminderSchedule

log = structlog.get_logger(__name__)

FAIR_GRACE = timedelta(days=1)  # a fair reminder more than a day late is no longer sent
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

    def _at(self, day: date, moment: time) -> datetime:
        return datetime.combine(day, moment, tzinfo=self.zone)

    async def plan_due(self) -> int:
        """Plan what has fallen due: a few set-based statements, however many rows."""
        now = self.app.clock()
        s = self.schedule
        planned = 0
        async with self.app.sessionmaker() as session, session.begin():
            await tune_for_planning(session)
            if s.draft_nudges:
                planned += await plan_draft_nudges(
                    session, now=now, idle=s.draft_idle, nudges=s.draft_nudges
                )
            planned += await plan_revisions(session, now=now, idle=s.revision_idle)
            planned += await plan_unclaimed(
                session, now=now, wait=s.unclaimed, admin_channel=self.admin_channel
            )
            planned += await self._plan_digests(session, now)
            planned += await self._plan_fairs(session, now)
        self._last_planned = now
        return planned

    def _digest_due(self, due: datetime, now: datetime) -> bool:
        """A digest goes out when its time passed since the previous planning (at most
        DIGEST_GRACE ago), never to catch up on start."""
        since = self._last_planned or now - START_LOOKBACK
        return max(since, now - DIGEST_GRACE) < due <= now

    async def _plan_digests(self, session: AsyncSession, now: datetime) -> int:
        s = self.schedule
        today = now.astimezone(self.zone).date()
        planned = 0
        settings = self.app.flow_settings
        # Yesterday too: a digest set for 23:00 is still due at 00:30.
        for day in (today - timedelta(days=1), today):
            due = self._at(day, s.review_digest_at)
            if not (self._digest_due(due, now) and settings.review_channel):
                continue
            for chat_id, _sectors in settings.review_chats:
                planned += await plan(
                    session,
                    kind="review_digest",
                    dedupe_key=f"digest:{chat_id}:{day.isoformat()}",
                    channel=settings.review_channel,
                    chat_id=chat_id,
                    due_at=due,
                    now=now,
                )
        week_start = today - timedelta(days=(today.weekday() - s.weekly_digest_day) % 7)
        due = self._at(week_start, s.weekly_digest_at)
        if self._digest_due(due, now):
            year, week, _ = week_start.isocalendar()
            for admin in await admins(
                session, channel=self.admin_channel, external_ids=sorted(self.admin_ids)
            ):
                planned += await plan(
                    session,
                    kind="weekly_digest",
                    dedupe_key=f"weekly:{admin.id}:{year}-W{week:02d}",
                    **to_user(admin),
                    due_at=due,
                    now=now,
                )
        return planned

    async def _plan_fairs(self, session: AsyncSession, now: datetime) -> int:
        s = self.schedule
        today = now.astimezone(self.zone).date()
        planned = 0
        for fair in await fairs_ending_after(session, today=today):
            occasions: list[tuple[str, int, datetime]] = []
            if fair.registration_deadline is not None:
                occasions += [
                    (
                        "fair_deadline",
                        n,
                        self._at(
                            fair.registration_deadline - timedelta(days=n), s.fair_reminder_at
                        ),
                    )
                    for n in s.fair_deadline_days
                ]
            occasions += [
                ("fair_start", n, self._at(fair.start_date - timedelta(days=n), s.fair_reminder_at))
                for n in s.fair_start_days
            ]
            for kind, n, at in occasions:
                if at <= now < at + FAIR_GRACE:
                    planned += await plan_fair_occasion(
                        session, fair=fair, kind=kind, n=n, due_at=at, now=now
                    )
        return planned

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
            _kept = await load_for_sending(session, batch=batch)  # held while rendering
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
            _kept = await load_for_sending(session, batch=batch)
            for note in batch:
                await self._enqueue_one(session, note, now)
        return len(batch)

    async def send_chat(self, channel: str, chat_id: str, *, limit: int = 20) -> int:
        """What one person's message released, queued and sent now, in order."""
        await self.enqueue_chat(channel, chat_id, limit=limit)
        return await self.sender.send_chat(channel, chat_id, limit=limit)

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
