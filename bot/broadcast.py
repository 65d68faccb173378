"""The broadcast sender: works through a broadcast's delivery rows at the channel's bulk rate.

Any number of workers (tasks or processes) may run one; they share the work and the rate:
- rows are claimed in batches with FOR UPDATE SKIP LOCKED and leased to one worker; each
  row's outcome is written right after its send (the send and its write are shielded from
  task cancellation), so a restart resumes where it stopped;
- the rate is a shared budget in the database (`send_budgets`): workers reserve send slots
  spaced (1 + guard) / rate seconds apart, so all workers together stay under the rate in
  any one-second window; aiolimiter caps each process on top;
- a 429 pauses the budget for retry_after, for every worker; a 403 marks the user blocked;
  network errors and 5xx are retried with backoff up to `max_attempts`, then the row fails;
- a photo or document is uploaded by the first send (under the broadcast's row lock) and
  re-sent by its file id to everyone else.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from bot import outbound
from bot.budget import SLOT_TAKEN, RateBudget
from bot.channels.base import (
    Announced,
    Announcement,
    Announcer,
    RateLimited,
)
from bot.i18n import translator
from bot.runtime import Kurasi
from bot.worker import Worker
from db import broadcasts as data
from db import users
from db.models import Broadcast, BroadcastState, DeliveryState
from handlers.features.broadcast import final_reply, markup, progress_reply
from handlers.kit.events import Reply
from handlers.rules.schedule import ReminderSchedule

log = structlog.get_logger(__name__)
T = TypeVar("T")

# Channels that only take free-form messages within a window after the user last wrote.
WINDOWS = {"whatsapp": timedelta(hours=24)}
NEEDS_TEMPLATE = "needs a template"
# A recipient whose channel this process lacks: looked at again after this (the release at
# a start with the channel configured comes first).
HOLD_NO_CHANNEL = timedelta(hours=6)


class PostAnnouncer:
    """Any channel with `post` (the console, test channels) as a broadcast channel."""

    def __init__(self, channel: Any) -> None:
        self.channel = channel
        self.name = channel.name

    async def announce(self, chat_id: str, message: Announcement) -> Announced:
        ids = await self.channel.post(chat_id, Reply(message.text))
        return Announced(ids[-1] if ids else None)


@dataclass(frozen=True, slots=True)
class Item:
    id: int
    user_id: int | None
    channel: str
    chat_id: str


@dataclass(frozen=True, slots=True)
class Result:
    """What became of one send, to be written to its delivery row. Pending means: again
    after a backoff (failed once the attempts run out); blocked: nothing more goes to them."""

    item: Item
    state: DeliveryState
    message_id: str | None = None
    error: str | None = None
    failure: Exception | None = None  # a failed send, judged by bot.outbound.decide
    hold_until: datetime | None = None  # pending, not tried again before then


# What a delivery row says after the one judgement of a failed send.
VERDICT_STATES = {
    outbound.Verdict.retry: DeliveryState.pending,
    outbound.Verdict.wait: DeliveryState.pending,
    outbound.Verdict.window: DeliveryState.needs_template,
    outbound.Verdict.blocked: DeliveryState.blocked,
    outbound.Verdict.failed: DeliveryState.failed,
}


class BroadcastSender(Worker):
    def __init__(
        self,
        app: Kurasi,
        *,
        telegram_rate: float = 25.0,
        other_rate: float = 20.0,
        paid: bool = False,
        paid_rate: float = 1000.0,
        whatsapp_template: str | None = None,
        worker_id: str | None = None,
        batch_size: int = 500,
        concurrency: int = 8,
        lease: timedelta = timedelta(minutes=2),
        max_attempts: int = 12,
        retry_base: timedelta = timedelta(seconds=5),
        schedule: ReminderSchedule | None = None,
        timezone: str = "Asia/Jakarta",
        progress_every: float = 3.0,
        idle_seconds: float = 5.0,
        wallclock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        announcers: dict[str, Announcer] | None = None,
        rate_guard: float = 0.03,
    ) -> None:
        super().__init__(idle_seconds=idle_seconds)
        self.app = app
        self.paid = paid
        self.whatsapp_template = whatsapp_template
        self.worker_id = worker_id or uuid.uuid4().hex[:16]
        self.batch_size = batch_size
        self.concurrency = concurrency
        self.lease = lease
        self.max_attempts = max_attempts
        self.retry_base = retry_base
        self.schedule = schedule
        self.zone = ZoneInfo(timezone)
        self.progress_every = progress_every
        self.wallclock = wallclock
        self.sleep = sleep
        self.announcers: dict[str, Announcer] = dict(announcers or {})
        tg_rate = paid_rate if paid else telegram_rate
        self._rates = {"telegram": tg_rate}
        self._other_rate = other_rate
        self._rate_guard = rate_guard
        self._budgets: dict[str, RateBudget] = {}
        self._upload_lock = asyncio.Lock()
        self._last_progress: dict[int, float] = {}
        self._sent_log: deque[float] = deque(maxlen=2000)  # this worker's send times, for rate
        self._outcomes: list[tuple[Result, asyncio.Future[None]]] = []
        self._flushing = False
        self._flusher: asyncio.Task[None] | None = None
        self._held: set[int] = set()  # rows of the current batch still leased to us
        # Sends under way (shielded from cancellation): a cancelled sender waits for them
        # to be recorded before it lets go, so a worker taking over never repeats one.
        self._in_flight: set[asyncio.Task[Any]] = set()
        self._lease_until = datetime.min.replace(tzinfo=UTC)
        self._renew_lock = asyncio.Lock()

    # --- lifecycle ----------------------------------------------------------------------

    async def run(self) -> None:
        while not self._stopping:
            try:
                await self.tick()
            except Exception:
                log.exception("broadcast sender failed; retrying")
            await self.rest()

    async def run_until_idle(self, *, poll: float = 0.2, wait_scheduled: bool = False) -> None:
        """Send until no running broadcast has anything pending (retries waited out); with
        `wait_scheduled`, until scheduled ones have run too."""
        while not self._stopping:
            await self.tick()
            async with self.app.sessionmaker() as session:
                left = await data.unfinished(session)
                if not wait_scheduled:
                    left -= len(await data.scheduled_ids(session))
            if left <= 0:
                return
            await self.sleep(poll)

    async def tick(self) -> None:
        """Start what is due, then work through every running broadcast's claimable rows."""
        async with self.app.sessionmaker() as session, session.begin():
            await data.start_due(session, now=self.app.clock())
            running = [b.id for b in await data.active_broadcasts(session)]
        for broadcast_id in running:
            if self._stopping:
                return
            await self.work(broadcast_id)

    # --- one broadcast ------------------------------------------------------------------

    def budget(self, channel: str) -> RateBudget:
        """The broadcast's rate on this channel, drawn from the channel's one send budget
        (the bot's, the number's) when it has one: then replies and notices sent meanwhile
        take their slots from the same row, and the ceiling holds for all of them."""
        if channel not in self._budgets:
            rate = self._rates.get(channel, self._other_rate)
            options: dict[str, Any] = {
                "wallclock": self.wallclock,
                "sleep": self.sleep,
                "guard": self._rate_guard,
                "chunk_max": 2 * self.concurrency,
            }
            shared = getattr(self.app.channels.get(channel), "budget", None)
            paid = self.paid and channel == "telegram"  # above the free ceiling, paid for
            if isinstance(shared, RateBudget) and not paid:
                self._budgets[channel] = shared.sharing(min(rate, shared.rate), **options)
            else:
                self._budgets[channel] = RateBudget(
                    self.app.sessionmaker, f"bulk:{channel}", rate, **options
                )
        return self._budgets[channel]

    def announcer(self, channel: str) -> Announcer | None:
        if channel in self.announcers:
            return self.announcers[channel]
        found = self.app.channels.get(channel)
        if found is None:
            return None
        if hasattr(found, "announce"):
            return found  # type: ignore[return-value]
        return PostAnnouncer(found)

    async def work(self, broadcast_id: int) -> None:
        """Send this broadcast's claimable rows, batch by batch, while it stays running."""
        while not self._stopping:
            now = self.app.clock()
            async with self.app.sessionmaker() as session, session.begin():
                broadcast = await data.get_broadcast(session, broadcast_id=broadcast_id)
                if broadcast is None or broadcast.state != BroadcastState.running:
                    return
                if self.held(broadcast, now):
                    await self._progress(session, broadcast, held=True)
                    return
                message = self._message(broadcast)
                # About ten seconds of sending: few batch boundaries, a quick hand-over.
                limit = max(self.concurrency, min(self.batch_size, int(self._max_rate() * 10)))
                rows = await data.claim(
                    session,
                    broadcast_id=broadcast_id,
                    owner=self.worker_id,
                    now=now,
                    lease=self.lease,
                    limit=limit,
                )
                items = [Item(r.id, r.user_id, r.channel, r.chat_id) for r in rows]
                windowed = [i.user_id for i in items if i.channel in WINDOWS and i.user_id]
                inbound = await users.last_inbound(session, user_ids=windowed)
            if not items:
                async with self.app.sessionmaker() as session, session.begin():
                    if await data.finish_if_done(session, broadcast_id=broadcast_id, now=now):
                        done = await data.get_broadcast(session, broadcast_id=broadcast_id)
                        assert done is not None
                        await self._progress(session, done, final=True)
                return
            await self._send_batch(broadcast, message, items, inbound)
            async with self.app.sessionmaker() as session, session.begin():
                current = await data.get_broadcast(session, broadcast_id=broadcast_id)
                if current is not None:
                    await self._progress(session, current)

    def held(self, broadcast: Broadcast, now: datetime) -> bool:
        """Quiet hours hold a non-urgent broadcast (its recipients are producers)."""
        return (
            not broadcast.urgent
            and self.schedule is not None
            and self.schedule.is_quiet(now, self.zone)
        )

    def _max_rate(self) -> float:
        return max([*self._rates.values(), self._other_rate])

    def _message(self, broadcast: Broadcast) -> Announcement:
        return Announcement(
            text=broadcast.text,
            html=broadcast.html,
            whatsapp_text=markup.whatsapp_text(broadcast.text) if broadcast.html else None,
            media_kind=broadcast.media_kind,
            media_path=broadcast.media_path,
            media_name=broadcast.media_name,
            paid=self.paid,
        )

    async def _send_batch(
        self,
        broadcast: Broadcast,
        message: Announcement,
        items: list[Item],
        inbound: dict[int, datetime | None],
    ) -> None:
        queue: deque[Item] = deque(items)
        self._held = {i.id for i in items}
        self._lease_until = self.app.clock() + self.lease
        media_ids = dict(broadcast.media_ids)
        stop = asyncio.Event()
        last_check = [self.wallclock()]

        async def lane() -> None:
            while queue and not stop.is_set():
                if self.wallclock() - last_check[0] > 1.0:
                    last_check[0] = self.wallclock()
                    async with self.app.sessionmaker() as session:
                        if (
                            await data.state_of(session, broadcast_id=broadcast.id)
                            != BroadcastState.running
                        ):
                            stop.set()
                            return
                if not queue:
                    return
                item = queue.popleft()
                try:
                    await self._deliver(broadcast.id, message, media_ids, item, inbound)
                finally:
                    self._held.discard(item.id)

        lanes = [asyncio.create_task(lane()) for _ in range(min(self.concurrency, len(items)))]
        try:
            await asyncio.gather(*lanes)
        finally:
            for task in lanes:
                task.cancel()
            if self._in_flight:  # recorded before the rows are let go (see _shielded)
                await asyncio.gather(*self._in_flight, return_exceptions=True)
            left = [i.id for i in queue]
            if left:
                with contextlib.suppress(Exception):
                    async with self.app.sessionmaker() as session, session.begin():
                        await data.release(session, ids=left, owner=self.worker_id)

    async def _deliver(
        self,
        broadcast_id: int,
        message: Announcement,
        media_ids: dict[str, str],
        item: Item,
        inbound: dict[int, datetime | None],
    ) -> None:
        now = self.app.clock()
        announcer = self.announcer(item.channel)
        if announcer is None:
            # Held and visible, never done: the broadcast waits for this recipient, and a
            # start with the channel configured releases the row (release_configured).
            await self._record(
                item,
                DeliveryState.pending,
                error=outbound.HELD_NO_CHANNEL.format(channel=item.channel),
                hold_until=now + HOLD_NO_CHANNEL,
            )
            return
        if item.channel in WINDOWS:
            last = inbound.get(item.user_id or 0)
            if last is None or now - last > WINDOWS[item.channel]:
                if not self.whatsapp_template:
                    await self._record(item, DeliveryState.needs_template, error=NEEDS_TEMPLATE)
                    return
                message = replace(message, template=self.whatsapp_template)
            else:
                # Inside the window by our count; Meta's may differ: then the template.
                message = replace(message, fallback_template=self.whatsapp_template)
        budget = self.budget(item.channel)
        while True:
            await budget.acquire()
            if not await self._still_held(item):
                return  # our lease ran out (a long 429 pause) and another worker took it
            needs_upload = (
                message.media_kind is not None
                and item.channel not in media_ids
                and message.media_path is not None
            )
            if needs_upload:
                async with self._upload_lock:
                    if item.channel not in media_ids:
                        outcome = await self._shielded(
                            self._upload_and_record(broadcast_id, announcer, message, item)
                        )
                        if isinstance(outcome, str):
                            media_ids[item.channel] = outcome
                            return
                        if outcome is None:
                            return
                        await budget.pause(outcome)
                        continue
            send = replace(message, media_id=media_ids.get(item.channel))
            retry_after = await self._shielded(self._send_and_record(announcer, send, item))
            if retry_after is None:
                return
            await budget.pause(retry_after)

    async def _shielded(self, work: Coroutine[Any, Any, T]) -> T:
        """Run a send and its record to the end even if this sender is cancelled meanwhile."""
        task = asyncio.ensure_future(work)
        self._in_flight.add(task)
        task.add_done_callback(self._in_flight.discard)
        return await asyncio.shield(task)

    async def _still_held(self, item: Item) -> bool:
        """True while this worker's lease on the row is good; renews the batch's lease when
        half of it has gone, so a worker that waited long does not send what it lost."""
        now = self.app.clock()
        if now < self._lease_until - self.lease / 2:
            return item.id in self._held
        async with self._renew_lock:
            if now >= self._lease_until - self.lease / 2:
                async with self.app.sessionmaker() as session, session.begin():
                    kept = await data.renew(
                        session,
                        ids=sorted(self._held),
                        owner=self.worker_id,
                        now=now,
                        lease=self.lease,
                    )
                self._held &= kept
                self._lease_until = now + self.lease
        return item.id in self._held

    async def _send_and_record(
        self, announcer: Announcer, message: Announcement, item: Item
    ) -> float | None:
        """One send and its outcome written; the retry_after of a 429, else None."""
        token = SLOT_TAKEN.set(True)  # the budget's slot is taken: the channel takes none
        try:
            result = await announcer.announce(item.chat_id, message)
        except RateLimited as exc:
            log.warning("broadcast flood control", retry_after=exc.retry_after)
            if exc.chat:  # only this recipient is to wait: again later, not a pause for all
                await self._failure(item, exc)
                return None
            return exc.retry_after
        except Exception as exc:
            await self._failure(item, exc)
            return None
        finally:
            SLOT_TAKEN.reset(token)
        self._sent_log.append(self.wallclock())
        await self._record(item, DeliveryState.sent, message_id=result.message_id)
        return None

    async def _upload_and_record(
        self, broadcast_id: int, announcer: Announcer, message: Announcement, item: Item
    ) -> str | float | None:
        """The first send of a file, under the broadcast's row lock so only one worker
        uploads: the file id learned (str), a 429's retry_after (float), or None."""
        async with self.app.sessionmaker() as session, session.begin():
            broadcast = await session.get(Broadcast, broadcast_id, with_for_update=True)
            known = broadcast.media_ids.get(item.channel) if broadcast else None
            if known is not None:
                # Another worker uploaded meanwhile: send by its id, outside this lock.
                pass
            else:
                token = SLOT_TAKEN.set(True)
                try:
                    result = await announcer.announce(item.chat_id, message)
                except RateLimited as exc:
                    return exc.retry_after
                except Exception as exc:
                    await self._failure(item, exc, session=session)
                    return None
                finally:
                    SLOT_TAKEN.reset(token)
                self._sent_log.append(self.wallclock())
                await self._record(
                    item, DeliveryState.sent, message_id=result.message_id, session=session
                )
                if result.media_id and broadcast is not None:
                    broadcast.media_ids = {**broadcast.media_ids, item.channel: result.media_id}
                return result.media_id or None
        send = replace(message, media_id=known)
        retry_after = await self._send_and_record(announcer, send, item)
        if retry_after is not None:
            return retry_after
        return known

    async def _failure(
        self, item: Item, exc: Exception, session: AsyncSession | None = None
    ) -> None:
        """A failed send, to be judged (bot.outbound.decide) when its row is written."""
        await self._record(item, DeliveryState.pending, failure=exc, session=session)

    async def _record(
        self,
        item: Item,
        state: DeliveryState,
        *,
        message_id: str | None = None,
        error: str | None = None,
        failure: Exception | None = None,
        hold_until: datetime | None = None,
        session: AsyncSession | None = None,
    ) -> None:
        result = Result(item, state, message_id, error, failure, hold_until)
        if session is not None:
            await self._write(session, result)
            return
        # Group commit: outcomes that arrive while a commit is running share the next one.
        # Each caller still returns only once its own outcome is committed.
        done = asyncio.get_running_loop().create_future()
        self._outcomes.append((result, done))
        if not self._flushing:
            self._flushing = True
            self._flusher = asyncio.create_task(self._flush())
        await done

    async def _flush(self) -> None:
        try:
            while self._outcomes:
                batch, self._outcomes = self._outcomes, []
                try:
                    async with self.app.sessionmaker() as session, session.begin():
                        sent = [r for r, _ in batch if r.state == DeliveryState.sent]
                        await data.record_sent(
                            session,
                            owner=self.worker_id,
                            sent=[(r.item.id, r.message_id) for r in sent],
                            now=self.app.clock(),
                        )
                        for result, _ in batch:
                            if result.state != DeliveryState.sent:
                                await self._write(session, result)
                except Exception as exc:
                    for _, done in batch:
                        if not done.done():
                            done.set_exception(exc)
                else:
                    for _, done in batch:
                        if not done.done():
                            done.set_result(None)
        finally:
            self._flushing = False

    async def _write(self, session: AsyncSession, result: Result) -> None:
        now = self.app.clock()
        state, error, retry_at = result.state, result.error, result.hold_until
        if result.failure is not None:
            attempts = await data.attempts_of(session, delivery_id=result.item.id)
            decision = outbound.decide(
                result.failure,
                attempts=attempts,
                first_tried=None,  # bounded by max_attempts (broadcast.max_attempts)
                now=now,
                max_attempts=self.max_attempts,
                base=self.retry_base,
            )
            state, error = VERDICT_STATES[decision.verdict], decision.error
            if state == DeliveryState.pending:
                retry_at = decision.at
        await data.record(
            session,
            delivery_id=result.item.id,
            owner=self.worker_id,
            outcome=data.Outcome(state, result.message_id, error, retry_at),
            now=now,
        )
        if state == DeliveryState.blocked:
            await users.mark_blocked(session, user_id=result.item.user_id, now=now)

    # --- progress -----------------------------------------------------------------------

    def rate(self) -> float:
        """This worker's send rate over the last ten seconds."""
        now = self.wallclock()
        recent = [t for t in self._sent_log if t > now - 10]
        return len(recent) / 10 if recent else 0.0

    async def _progress(
        self,
        session: AsyncSession,
        broadcast: Broadcast,
        *,
        held: bool = False,
        final: bool = False,
    ) -> None:
        """Edit the admin's progress message (every few seconds, and once at the end)."""
        if not broadcast.report_chat_id or not broadcast.report_channel:
            return
        channel = self.app.channels.get(broadcast.report_channel)
        if channel is None:
            return
        now = self.wallclock()
        if not final and now - self._last_progress.get(broadcast.id, 0.0) < self.progress_every:
            return
        self._last_progress[broadcast.id] = now
        report = await data.report(session, broadcast=broadcast)
        t = translator(await users.language_of(session, user_id=broadcast.created_by))
        if final:
            reply = final_reply(t, broadcast, report)
        else:
            rate = self.rate() or self._rates.get("telegram", self._other_rate)
            reply = progress_reply(t, broadcast, report, rate=rate, held=held)
        try:
            if broadcast.report_message_id:
                await channel.deliver(
                    broadcast.report_chat_id,
                    [replace(reply, edit_message_id=broadcast.report_message_id)],
                )
            else:
                ids = await channel.post(broadcast.report_chat_id, reply)
                if ids:
                    broadcast.report_message_id = ids[-1]
        except Exception as exc:
            log.warning("broadcast progress not shown", error=str(exc))
